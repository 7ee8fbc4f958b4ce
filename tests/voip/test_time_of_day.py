"""Time-of-day rates (shared/voip-rating.md step 10) in the rating core: periods read in the client's time zone,
calls split at period boundaries and each part priced with its own rate, worked examples with exact costs,
daylight-saving changes, the deck file's period columns, and the one-rate path kept for decks without periods."""
from datetime import UTC, datetime, time
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from tests.voip.factories import RateFactory
from tests.voip.rating import make_rater, rate_call
from voip.rating import AFTER_MINIMUM, RATED, UNRATED, WHOLE_DURATION, Deck, billable_seconds
from voip.rating.deck_file import read_deck
from voip.rating.engine import price_parts
from voip.rating.periods import describe, format_days, parse_days, parse_time, split

NEW_YORK = ZoneInfo("America/New_York")
MODES = pytest.mark.parametrize("mode", [AFTER_MINIMUM, WHOLE_DURATION])
WEEKDAYS_8_TO_18 = {"days": "12345", "start_time": time(8), "end_time": time(18)}


def peak_and_off_peak(*, peak_fee="0.10", off_fee="0.05", minimum=1, increment=1):
    """1212: 0.60/min on weekdays 08:00–18:00, 0.30/min the rest of the time (the all-day rate)."""
    peak = RateFactory(prefix="1212", connect_fee=peak_fee, per_minute="0.60", minimum=minimum, increment=increment,
                       destination="New York peak", id=1, **WEEKDAYS_8_TO_18)
    off_peak = RateFactory(prefix="1212", connect_fee=off_fee, per_minute="0.30", minimum=minimum, increment=increment,
                           destination="New York", id=2)
    return peak, off_peak


def new_york(*fields):
    """A UTC instant from a New York wall-clock time (January: EST, UTC-5)."""
    return datetime(*fields, tzinfo=NEW_YORK).astimezone(UTC)


# Worked examples: Monday 2024-01-15, client in New York, peak ends at 18:00 local (23:00 UTC).

def test_a_call_across_the_end_of_peak_pays_each_part_at_its_rate_and_one_connect_fee():
    """CF 0.10 (peak) / 0.05 (off-peak), 0.60 / 0.30 per minute, 1/1; 17:59:00 + 150 s: 60 s peak + 90 s
    off-peak = 0.10 + 0.60 + 0.45 = 1.1500 (the off-peak connect fee is not charged: first part only)."""
    rater = make_rater(*peak_and_off_peak(), time_zone=NEW_YORK)
    result = rate_call(rater, billsec=150, answer_time=new_york(2024, 1, 15, 17, 59))
    assert (result.status, result.billed_seconds, result.cost) == (RATED, 150, Decimal("1.1500"))
    assert result.precise_cost == Decimal("1.15")
    assert result.rate.destination == "New York peak"
    assert [(rate.destination, seconds) for rate, seconds in result.parts] == [("New York peak", 60), ("New York", 90)]
    assert result.reason == ("split by time of day: 60 s at 0.6/min (mon-fri 08:00–18:00), "
                             "90 s at 0.3/min (all day)")


def test_a_call_across_the_start_of_peak_begins_off_peak():
    """07:59:30 + 90 s: 30 s off-peak (CF 0.05) + 60 s peak = 0.05 + 0.15 + 0.60 = 0.8000."""
    rater = make_rater(*peak_and_off_peak(), time_zone=NEW_YORK)
    result = rate_call(rater, billsec=90, answer_time=new_york(2024, 1, 15, 7, 59, 30))
    assert (result.billed_seconds, result.cost) == (90, Decimal("0.8000"))
    assert [(rate.id, seconds) for rate, seconds in result.parts] == [(2, 30), (1, 60)]


