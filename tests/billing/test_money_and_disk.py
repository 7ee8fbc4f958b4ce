"""Period arithmetic and disk tranches (seed 000, options 1-4 and 16): the boundaries of docs/billing.md."""
from datetime import date
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from billing.disk import tranche_rule
from billing.money import add_cycle, period_end
from portal.money import quantize, spendable


def test_months_keep_the_anchor_day_through_short_months():
    jan31 = date(2026, 1, 31)
    assert add_cycle(jan31, "monthly", anchor_day=31) == date(2026, 2, 28)
    assert add_cycle(date(2026, 2, 28), "monthly", anchor_day=31) == date(2026, 3, 31)
    assert add_cycle(date(2024, 1, 31), "monthly", anchor_day=31) == date(2024, 2, 29)
    assert add_cycle(date(2026, 11, 15), "quarterly") == date(2027, 2, 15)
    assert add_cycle(date(2026, 11, 15), "annually", -1) == date(2025, 11, 15)
    assert period_end(date(2026, 12, 1), "monthly") == date(2026, 12, 31)
    with pytest.raises(ValueError):
        add_cycle(jan31, "onetime")


def test_quantize_rounds_half_up_once_and_credit_spends_whole_cents():
    assert quantize(Decimal("2.005")) == Decimal("2.01")
    assert quantize(Decimal("2.0049")) == Decimal("2.00")
    assert spendable(Decimal("4.5099"), "USD") == Decimal("4.50")
    assert spendable(Decimal("-1.0000"), "USD") == Decimal("0.00")


RULE = {"disk_tranche_size_gb": "5", "disk_tranche_price": "2.50", "disk_included_gb": "10", "disk_tranche_max": "0"}
GB = 1024


@pytest.mark.parametrize(
    ("usage_mb", "tranches", "amount"),
    [
        (None, 0, None),  # never measured
        (0, 0, None),
        (10 * GB, 0, None),  # exactly the allowance: nothing above it
        (10 * GB + 1, 1, "2.50"),  # 1 MB above: a started tranche is billed
        (15 * GB, 1, "2.50"),  # exactly one tranche above
        (15 * GB + 1, 2, "5.00"),  # 1 MB into the second
        (Decimal("20480.00"), 2, "5.00"),
        (100 * GB, 18, "45.00"),
    ],
)
def test_tranche_boundaries(usage_mb, tranches, amount):
    rule = tranche_rule(RULE)
    assert rule.tranches(usage_mb) == tranches
    charge = rule.charge(usage_mb)
    assert (charge[1] if charge else None) == (Decimal(amount) if amount else None)


def test_tranche_cap_and_description_placeholders():
    rule = tranche_rule({**RULE, "disk_tranche_max": "3", "disk_billing_description": "{tranches} x 5 GB ({usage_gb} GB used, {included_gb} GB free)"})
    count, amount, text = rule.charge(100 * GB)
    assert (count, amount) == (3, Decimal("7.50"))
    assert text == "3 x 5 GB (100.00 GB used, 10 GB free)"


def test_no_allowance_bills_from_the_first_megabyte():
    rule = tranche_rule({"disk_tranche_size_gb": "1", "disk_tranche_price": "0.75"})
    assert rule.charge(1)[0:2] == (1, Decimal("0.75"))
    assert rule.charge(GB)[0:2] == (1, Decimal("0.75"))
    assert rule.charge(GB + 1)[0:2] == (2, Decimal("1.50"))


def test_disk_billing_is_off_without_size_or_price():
    assert tranche_rule({}) is None
    assert tranche_rule({"disk_tranche_size_gb": "5"}) is None


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({**RULE, "disk_tranche_size_gb": "0"}, "disk_tranche_size_gb"),
        ({**RULE, "disk_tranche_price": "abc"}, "disk_tranche_price"),
        ({**RULE, "disk_tranche_max": "-1"}, "disk_tranche_max"),
        ({**RULE, "disk_tranche_max": "1.5"}, "disk_tranche_max"),
        ({**RULE, "disk_included_gb": "-2"}, "disk_included_gb"),
        ({**RULE, "disk_billing_description": "{price}"}, "disk_billing_description"),
    ],
)
def test_bad_options_name_the_option(options, field):
    with pytest.raises(ValidationError) as exc:
        tranche_rule(options)
    assert field in exc.value.message_dict
