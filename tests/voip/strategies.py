"""Hypothesis strategies for rates and decks within the limits a deck accepts."""
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from hypothesis import strategies as st

from voip.rating import Rate
from voip.rating.deck import MAX_SECONDS

prices = st.decimals(min_value=Decimal(0), max_value=Decimal("999999.99999999"), places=8)
small_prices = st.decimals(min_value=Decimal(0), max_value=Decimal("5"), places=4)
seconds = st.integers(min_value=0, max_value=MAX_SECONDS)
call_seconds = st.integers(min_value=0, max_value=7200)
BASE = datetime(2024, 1, 1, tzinfo=UTC)
moments = st.integers(min_value=0, max_value=60).map(lambda day: BASE + timedelta(days=day))


@st.composite
def rates(draw, *, prefix=None, price=prices, durations=st.integers(min_value=0, max_value=600), dated=False, id=0):
    valid_from = valid_to = None
    if dated:
        start = draw(st.none() | moments)
        end = draw(st.none() | moments)
        if start is not None and end is not None and start >= end:
            start, end = end - timedelta(days=1), start + timedelta(days=1)
        valid_from, valid_to = start, end
    return Rate(
        prefix=prefix or draw(st.text("0123456789", min_size=1, max_size=6)),
        destination="d",
        connect_fee=draw(price),
        rate_per_minute=draw(price),
        minimum_seconds=draw(durations),
        increment_seconds=draw(st.integers(min_value=1, max_value=600)),
        free_seconds=draw(st.sampled_from([0, 0, 0, 5, 30])),
        nocharge_below=draw(st.sampled_from([0, 0, 0, 3, 10])),
        valid_from=valid_from,
        valid_to=valid_to,
        weight=draw(st.sampled_from([0, 0, 1, 5])),
        direction=draw(st.sampled_from(["outbound", "inbound"])),
        id=id,
    )


@st.composite
def decks(draw, *, dated=False):
    """Rates over a small alphabet of prefixes, so that numbers often match several of them."""
    prefixes = draw(st.lists(st.text("123", min_size=1, max_size=5), min_size=0, max_size=25))
    return [draw(rates(prefix=p, price=small_prices, dated=dated, id=i)) for i, p in enumerate(prefixes)]
