"""Eligibility, statuses, free seconds, no-charge calls and the increment modes (steps 1, 4, 5)."""
from decimal import Decimal

import pytest

from tests.voip.factories import RateFactory
from tests.voip.rating import make_rater, rate_call
from voip.rating import (
    AFTER_MINIMUM,
    IGNORED,
    INVALID,
    RATED,
    UNRATED,
    WHOLE_DURATION,
    Rater,
    billable_seconds,
    cost_units,
    precise_cost,
    quantize_cost,
)
from voip.rating.engine import format_units


def test_a_call_no_prefix_matches_is_unrated_not_free():
    result = rate_call(make_rater(RateFactory(prefix="44")), "2125551234", 60)
    assert (result.status, result.e164, result.cost) == (UNRATED, "12125551234", Decimal("0.0000"))
    assert "12125551234" in result.reason


def test_statuses_of_calls_that_are_not_charged():
    rater = make_rater(RateFactory(prefix="1", per_minute="0.01"))
    assert rate_call(rater, "911").status == IGNORED
    assert rate_call(rater, "1001").status == IGNORED
    assert rate_call(rater, "2125551234", ignore_reason="not answered (BUSY)").reason == "not answered (BUSY)"
    assert rate_call(rater, "0112125551234").status == INVALID
    no_time = rate_call(rater, "2125551234", answer_time=None)
    assert (no_time.status, no_time.reason) == (INVALID, "answered call without an answer time")


def test_unanswered_zero_second_calls_need_no_answer_time():
    assert rate_call(make_rater(), "2125551234", 0, answer_time=None).status == IGNORED


def test_inbound_calls_are_rated_on_the_did_with_inbound_rates():
    rater = make_rater(RateFactory(prefix="1212", per_minute="0.60", direction="inbound"),
                       RateFactory(prefix="1", per_minute="0.01"))
    inbound = rate_call(rater, "+1 212 555 0100", 60, direction="inbound")
    assert (inbound.status, inbound.rate.prefix, inbound.cost) == (RATED, "1212", Decimal("0.6000"))
    assert rate_call(rater, "2125550100", 60).rate.prefix == "1"


def test_free_seconds_are_deducted_first_and_the_connect_fee_still_applies():
    rate = RateFactory(connect_fee="0.05", per_minute="0.60", minimum=30, increment=6, free_seconds=10)
    assert billable_seconds(10, rate) == 0
    assert billable_seconds(11, rate) == 30
    assert billable_seconds(47, rate) == 42  # 37 s after the grace: 30 + 6 + 6
    result = rate_call(make_rater(rate), "2125551234", 8)
    assert (result.status, result.billed_seconds, result.cost) == (RATED, 0, Decimal("0.0500"))


def test_calls_shorter_than_nocharge_below_are_entirely_free():
    rate = RateFactory(connect_fee="0.05", per_minute="0.60", nocharge_below=5)
    assert billable_seconds(4, rate) is None
    assert billable_seconds(5, rate) == 5
    result = rate_call(make_rater(rate), "2125551234", 4)
    assert (result.status, result.cost, result.precise_cost) == (RATED, Decimal("0.0000"), Decimal(0))
    assert "not charged" in result.reason


def test_increment_modes_differ_when_the_minimum_is_not_a_multiple_of_the_increment():
    rate = RateFactory(minimum=30, increment=20)
    assert billable_seconds(35, rate, AFTER_MINIMUM) == 50  # 30 + one 20 s increment
    assert billable_seconds(35, rate, WHOLE_DURATION) == 40  # 35 rounded up to 20s
    assert billable_seconds(25, rate, WHOLE_DURATION) == 30  # never under the minimum


def test_zero_minimum_bills_whole_increments():
    assert billable_seconds(1, RateFactory(minimum=0, increment=60)) == 60


def test_cost_is_rounded_half_up_once():
    # 0.00005 exactly: half-even would give 0.0000, half-up gives 0.0001.
    rate = RateFactory(per_minute="0.003", minimum=1, increment=1)
    assert precise_cost(rate, 1) == Decimal("0.00005")
    assert quantize_cost(precise_cost(rate, 1)) == Decimal("0.0001")
    assert cost_units(rate, 1) == 1


def test_precise_cost_keeps_more_places_than_the_debit():
    result = rate_call(make_rater(RateFactory(per_minute="0.01")), "2125551234", 1)
    assert result.cost == Decimal("0.0002")
    assert result.precise_cost.quantize(Decimal("0.000001")) == Decimal("0.000167")


def test_long_calls_never_pass_through_text_with_separators():
    """ASTPP#276: a call over ~4,500 s was billed 1 after `1,234.56` was read back."""
    result = rate_call(make_rater(RateFactory(per_minute="18.00")), "2125551234", 4_600)
    assert result.cost == Decimal("1380.0000")
    assert format_units(result.cost_units) == "1380.0000"


def test_unknown_increment_mode_is_refused():
    with pytest.raises(ValueError, match="increment mode"):
        Rater(None, None, increment_mode="per_call")
