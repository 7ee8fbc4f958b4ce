"""Property tests (hypothesis): cost never decreases with duration, the longest matching prefix wins, zero
seconds cost nothing, billed seconds respect the minimum and the increment; the same with time-of-day periods
(calls split across periods, in zones with daylight-saving changes)."""
from hypothesis import given, settings
from hypothesis import strategies as st

from provisioning.telephony.numbers import Normaliser
from tests.voip.factories import RateFactory
from tests.voip.rating import make_rater, rate_call
from voip.rating import (
    AFTER_MINIMUM,
    INCREMENT_MODES,
    RATED,
    WHOLE_DURATION,
    Deck,
    PrefixIndex,
    Rater,
    billable_seconds,
    quantize_cost,
)
from voip.rating.engine import IGNORED, cost_units

from .strategies import BASE, call_seconds, instants, long_calls, rates, seconds, timed_decks, zones

modes = st.sampled_from(INCREMENT_MODES)


def charged_units(rate, secs, mode):
    billed = billable_seconds(secs, rate, mode)
    return 0 if billed is None else cost_units(rate, billed)


@given(rates(), call_seconds, call_seconds, modes)
def test_cost_never_decreases_with_duration(rate, a, b, mode):
    shorter, longer = sorted((a, b))
    assert charged_units(rate, shorter, mode) <= charged_units(rate, longer, mode)


@given(rates(prefix="1"), call_seconds, call_seconds, modes)
def test_cost_never_decreases_with_duration_through_the_rater(rate, a, b, mode):
    rater = make_rater(rate, increment_mode=mode)
    shorter, longer = sorted((a, b))
    costs = [rate_call(rater, "2125551234", secs, direction=rate.direction).cost for secs in (shorter, longer)]
    assert costs[0] <= costs[1]


@given(st.lists(st.text("0123456789", min_size=1, max_size=8), min_size=1, max_size=40),
       st.text("0123456789", min_size=1, max_size=15))
def test_the_longest_matching_prefix_wins(prefixes, number):
    index = PrefixIndex([RateFactory(prefix=prefix, per_minute=str(i % 7), id=i) for i, prefix in enumerate(prefixes)])
    found = index.lookup(number, BASE)
    matching = [prefix for prefix in prefixes if number.startswith(prefix)]
    if not matching:
        assert found is None
    else:
        assert found.prefix == max(matching, key=len)


@given(rates(prefix="1"), modes)
def test_zero_seconds_cost_nothing(rate, mode):
    assert billable_seconds(0, rate, mode) is None
    result = rate_call(make_rater(rate, increment_mode=mode), "12125551234", 0, direction=rate.direction)
    assert (result.status, result.cost_units, result.billed_seconds) == (IGNORED, 0, 0)


@given(rates(durations=seconds), seconds, modes)
def test_billed_seconds_respect_minimum_and_increment(rate, secs, mode):
    billed = billable_seconds(secs, rate, mode)
    if billed is None:
        assert secs == 0 or secs < rate.nocharge_below
        return
    d = max(0, secs - rate.free_seconds)
    minimum, inc = rate.minimum_seconds, rate.increment_seconds
    if d == 0:
        assert billed == 0
        return
    assert billed >= d and billed >= minimum
    if billed > minimum:
        step = billed - minimum if mode == AFTER_MINIMUM else billed
        assert step % inc == 0 and billed - d < inc  # whole increments, never a spare one
    if d <= minimum:
        assert billed == minimum  # the minimum block in full, in both modes
    elif mode == WHOLE_DURATION or minimum % inc == 0:
        assert billed == -(-d // inc) * inc  # the modes agree when the minimum is a multiple of the increment


# With time-of-day periods (step 10): the same properties, calls split across periods in random zones.

timed_calls = long_calls


@settings(max_examples=200, deadline=None)
@given(timed_decks(), instants, zones, timed_calls, timed_calls, modes)
def test_cost_never_decreases_with_duration_with_periods(rates_list, answered, zone, a, b, mode):
    rater = Rater(Deck(rates_list), Normaliser("US"), increment_mode=mode, time_zone=zone)
    shorter, longer = sorted((a, b))
    results = [rate_call(rater, "2125551234", secs, answer_time=answered) for secs in (shorter, longer, longer + 1)]
    assert all(result.status in (RATED, IGNORED) for result in results)  # prefix 1 always has an all-day rate
    assert results[0].cost <= results[1].cost <= results[2].cost


@given(timed_decks(), instants, zones, modes)
def test_zero_seconds_cost_nothing_with_periods(rates_list, answered, zone, mode):
    rater = Rater(Deck(rates_list), Normaliser("US"), increment_mode=mode, time_zone=zone)
    result = rate_call(rater, "2125551234", 0, answer_time=answered)
    assert (result.status, result.cost_units, result.billed_seconds, result.parts) == (IGNORED, 0, 0, ())


@settings(max_examples=200, deadline=None)
@given(timed_decks(), instants, zones, timed_calls, modes)
def test_split_parts_add_up_to_the_billed_seconds(rates_list, answered, zone, secs, mode):
    result = rate_call(Rater(Deck(rates_list), Normaliser("US"), increment_mode=mode, time_zone=zone),
                       "2125551234", secs, answer_time=answered)
    if result.parts:
        assert sum(seconds for _rate, seconds in result.parts) == result.billed_seconds
        assert result.parts[0][0] is result.rate and len({id(rate) for rate, _s in result.parts}) == len(result.parts)
        assert result.cost == quantize_cost(result.precise_cost)
