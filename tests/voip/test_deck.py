"""Rates, the longest-prefix index (step 3) and rate deck CSV files."""
import io
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from provisioning.telephony.calls import INBOUND, OUTBOUND
from provisioning.telephony.text import OPEN_INPUT
from tests.voip.factories import RateFactory
from voip.rating import Deck, PrefixIndex
from voip.rating.deck_file import DeckFileError, read_deck

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "cdrs"
JAN_2024 = datetime(2024, 1, 15, tzinfo=UTC)


def read_fixture(name):
    with open(FIXTURES / name, **OPEN_INPUT) as lines:
        return read_deck(lines)


def test_length_is_decided_before_price():
    """ASTPP#273: a cheaper shorter prefix must not beat the longest match."""
    index = PrefixIndex([RateFactory(prefix="44", per_minute="0.01"), RateFactory(prefix="4420", per_minute="0.50")])
    assert index.lookup("442083661177", JAN_2024).prefix == "4420"
    assert index.lookup("441612345678", JAN_2024).prefix == "44"
    assert index.lookup("12125551234", JAN_2024) is None


def test_ties_on_a_prefix_go_to_weight_then_cheaper_rate_then_lowest_id():
    heavy = RateFactory(prefix="1", per_minute="0.05", weight=5, id=3)
    cheap = RateFactory(prefix="1", per_minute="0.01", id=2)
    first = RateFactory(prefix="1", per_minute="0.01", id=1)
    assert PrefixIndex([cheap, first, heavy]).lookup("12125551234", JAN_2024) is heavy
    second = RateFactory(prefix="1", per_minute="0.02", id=1)
    assert PrefixIndex([cheap, second]).lookup("12125551234", JAN_2024) is cheap
    assert PrefixIndex([cheap, first]).lookup("12125551234", JAN_2024) is first


def test_only_rates_valid_at_the_answer_time_are_candidates():
    old = RateFactory(prefix="1212", per_minute="0.02", valid_to=datetime(2024, 1, 1, tzinfo=UTC))
    new = RateFactory(prefix="1212", per_minute="0.03", valid_from=datetime(2024, 1, 1, tzinfo=UTC))
    short = RateFactory(prefix="1", per_minute="0.01")
    index = PrefixIndex([old, new, short])
    assert not index.timeless
    assert index.lookup("12125551234", datetime(2023, 12, 31, 23, 59, 59, tzinfo=UTC)) is old
    assert index.lookup("12125551234", datetime(2024, 1, 1, tzinfo=UTC)) is new  # valid_from ≤ t < valid_to
    expired = PrefixIndex([old, short])
    assert expired.lookup("12125551234", JAN_2024) is short  # the longer prefix has no valid rate then


def test_deck_keeps_directions_apart():
    out, inbound = RateFactory(prefix="1", direction=OUTBOUND), RateFactory(prefix="1800", direction=INBOUND)
    deck = Deck([out, inbound])
    assert deck.lookup("18005551234", OUTBOUND, JAN_2024) is out
    assert deck.lookup("18005551234", INBOUND, JAN_2024) is inbound
    assert deck.lookup("12125551234", INBOUND, JAN_2024) is None


@pytest.mark.parametrize("changes, message", [
    ({"prefix": "12a"}, "prefix"), ({"prefix": ""}, "prefix"), ({"prefix": "1" * 16}, "prefix"),
    ({"connect_fee": "-0.01"}, "connect_fee"), ({"per_minute": "0.000000001"}, "decimal places"),
    ({"per_minute": "1000000"}, "rate_per_minute"), ({"increment": 0}, "increment_seconds"),
    ({"minimum": -1}, "minimum_seconds"), ({"direction": "sideways"}, "direction"),
    ({"valid_from": datetime(2024, 2, 1, tzinfo=UTC), "valid_to": datetime(2024, 1, 1, tzinfo=UTC)}, "before"),
    ({"valid_from": datetime(2024, 2, 1)}, "aware"),
])
def test_bad_rates_are_refused(changes, message):
    with pytest.raises(ValueError, match=message):
        RateFactory(**changes)


def test_prices_are_kept_as_exact_integers_too():
    rate = RateFactory(connect_fee="0.15", per_minute="0.00012345")
    assert (rate.connect_fee_units, rate.rate_units) == (15_000_000, 12_345)


def test_deck_file_with_required_columns():
    deck_file = read_fixture("rates.csv")
    assert deck_file.errors == [] and deck_file.ignored_columns == []
    rate = deck_file.deck.lookup("12125551234", OUTBOUND, JAN_2024)
    assert (rate.prefix, rate.destination, rate.connect_fee, rate.rate_per_minute) == (
        "1212", "USA New York", Decimal("0.10"), Decimal("0.60"))
    assert (rate.minimum_seconds, rate.increment_seconds, rate.free_seconds, rate.weight, rate.id) == (1, 1, 0, 0, 3)
    # A row without a direction rates both directions.
    assert deck_file.deck.lookup("12125551234", INBOUND, JAN_2024).prefix == "1212"


def test_deck_file_with_optional_columns():
    deck = read_fixture("rates_dated.csv").deck
    before, during, after = (datetime(2023, 6, 1, tzinfo=UTC), JAN_2024, datetime(2024, 3, 1, tzinfo=UTC))
    assert deck.lookup("13105551234", OUTBOUND, before).destination == "USA/Canada until 2024"
    assert deck.lookup("13105551234", OUTBOUND, after).destination == "USA/Canada from 2024"
    promo = deck.lookup("12125551234", OUTBOUND, during)
    assert (promo.destination, promo.free_seconds, promo.weight) == ("New York promo", 10, 5)
    assert deck.lookup("12125551234", OUTBOUND, after).destination == "New York"
    assert deck.lookup("12125551234", INBOUND, after).destination == "USA/Canada from 2024"  # outbound-only row
    assert deck.lookup("18005551234", INBOUND, after).destination == "Toll-free inbound"
    assert deck.lookup("18005551234", OUTBOUND, after).destination == "USA/Canada from 2024"


def test_bad_deck_rows_are_reported_with_line_numbers_and_left_out():
    deck_file = read_fixture("rates_bad_rows.csv")
    assert [(e.line, e.reason.split(" ")[0]) for e in deck_file.errors] == [
        (3, "prefix"), (4, "rate_per_minute"), (5, "increment_seconds"), (6, "expected")]
    assert "'1,5'" in deck_file.errors[1].reason  # a thousands separator is never read as a number
    assert deck_file.ignored_columns == ["notes"]
    assert sorted(r.prefix for r in deck_file.deck.rates) == ["1", "1"]


@pytest.mark.parametrize("text, message", [
    ("", "empty"),
    ("1,USA/Canada,0.00,0.0120,6,6\n", "lacks the column"),
    ("prefix,destination,connect_fee,rate_per_minute,minimum_seconds\n1,x,0,0,1\n", "increment_seconds"),
])
def test_a_file_without_the_required_header_cannot_be_used(text, message):
    with pytest.raises(DeckFileError, match=message):
        read_deck(io.StringIO(text))


def test_header_names_are_matched_case_insensitively_in_any_order():
    text = "Rate_Per_Minute,PREFIX,increment_seconds,minimum_seconds,connect_fee,destination\n0.6,+1212,1,1,0.1,NY\n"
    (rate,) = read_deck(io.StringIO(text)).deck.indexes[OUTBOUND]._buckets["1212"]
    assert (rate.rate_per_minute, rate.connect_fee) == (Decimal("0.6"), Decimal("0.1"))
