"""Running the rating engine in tests: a rater over some rates (tests.voip.factories.RateFactory) and one call
rated by it."""
from datetime import UTC, datetime

from provisioning.telephony.numbers import Normaliser
from voip.rating import Deck, Rater

ANSWERED_AT = datetime(2024, 1, 15, 10, 30, tzinfo=UTC)


def make_rater(*rates, region="US", **options):
    normaliser = Normaliser(region, **{k: options.pop(k) for k in ("local_npa", "accept_possible") if k in options})
    return Rater(Deck(rates), normaliser, **options)


def rate_call(rater, number="2125551234", billsec=60, *, direction="outbound", answer_time=ANSWERED_AT, **extra):
    return rater.rate(direction=direction, number=number, billsec=billsec, answer_time=answer_time, **extra)
