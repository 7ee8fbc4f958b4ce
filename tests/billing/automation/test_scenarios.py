"""The scenario table: every rule of seeds 001 (overwrite suspend/termination) and 004 (automation settings), one
row each, run through the whole engine (plan, then a real pass against the fake module).

Defaults unless a row says otherwise: suspension on at 5 days, termination off (30 days), overrides per product,
processed daily."""
from dataclasses import dataclass, field

import pytest

from billing.automation.engine import plan_automation, run_automation
from billing.models import Service
from portal.models import ActivityLog
from tests.billing.automation.conftest import RUN, S, fake_calls, overdue_service, override
from tests.factories import ProductFactory, ProductGroupFactory

pytestmark = pytest.mark.django_db
TERM_ON = {"termination_enabled": True, "terminate_days": 30}


@dataclass(frozen=True)
class Case:
    id: str
    days: int  # days past the next due date on the run date
    expect: str | None  # the action taken, or None
    rule: str = ""  # "global", "override: product", "override: group"
    status: str = S.ACTIVE
    settings: dict = field(default_factory=dict)
    on: str | None = None  # the overwrite rule's target: "product" or "group"
    suspend: int | None = None  # override days (None: that override is off)
    terminate: int | None = None
    invoice: bool = True


CASES = [
    # Seed 004: "services with a Next Due Date more than x days in the past will be suspended"
    Case("004 global suspension: due date + suspend days == run date", 5, "suspend", "global"),
    Case("004 global suspension: one day short", 4, None),
    Case("004 suspension disabled: never suspended", 400, None, settings={"suspension_enabled": False}),
    Case("004 suspend days 0: suspended on the due date", 0, "suspend", "global", settings={"suspend_days": 0}),
    # Seed 004 termination: "services with a Next Due Date more than y days in the past will be terminated"
    Case("004 termination disabled: suspended service stays", 400, None, status=S.SUSPENDED),
    Case("004 global termination at 30 days", 30, "terminate", "global", status=S.SUSPENDED, settings=TERM_ON),
    Case("004 global termination: one day short", 29, None, status=S.SUSPENDED, settings=TERM_ON),
    # Seed 001 "Suspension Process": override by product
    Case("001 product override 0 days suspends on the due date", 0, "suspend", "override: product",
         on="product", suspend=0),
    Case("001 product override 2 days: day 1 waits", 1, None, on="product", suspend=2),
    Case("001 product override 2 days: day 2 suspends", 2, "suspend", "override: product", on="product", suspend=2),
    Case("001 override equal to the global days takes effect", 5, "suspend", "override: product",
         on="product", suspend=5),
    Case("001 override larger than global does not take effect: global suspends at 5",
         5, "suspend", "global", on="product", suspend=8),
    Case("001 override larger than global does not take effect: nothing before 5", 4, None, on="product", suspend=8),
    Case("001 global suspension off: the override alone decides (10 days)",
         10, "suspend", "override: product", on="product", suspend=10, settings={"suspension_enabled": False}),
    Case("001 global suspension off: override not reached", 9, None, on="product", suspend=10,
         settings={"suspension_enabled": False}),
    Case("001 Overwrite Suspension off: the global days apply", 5, "suspend", "global", on="product", terminate=20),
    # Override by group
    Case("001 group override suspends", 1, "suspend", "override: group", on="group", suspend=1,
         settings={"override_type": "group"}),
    Case("001 group rule ignored while overrides are per product", 1, None, on="group", suspend=1),
    Case("001 product rule ignored while overrides are per group", 1, None, on="product", suspend=1,
         settings={"override_type": "group"}),
    # Seed 001 "Termination Process"
    Case("001 product termination override 15 (global 30)", 15, "terminate", "override: product",
         status=S.SUSPENDED, on="product", suspend=1, terminate=15, settings=TERM_ON),
    Case("001 termination override larger than global: global terminates at 30",
         30, "terminate", "global", status=S.SUSPENDED, on="product", terminate=40, settings=TERM_ON),
    Case("001 termination override larger than global: nothing at 29",
         29, None, status=S.SUSPENDED, on="product", terminate=40, settings=TERM_ON),
    Case("001 global termination off: the termination override alone decides",
         20, "terminate", "override: product", status=S.SUSPENDED, on="product", terminate=20),
    Case("001 group termination override", 12, "terminate", "override: group", status=S.SUSPENDED, on="group",
         terminate=12, settings={"override_type": "group", **TERM_ON}),
    Case("001 Overwrite Termination off: the global days apply", 30, "terminate", "global", status=S.SUSPENDED,
         on="product", suspend=1, settings=TERM_ON),
    Case("001 termination only for Suspended: an Active service past it is suspended first",
         60, "suspend", "global", settings=TERM_ON),
    Case("001 any suspended service is terminated when overdue (a manual suspension too)",
         30, "terminate", "global", status=S.SUSPENDED, settings=TERM_ON),
    # Issue 4: "with the invoice unpaid"; only Active/Suspended services
    Case("overdue by date but no unpaid invoice: nothing", 50, None, invoice=False, settings=TERM_ON),
    Case("a pending service is never suspended", 50, None, status=S.PENDING),
    Case("a terminated service is left alone", 50, None, status=S.TERMINATED, settings=TERM_ON),
    Case("a cancelled service is left alone", 50, None, status=S.CANCELLED, settings=TERM_ON),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_scenario(case, automation):
    automation(**case.settings)
    group = ProductGroupFactory(name="Dedicated servers")
    product = ProductFactory(name="Mail Pro", group=group, module="fake")
    if case.on:
        override(product if case.on == "product" else group, suspend=case.suspend, terminate=case.terminate)
    service = overdue_service(days=case.days, status=case.status, product=product, invoice=case.invoice)

    rows = [row for row in plan_automation(date=RUN).rows if row.service_id == service.pk]
    assert [row.action for row in rows] == ([case.expect] if case.expect else [])
    if case.expect:
        label = {"global": "global", "override: product": "override: product Mail Pro",
                 "override: group": "override: group Dedicated servers"}[case.rule]
        assert rows[0].rule == label and rows[0].days_overdue == case.days

    before = case.status
    run_automation(date=RUN)
    service.refresh_from_db()
    expected_status = {None: before, "suspend": S.SUSPENDED, "terminate": S.TERMINATED}[case.expect]
    assert service.status == expected_status
    assert fake_calls(case.expect or "suspend") == ([service.domain] if case.expect else [])
    decisions = ActivityLog.objects.filter(action__startswith="automation.", target_id=str(service.pk))
    if case.expect:
        [decision] = decisions
        assert decision.action == f"automation.{case.expect}" and decision.data["outcome"] == "done"
        assert decision.data["rule"] == rows[0].rule and decision.data["days_overdue"] == case.days
        if case.expect == "suspend":
            assert service.suspend_reason == Service.SuspendReason.OVERDUE
    else:
        assert not decisions.exists()


@pytest.mark.parametrize("mode", ["product", "group"])
def test_a_product_moved_between_groups(mode, automation):
    """Seed 001: per product, a moved product keeps its settings; per group, it follows its new group."""
    automation(override_type=mode)
    fast, slow = ProductGroupFactory(name="Fast"), ProductGroupFactory(name="Slow")
    product = ProductFactory(name="VM", group=fast, module="fake")
    override(fast, suspend=0)
    override(slow, suspend=3)
    override(product, suspend=0)
    service = overdue_service(days=1, product=product)
    before = plan_automation(date=RUN).service_rows("suspend")
    assert [r.rule for r in before] == ["override: product VM" if mode == "product" else "override: group Fast"]

    product.group = slow
    product.save()
    after = plan_automation(date=RUN).service_rows("suspend")
    if mode == "product":  # the rule belongs to the product: unchanged by the move
        assert [r.rule for r in after] == ["override: product VM"]
    else:  # the Slow group's 3 days now apply: one day overdue is not enough
        assert after == []
        run_automation(date=RUN)
        service.refresh_from_db()
        assert service.status == S.ACTIVE


def test_a_rule_note_says_why_an_existing_override_does_not_take_effect(automation):
    """Seed 001: global parameters changed later do not adjust overrides; the global value applies."""
    product = ProductFactory(name="VM", module="fake")
    override(product, suspend=3)
    automation(suspend_days=2)  # lowered after the rule was saved
    overdue_service(days=2, product=product)
    [row] = plan_automation(date=RUN).service_rows("suspend")
    assert (row.rule, row.rule_days) == ("global", 2)
    assert "override for product VM (3 days) exceeds it and does not take effect" in row.rule_note
