"""Shared builders for the rating tests."""
from datetime import UTC, datetime
from decimal import Decimal

from provisioning.telephony.numbers import Normaliser
from voip.rating import Deck, Rate, Rater

ANSWERED_AT = datetime(2024, 1, 15, 10, 30, tzinfo=UTC)


def make_rate(prefix="1212", *, connect_fee="0", per_minute="0", minimum=1, increment=1, **extra):
    return Rate(
        prefix=prefix, destination=extra.pop("destination", f"dest {prefix}"), connect_fee=Decimal(connect_fee),
        rate_per_minute=Decimal(per_minute), minimum_seconds=minimum, increment_seconds=increment, **extra,
    )


def make_rater(*rates, region="US", **options):
    normaliser = Normaliser(region, **{k: options.pop(k) for k in ("local_npa", "accept_possible") if k in options})
    return Rater(Deck(rates), normaliser, **options)


def rate_call(rater, number="2125551234", billsec=60, *, direction="outbound", answer_time=ANSWERED_AT, **extra):
    return rater.rate(direction=direction, number=number, billsec=billsec, answer_time=answer_time, **extra)
