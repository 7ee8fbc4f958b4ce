"""Hypothesis strategies for rates and decks within the limits a deck accepts."""
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from hypothesis import strategies as st

from provisioning.telephony.calls import MAX_SECONDS
from voip.rating import Rate

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


ZONES = ["UTC", "America/New_York", "Europe/London", "Australia/Lord_Howe", "Asia/Kathmandu", "America/Santiago"]
zones = st.sampled_from(ZONES).map(ZoneInfo)
# Answer instants over two years, often near a daylight-saving change of one of the zones (seconds matter).
DST_CHANGES = [datetime(2024, 3, 10, 7, tzinfo=UTC), datetime(2024, 11, 3, 6, tzinfo=UTC),
               datetime(2024, 3, 31, 1, tzinfo=UTC), datetime(2024, 10, 27, 1, tzinfo=UTC),
               datetime(2024, 4, 6, 15, tzinfo=UTC), datetime(2024, 9, 7, 4, tzinfo=UTC)]
instants = st.one_of(
    st.integers(min_value=0, max_value=2 * 365 * 86400).map(lambda s: datetime(2024, 1, 1, tzinfo=UTC)
                                                             + timedelta(seconds=s)),
    st.tuples(st.sampled_from(DST_CHANGES), st.integers(min_value=-7200, max_value=3600)).map(
        lambda pair: pair[0] + timedelta(seconds=pair[1])),
)
quarter_hours = st.integers(min_value=0, max_value=96).map(lambda q: None if q in (0, 96) else time(q // 4, q % 4 * 15))


short_blocks = st.sampled_from([0, 1, 6, 30, 60])
short_increments = st.sampled_from([1, 6, 60, 7])
# Call durations up to 4 hours, often long enough to cross a period boundary.
long_calls = st.integers(min_value=0, max_value=4 * 3600) | st.integers(min_value=1800, max_value=4 * 3600)


@st.composite
def periods(draw):
    """Blank (all day) or days and a start/end time, start before end."""
    if draw(st.integers(min_value=0, max_value=3)) == 0:
        return {}
    days = "".join(sorted(draw(st.sets(st.sampled_from("1234567"), max_size=7))))
    start, end = draw(quarter_hours), draw(quarter_hours)
    if start is not None and end is not None and start >= end:
        start, end = end, start
        if start == end:
            end = None
    return {"days": "" if days == "1234567" else days, "start_time": start, "end_time": end}


@st.composite
def timed_decks(draw, *, prefixes=("1212", "1212", "1212", "121", "1", "13")):
    """Rates on prefixes of 1 212 555 1234 (and one that does not match), some with periods; an all-day rate
    for 1 so that every instant has a rate."""
    chosen = draw(st.lists(st.sampled_from(prefixes), min_size=1, max_size=8))
    rates_list = [Rate(**{**_rate_fields(draw(rates(prefix="1", price=small_prices, id=0))), "direction": "outbound"})]
    for index, prefix in enumerate(chosen, 1):
        base = _rate_fields(draw(rates(prefix=prefix, price=small_prices, id=index, durations=short_blocks)))
        base["increment_seconds"] = draw(short_increments)
        rates_list.append(Rate(**{**base, "direction": "outbound", **draw(periods())}))
    return rates_list


def _rate_fields(rate):
    names = ("prefix", "destination", "connect_fee", "rate_per_minute", "minimum_seconds", "increment_seconds",
             "free_seconds", "nocharge_below", "valid_from", "valid_to", "weight", "direction", "id", "days",
             "start_time", "end_time")
    return {name: getattr(rate, name) for name in names}
