"""The fast path (integer cost, cached prefix index, NANP shortcut and validity check in normalisation, the split
of calls by time-of-day period) gives exactly the answers of a straightforward implementation of the spec
(reference.py, phonenumbers), on random inputs."""
import random
from decimal import Decimal

import phonenumbers
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from provisioning.telephony.numbers import E164, Normaliser, nanp_validity
from voip.rating import (
    INCREMENT_MODES,
    Deck,
    Rater,
    billable_seconds,
    cost_units,
    precise_cost,
    quantize_cost,
)

from .reference import reference_billed, reference_cost, reference_lookup, reference_split_cost
from .strategies import BASE, decks, instants, long_calls, moments, rates, seconds, timed_decks, zones

modes = st.sampled_from(INCREMENT_MODES)


@given(rates(durations=seconds), seconds, modes)
def test_billable_seconds_equal_the_reference(rate, secs, mode):
    assert billable_seconds(secs, rate, mode) == reference_billed(secs, rate, mode)


@given(rates(), st.integers(min_value=0, max_value=2 * 10_000_000))
def test_integer_cost_equals_the_decimal_formula(rate, billed):
    expected = reference_cost(rate, billed)
    assert cost_units(rate, billed) == int(expected * 10_000)
    assert quantize_cost(precise_cost(rate, billed)) == expected


@settings(max_examples=300)
@given(decks(dated=True), st.lists(st.tuples(st.text("123", min_size=1, max_size=8), moments,
                                             st.sampled_from(["outbound", "inbound"])), min_size=1, max_size=30))
def test_cached_index_lookup_equals_a_linear_scan(rates_list, calls):
    deck = Deck(rates_list)
    for number, when, direction in calls * 2:  # twice: the second pass answers from the caches
        assert deck.lookup(number, direction, when) == reference_lookup(rates_list, number, direction, when)


@settings(max_examples=300)
@given(decks(), st.lists(st.tuples(st.text("123", min_size=1, max_size=8), seconds), min_size=1, max_size=20), modes)
def test_rated_cost_equals_the_reference_end_to_end(rates_list, calls, mode):
    deck = Deck(rates_list)
    for number, secs in calls:
        rate = deck.lookup(number, "outbound", BASE)
        assert rate == reference_lookup(rates_list, number, "outbound", BASE)
        if rate is None:
            continue
        billed = billable_seconds(secs, rate, mode)
        assert billed == reference_billed(secs, rate, mode)
        if billed is not None:
            assert cost_units(rate, billed) == int(reference_cost(rate, billed) * 10_000)


@given(st.text("0123456789", min_size=10, max_size=10), st.booleans())
def test_nanp_shortcut_equals_phonenumbers_parse(ten, trunk):
    raw = ("1" + ten) if trunk else ten
    parsed = phonenumbers.parse("+1" + ten, "US")
    result = Normaliser("US").normalise(raw)
    if phonenumbers.is_valid_number(parsed):
        assert (result.kind, result.e164) == (E164, phonenumbers.format_number(parsed, 0)[1:])
    else:
        assert result.kind != E164


def fast_emergency(region, digits):
    pattern = Normaliser(region)._emergency
    return pattern is not None and pattern.fullmatch(digits) is not None


@settings(max_examples=500)
@given(st.sampled_from(sorted(phonenumbers.SUPPORTED_REGIONS)), st.text("0123456789", min_size=1, max_size=8))
def test_emergency_check_equals_phonenumbers(region, digits):
    assert fast_emergency(region, digits) == phonenumbers.is_emergency_number(digits, region)


@pytest.mark.parametrize("digits", ["112", "911", "999", "000", "110", "119", "190", "100", "101", "1122", "08"])
def test_emergency_check_equals_phonenumbers_for_common_codes_in_every_region(digits):
    for region in sorted(phonenumbers.SUPPORTED_REGIONS):
        assert fast_emergency(region, digits) == phonenumbers.is_emergency_number(digits, region), region


@settings(max_examples=300, deadline=None)
@given(timed_decks(), instants, zones, long_calls, modes)
def test_split_rating_equals_the_second_by_second_reference(rates_list, answered, zone, secs, mode):
    """Time-of-day rating (periods.split, engine.price_parts, integer cost) against step 10 applied to every
    second of the call (reference.py)."""
    result = Rater(Deck(rates_list), Normaliser("US"), increment_mode=mode, time_zone=zone).rate(
        direction="outbound", number="2125551234", billsec=secs, answer_time=answered)
    expected = reference_split_cost(rates_list, "12125551234", "outbound", answered, secs, zone, mode)
    assert result.cost == (Decimal(0) if secs == 0 else expected)


def test_nanp_validity_equals_phonenumbers_for_every_area_code():
    rng = random.Random(20240115)
    validity = nanp_validity()
    for npa in range(200, 1000):
        for _ in range(40):
            ten = f"{npa}{rng.randint(0, 9_999_999):07d}"
            number = phonenumbers.PhoneNumber(country_code=1, national_number=int(ten))
            assert validity(ten) == phonenumbers.is_valid_number(number), ten
