"""The fast path (integer cost, cached prefix index, NANP shortcut in normalisation) gives exactly the answers
of a straightforward implementation of the spec (reference.py, phonenumbers.parse), on random inputs."""
import phonenumbers
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from voip.rating import INCREMENT_MODES, Deck, billable_seconds, cost_units, precise_cost, quantize_cost
from voip.rating.numbers import E164, Normaliser

from .reference import reference_billed, reference_cost, reference_lookup
from .strategies import BASE, decks, moments, rates, seconds

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
