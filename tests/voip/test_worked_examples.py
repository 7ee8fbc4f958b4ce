"""Every worked example of shared/voip-rating.md §4, each as its own test, through the whole rating path
(number normalisation, longest-prefix lookup, billable seconds, cost) and in both increment modes where the
example's minimum is a multiple of its increment (the modes then agree, as §2 step 4 says)."""
from decimal import Decimal
from pathlib import Path

import pytest

from provisioning.telephony.text import OPEN_INPUT
from tests.voip.factories import RateFactory
from tests.voip.rating import make_rater, rate_call
from voip.cdr_formats import FreeSwitchParser
from voip.rating import AFTER_MINIMUM, IGNORED, RATED, WHOLE_DURATION, billable_seconds

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "cdrs"
MODES = pytest.mark.parametrize("mode", [AFTER_MINIMUM, WHOLE_DURATION])


def billed_and_cost(rate, seconds, mode=AFTER_MINIMUM):
    result = rate_call(make_rater(rate, increment_mode=mode), "2125551234", seconds)
    assert result.status == RATED
    return result.billed_seconds, result.cost


@MODES
def test_example_1_connect_fee_and_per_second_rate(mode):
    """CF 0.10, 0.01/s (0.60/min), 1/1; 45 s → 45 s, 0.5500 (CGRateS RT_60C)."""
    rate = RateFactory(connect_fee="0.10", per_minute="0.60", minimum=1, increment=1)
    assert billed_and_cost(rate, 45, mode) == (45, Decimal("0.5500"))


@MODES
def test_example_2_sixty_second_minimum(mode):
    """CF 0.20, 1.20/min, 60/1; 45 s → 60 s, 1.4000 (CGRateS RT_120C)."""
    rate = RateFactory(connect_fee="0.20", per_minute="1.20", minimum=60, increment=1)
    assert billed_and_cost(rate, 45, mode) == (60, Decimal("1.4000"))


@MODES
def test_example_3_rounding_issue(mode):
    """CF 0.15, 0.05/min, 1/1; 24 s → 24 s, 0.1700 (CGRateS TestGetCostRoundingIssue)."""
    rate = RateFactory(connect_fee="0.15", per_minute="0.05", minimum=1, increment=1)
    billed, cost = billed_and_cost(rate, 24, mode)
    assert (billed, cost) == (24, Decimal("0.1700"))
    assert str(cost) == "0.1700"  # 4 places, a Decimal, never a float


@MODES
def test_example_4_thirty_six_increment(mode):
    """0.05/min, 30/6; 45 s → 48 s, 0.0400 (MagnusBilling price calculation)."""
    rate = RateFactory(per_minute="0.05", minimum=30, increment=6)
    assert billed_and_cost(rate, 45, mode) == (48, Decimal("0.0400"))


@MODES
def test_example_5_sixty_ten_and_sixty_sixty(mode):
    """83 s: 60/10 → 90 s; 60/60 → 120 s."""
    assert billable_seconds(83, RateFactory(minimum=60, increment=10), mode) == 90
    assert billable_seconds(83, RateFactory(minimum=60, increment=60), mode) == 120


@MODES
def test_example_6_thirty_six_and_six_six(mode):
    """30/6: 10 s → 30 s, 31 s → 36 s; 6/6: 5 s → 6 s, 8 s → 12 s."""
    thirty_six, six_six = RateFactory(minimum=30, increment=6), RateFactory(minimum=6, increment=6)
    assert [billable_seconds(s, thirty_six, mode) for s in (10, 31)] == [30, 36]
    assert [billable_seconds(s, six_six, mode) for s in (5, 8)] == [6, 12]


@MODES
def test_example_7_one_cent_per_minute(mode):
    """0.01/min: 60/60 → 5 s and 50 s bill 60 s, 0.0100 each; 6/6 → 5 s bills 6 s, 0.0010."""
    sixty = RateFactory(per_minute="0.01", minimum=60, increment=60)
    assert billed_and_cost(sixty, 5, mode) == (60, Decimal("0.0100"))
    assert billed_and_cost(sixty, 50, mode) == (60, Decimal("0.0100"))
    assert billed_and_cost(RateFactory(per_minute="0.01", minimum=6, increment=6), 5, mode) == (6, Decimal("0.0010"))


@MODES
def test_example_8_initial_pulse(mode):
    """cnxcc initial pulse 60: a 5 s call bills 60 s."""
    assert billable_seconds(5, RateFactory(minimum=60, increment=1), mode) == 60


def test_example_9_zero_seconds_no_connect_fee():
    """Any rate with a connect fee: 0 s → 0 s, 0.0000, no connect fee (CGRateS TestGetCostZero; ASTPP)."""
    rate = RateFactory(connect_fee="0.25", per_minute="1.00", minimum=60, increment=60)
    assert billable_seconds(0, rate) is None
    result = rate_call(make_rater(rate), "2125551234", 0)
    assert result.status == IGNORED
    assert (result.billed_seconds, result.cost, result.precise_cost) == (0, Decimal("0.0000"), Decimal(0))


def test_example_10_freeswitch_billsec_not_duration():
    """A FreeSWITCH CDR with duration 71 and billsec 68 is rated on 68 s (CGRateS fscdr_test.go)."""
    with open(FIXTURES / "freeswitch_example.csv", **OPEN_INPUT) as lines:
        record = next(iter(FreeSwitchParser(lines)))
    assert (record.fields[7], record.fields[8]) == ("71", "68")  # duration, billsec
    result = make_rater(RateFactory(prefix="1", per_minute="0.60")).rate_record(record)
    assert (result.status, result.billed_seconds, result.cost) == (RATED, 68, Decimal("0.6800"))