@pytest.mark.parametrize(("billsec", "cost"), [
    (30, "0.2200"),   # the minimum block: 60 s peak
    (90, "0.3400"),   # 60 s block + the increment starting at 60 s, before 18:00: all peak
    (91, "0.3400"),   # the 91st second is off-peak, but it falls in the increment that started at peak
    (150, "0.4000"),  # 120 s peak, then the increment starting at 120 s (18:00:30) off-peak: 0.10 + 0.24 + 0.06
    (151, "0.4000"),
    (300, "0.5200"),  # 120 s peak + 180 s off-peak
])
def test_per_minute_increments_are_priced_at_the_rate_of_the_period_they_start_in(billsec, cost):
    """60/60, CF 0.10 peak, 0.12 / 0.06 per minute; answered 17:58:30 (the boundary is 90 s in)."""
    peak = RateFactory(prefix="1212", connect_fee="0.10", per_minute="0.12", minimum=60, increment=60, id=1,
                       **WEEKDAYS_8_TO_18)
    off_peak = RateFactory(prefix="1212", per_minute="0.06", minimum=60, increment=60, id=2)
    result = rate_call(make_rater(peak, off_peak, time_zone=NEW_YORK), billsec=billsec,
                       answer_time=new_york(2024, 1, 15, 17, 58, 30))
    assert result.cost == Decimal(cost)
    assert result.billed_seconds == -(-billsec // 60) * 60


def test_the_minimum_block_is_priced_whole_at_the_first_part_rate():
    """30/6, 0.60 peak / 0.30 off-peak; 17:59:50 + 40 s: billed 42 s = the 30 s block at peak (though 20 s of it
    are off-peak) + 2 increments starting off-peak = 0.30 + 0.06 = 0.3600."""
    peak, off_peak = peak_and_off_peak(peak_fee="0", off_fee="0", minimum=30, increment=6)
    result = rate_call(make_rater(peak, off_peak, time_zone=NEW_YORK), billsec=40,
                       answer_time=new_york(2024, 1, 15, 17, 59, 50))
    assert (result.billed_seconds, result.cost) == (42, Decimal("0.3600"))
    assert [(rate.id, seconds) for rate, seconds in result.parts] == [(1, 30), (2, 12)]


def test_free_seconds_and_no_charge_time_come_from_the_first_part():
    peak = RateFactory(prefix="1212", connect_fee="0.10", per_minute="0.60", free_seconds=10, nocharge_below=5, id=1,
                       **WEEKDAYS_8_TO_18)
    off_peak = RateFactory(prefix="1212", per_minute="0.30", id=2)
    rater = make_rater(peak, off_peak, time_zone=NEW_YORK)
    short = rate_call(rater, billsec=4, answer_time=new_york(2024, 1, 15, 17, 59, 58))
    assert (short.status, short.cost, short.reason) == (RATED, Decimal("0.0000"), "shorter than 5 s: not charged")
    # 17:59:50 + 30 s: the 10 free seconds are the peak part; of the 20 billed seconds (all off-peak) the
    # 1 s minimum block is priced at the first part's rate: 0.10 + 1 s × 0.60 + 19 s × 0.30 = 0.2050
    result = rate_call(rater, billsec=30, answer_time=new_york(2024, 1, 15, 17, 59, 50))
    assert (result.billed_seconds, result.cost) == (20, Decimal("0.2050"))
    assert [(rate.id, seconds) for rate, seconds in result.parts] == [(1, 1), (2, 19)]


def test_weekends_and_nights_get_the_all_day_rate():
    rater = make_rater(*peak_and_off_peak(), time_zone=NEW_YORK)
    saturday_noon = rate_call(rater, billsec=60, answer_time=new_york(2024, 1, 20, 12, 0))
    weekday_night = rate_call(rater, billsec=60, answer_time=new_york(2024, 1, 16, 22, 0))
    weekday_noon = rate_call(rater, billsec=60, answer_time=new_york(2024, 1, 16, 12, 0))
    assert [r.cost for r in (saturday_noon, weekday_night, weekday_noon)] == [
        Decimal("0.3500"), Decimal("0.3500"), Decimal("0.7000")]
    assert [r.parts for r in (saturday_noon, weekday_night, weekday_noon)] == [(), (), ()]


def test_a_call_inside_one_period_is_rated_exactly_as_without_periods():
    rater = make_rater(*peak_and_off_peak(), time_zone=NEW_YORK)
    plain = make_rater(RateFactory(prefix="1212", connect_fee="0.10", per_minute="0.60", id=1))
    timed = rate_call(rater, billsec=3600, answer_time=new_york(2024, 1, 15, 9, 0))
    untimed = rate_call(plain, billsec=3600, answer_time=new_york(2024, 1, 15, 9, 0))
    assert (timed.billed_seconds, timed.cost, timed.reason, timed.parts) == (3600, untimed.cost, "", ())


@MODES
def test_a_split_never_bills_more_seconds_than_the_same_call_unsplit(mode):
    peak, off_peak = peak_and_off_peak(minimum=30, increment=6)
    rater = make_rater(peak, off_peak, time_zone=NEW_YORK, increment_mode=mode)
    plain = make_rater(peak.__class__(**{**_fields(peak), "days": "", "start_time": None, "end_time": None}),
                       increment_mode=mode)
    for billsec in (1, 29, 30, 31, 37, 95, 601):
        split_call = rate_call(rater, billsec=billsec, answer_time=new_york(2024, 1, 15, 17, 59, 40))
        whole = rate_call(plain, billsec=billsec, answer_time=new_york(2024, 1, 15, 17, 59, 40))
        assert split_call.billed_seconds == whole.billed_seconds
        assert sum(seconds for _rate, seconds in split_call.parts or [(None, split_call.billed_seconds)]) == \
            split_call.billed_seconds


def _fields(rate):
    names = ("prefix", "destination", "connect_fee", "rate_per_minute", "minimum_seconds", "increment_seconds",
             "free_seconds", "nocharge_below", "valid_from", "valid_to", "weight", "direction", "id")
    return {name: getattr(rate, name) for name in names}


# Which rate: longest prefix first, then the period covering the instant, then weight.

def test_the_longest_prefix_is_decided_before_the_period():
    """121 has a cheap evening rate; 1212 (longer) has only its all-day rate: 1212 wins at any hour."""
    evening = RateFactory(prefix="121", per_minute="0.01", start_time=time(18), id=1)
    new_york_all_day = RateFactory(prefix="1212", per_minute="0.50", id=2)
    rater = make_rater(evening, new_york_all_day, time_zone=NEW_YORK)
    assert rate_call(rater, billsec=60, answer_time=new_york(2024, 1, 15, 20, 0)).rate.id == 2


def test_a_prefix_without_a_rate_for_the_instant_falls_back_to_a_shorter_one():
    """1212 is only rated in peak; off-peak calls to it take 1's rate, like expired rates do (step 3)."""
    peak_only = RateFactory(prefix="1212", per_minute="0.60", id=1, **WEEKDAYS_8_TO_18)
    country = RateFactory(prefix="1", per_minute="0.02", id=2)
    rater = make_rater(peak_only, country, time_zone=NEW_YORK)
    assert rate_call(rater, billsec=60, answer_time=new_york(2024, 1, 15, 20, 0)).rate.id == 2
    assert rate_call(rater, billsec=60, answer_time=new_york(2024, 1, 15, 10, 0)).rate.id == 1


def test_a_covering_period_beats_the_all_day_rate_then_weight_decides():
    all_day = RateFactory(prefix="1212", per_minute="0.01", weight=9, id=1)
    peak = RateFactory(prefix="1212", per_minute="0.60", id=2, **WEEKDAYS_8_TO_18)
    heavier_peak = RateFactory(prefix="1212", per_minute="0.70", weight=1, id=3, **WEEKDAYS_8_TO_18)
    rater = make_rater(all_day, peak, heavier_peak, time_zone=NEW_YORK)
    assert rate_call(rater, billsec=60, answer_time=new_york(2024, 1, 15, 10, 0)).rate.id == 3
    assert rate_call(rater, billsec=60, answer_time=new_york(2024, 1, 15, 19, 0)).rate.id == 1


def test_a_call_with_an_instant_no_rate_covers_is_unrated_never_free():
    rater = make_rater(RateFactory(prefix="1212", per_minute="0.60", id=1, **WEEKDAYS_8_TO_18), time_zone=NEW_YORK)
    night = rate_call(rater, billsec=60, answer_time=new_york(2024, 1, 15, 20, 0))
    assert (night.status, night.cost_units) == (UNRATED, 0)
    assert night.reason == "no outbound rate matches 12125551234 on Mon 2024-01-15 20:00:00 (EST)"
    running_late = rate_call(rater, billsec=120, answer_time=new_york(2024, 1, 15, 17, 59))
    assert running_late.status == UNRATED and "Mon 2024-01-15 18:00:00 (EST)" in running_late.reason


# Time zones: the client's, and daylight-saving changes in it.

def test_periods_are_read_in_the_raters_time_zone():
    """20:00 UTC on a Monday: 15:00 in New York (peak), 20:00 in UTC and 05:00 Tuesday in Tokyo (off-peak)."""
    rates = peak_and_off_peak()
    answered = datetime(2024, 1, 15, 20, 0, tzinfo=UTC)
    costs = {zone: rate_call(make_rater(*rates, time_zone=ZoneInfo(zone)), billsec=60, answer_time=answered).cost
             for zone in ("America/New_York", "UTC", "Asia/Tokyo")}
    assert costs == {"America/New_York": Decimal("0.7000"), "UTC": Decimal("0.3500"),
                     "Asia/Tokyo": Decimal("0.3500")}
    assert make_rater(*rates).time_zone is UTC  # a rater without a zone reads periods in UTC


def test_summer_time_moves_the_period_with_the_clients_clock():
    """08:30 New York is 13:30 UTC in winter (EST) and 12:30 UTC in summer (EDT): peak both times."""
    rater = make_rater(*peak_and_off_peak(), time_zone=NEW_YORK)
    winter = rate_call(rater, billsec=60, answer_time=datetime(2024, 1, 15, 13, 30, tzinfo=UTC))
    summer = rate_call(rater, billsec=60, answer_time=datetime(2024, 7, 15, 12, 30, tzinfo=UTC))
    summer_a_winter_hour_early = rate_call(rater, billsec=60, answer_time=datetime(2024, 1, 15, 12, 30, tzinfo=UTC))
    assert (winter.rate.id, summer.rate.id, summer_a_winter_hour_early.rate.id) == (1, 1, 2)


def test_a_call_across_the_spring_forward_gap_splits_where_the_clock_jumps():
    """Sunday 2024-03-10, New York: 02:00 EST becomes 03:00 EDT at 07:00 UTC. A night rate 00:00–02:30 covers
    01:50 EST; at the jump the clock reads 03:00 (02:30 never happens), so the split is at the jump: 600 s night
    + 600 s day."""
    night = RateFactory(prefix="1212", per_minute="0.06", start_time=time(0), end_time=time(2, 30), id=1)
    day = RateFactory(prefix="1212", per_minute="0.60", id=2)
    result = rate_call(make_rater(night, day, time_zone=NEW_YORK), billsec=1200,
                       answer_time=datetime(2024, 3, 10, 6, 50, tzinfo=UTC))
    assert [(rate.id, seconds) for rate, seconds in result.parts] == [(1, 600), (2, 600)]
    assert result.cost == Decimal("6.6000")  # 10 min × 0.06 + 10 min × 0.60


def test_a_call_across_the_fall_back_hour_meets_the_repeated_period_twice():
    """Sunday 2024-11-03, New York: 02:00 EDT becomes 01:00 EST at 06:00 UTC, so 01:00–01:30 happens twice.
    05:20 UTC (01:20 EDT) + 3600 s: 600 s in the period, 1800 s out, 1200 s in it again (01:00–01:20 EST)."""
    special = RateFactory(prefix="1212", per_minute="0.06", start_time=time(1), end_time=time(1, 30), id=1)
    day = RateFactory(prefix="1212", per_minute="0.60", id=2)
    answered = datetime(2024, 11, 3, 5, 20, tzinfo=UTC)
    groups = make_rater(special, day).deck.indexes["outbound"].candidates("12125551234", answered)
    assert [(offset, rate.id) for offset, rate in split(groups, answered, 3600, NEW_YORK)] == [
        (0, 1), (600, 2), (2400, 1)]
    result = rate_call(make_rater(special, day, time_zone=NEW_YORK), billsec=3600, answer_time=answered)
    assert [(rate.id, seconds) for rate, seconds in result.parts] == [(1, 1800), (2, 1800)]
    assert result.cost == Decimal("19.8000")  # 30 min × 0.06 + 30 min × 0.60


def test_a_call_across_midnight_splits_at_the_day_change():
    """A weekend rate (sat,sun, all day) starts at Saturday 00:00 local: Friday 23:59 + 120 s splits at 60 s."""
    weekend = RateFactory(prefix="1212", per_minute="0.06", days="67", id=1)
    weekday = RateFactory(prefix="1212", per_minute="0.60", id=2)
    result = rate_call(make_rater(weekend, weekday, time_zone=NEW_YORK), billsec=120,
                       answer_time=new_york(2024, 1, 19, 23, 59))
    assert [(rate.id, seconds) for rate, seconds in result.parts] == [(2, 60), (1, 60)]
    assert result.cost == Decimal("0.6600")


# The deck file and the period helpers.

def test_deck_files_take_optional_period_columns():
    deck_file = read_deck([
        "prefix,destination,connect_fee,rate_per_minute,minimum_seconds,increment_seconds,days,start_time,end_time\n",
        "1212,NY peak,0.10,0.60,1,1,mon-fri,08:00,18:00\n",
        "1212,NY,0,0.30,1,1,,,\n",
        "1310,LA nights,0,0.01,1,1,\"sat,sun\",,06:30\n",
        "1310,LA,0,0.02,1,1,1-5,22:00,24:00\n",
        "44,UK,0,0.05,1,1,someday,,\n",
        "4420,London,0,0.05,1,1,,18:00,08:00\n",
        "4421,Birmingham,0,0.05,1,1,,8 am,\n",
    ])
    rates = {(rate.destination, rate.direction): rate for rate in deck_file.deck.rates}
    peak = rates["NY peak", "outbound"]
    assert (peak.days, peak.start_time, peak.end_time, peak.timed) == ("12345", time(8), time(18), True)
    assert (rates["NY", "inbound"].days, rates["NY", "inbound"].timed) == ("", False)
    assert (rates["LA nights", "outbound"].days, rates["LA nights", "outbound"].end_time) == ("67", time(6, 30))
    assert (rates["LA", "outbound"].start_time, rates["LA", "outbound"].end_time) == (time(22), None)
    assert [(error.line, error.reason) for error in deck_file.errors] == [
        (6, "days must be weekday names or numbers (mon-fri, sat,sun, 1-5), not 'someday'"),
        (7, "start_time must be before end_time (a period cannot cross midnight: use two rates)"),
        (8, "start_time must be a time of day HH:MM, not '8 am'"),
    ]
    assert deck_file.deck.timed and not read_deck([
        "prefix,destination,connect_fee,rate_per_minute,minimum_seconds,increment_seconds\n", "1,US,0,1,1,1\n",
    ]).deck.timed


@pytest.mark.parametrize(("text", "digits", "shown"), [
    ("", "", ""), ("mon-fri", "12345", "mon-fri"), ("Sat, Sun", "67", "sat-sun"), ("fri-mon", "1567", "mon,fri-sun"),
    ("1-5", "12345", "mon-fri"), ("monday,wed,5", "135", "mon,wed,fri"), ("mon-sun", "", ""), ("7", "7", "sun"),
])
def test_days_are_read_as_names_numbers_and_ranges(text, digits, shown):
    assert parse_days(text) == digits
    assert format_days(digits) == shown


@pytest.mark.parametrize("text", ["mo", "0", "8", "mon-", "weekdays", "mon-fri-sat"])
def test_days_that_are_not_days_are_refused(text):
    with pytest.raises(ValueError, match="days must be weekday names or numbers"):
        parse_days(text)


def test_times_and_periods_for_people():
    assert parse_time("08:00", "start_time") == time(8)
    assert parse_time("24:00", "end_time") is None and parse_time(" ", "end_time") is None
    assert describe("12345", time(8), time(18)) == "mon-fri 08:00–18:00"
    assert describe("", time(22), None) == "every day 22:00–24:00"
    assert describe("67", None, None) == "sat-sun"
    assert describe("", None, None) == "all day"


@pytest.mark.parametrize(("changes", "message"), [
    ({"days": "51"}, "days must be ISO weekday digits"),
    ({"days": "8"}, "days must be ISO weekday digits"),
    ({"start_time": time(18), "end_time": time(8)}, "start_time must be before end_time"),
    ({"start_time": time(8, 0, 0, 5)}, "start_time must be a local time of day"),
    ({"end_time": time(8, tzinfo=UTC)}, "end_time must be a local time of day"),
])
def test_bad_periods_are_refused(changes, message):
    with pytest.raises(ValueError, match=message):
        RateFactory(**changes)


# The one-rate path: decks without a period are rated as before, without splitting.

def test_decks_without_periods_keep_the_one_lookup_path():
    rater = make_rater(RateFactory(prefix="1212", per_minute="0.60"), RateFactory(prefix="1", per_minute="0.01"))
    index = rater.deck.indexes["outbound"]
    assert not index.timed and rater._timed == {}
    assert index.lookup == index._lookup_timeless
    timed = make_rater(*peak_and_off_peak())
    assert set(timed._timed) == {"outbound"} and timed.deck.timed


def test_deck_lookup_reads_periods_in_the_given_zone():
    deck = Deck(peak_and_off_peak())
    answered = datetime(2024, 1, 15, 20, 0, tzinfo=UTC)
    assert deck.lookup("12125551234", "outbound", answered).id == 2
    assert deck.lookup("12125551234", "outbound", answered, NEW_YORK).id == 1


@MODES
def test_price_parts_share_out_exactly_the_billed_seconds(mode):
    peak, off_peak = peak_and_off_peak(minimum=30, increment=7)
    parts = [(0, peak), (45, off_peak), (100, peak)]
    for secs in range(1, 200):
        billed = billable_seconds(secs, peak, mode)
        shares = price_parts(parts, secs, billed, mode)
        assert sum(seconds for _rate, seconds in shares) == billed
        assert shares[0][0] is peak and shares[0][1] >= min(30, billed)
