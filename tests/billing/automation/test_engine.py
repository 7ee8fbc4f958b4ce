"""The engine around the rules: module errors and retries, module-less products, e-mails, one action per pass,
the claim's re-check, cancellation requests, the every-run pass, the dry run and the selection's query count."""
from datetime import timedelta

import pytest
from django.apps import apps
from django.db import connection
from django.test.utils import CaptureQueriesContext

from billing import emails
from billing.automation import engine
from billing.automation.engine import plan_automation, run_automation
from billing.automation.rules import Rules
from billing.automation.selection import due_services
from billing.models import EmailLog, Service
from billing.services.cancellation import cancellation_request
from portal.activity import Actor
from portal.models import ActivityLog
from provisioning.models import ModuleCall
from provisioning.modules.fake import FakeModule
from tests.billing.automation.conftest import RUN, S, fake_calls, overdue_service, override
from tests.factories import ProductFactory

pytestmark = pytest.mark.django_db


def test_a_module_error_leaves_the_service_active_and_the_next_run_suspends_it(automation):
    service = overdue_service(days=5)
    FakeModule.fail_next("suspend", "Server busy")
    plan = run_automation(date=RUN)
    [row] = plan.service_rows("suspend")
    assert (row.outcome, row.error) == ("failed", "Server busy")
    service.refresh_from_db()
    assert service.status == S.ACTIVE
    assert ModuleCall.objects.filter(service=service, action="suspend", success=False, awaiting_retry=True).exists()
    failed = ActivityLog.objects.get(action="automation.suspend", data__outcome="failed")
    assert "Server busy" in failed.message and failed.data["rule"] == "global"
    assert ActivityLog.objects.filter(action="service.suspend_failed").count() == 1
    assert not EmailLog.objects.exists()

    plan = run_automation(date=RUN + timedelta(days=1))  # the next day's run tries again
    assert [r.outcome for r in plan.service_rows("suspend")] == ["done"]
    service.refresh_from_db()
    assert service.status == S.SUSPENDED
    assert fake_calls("suspend") == [service.domain, service.domain]
    assert not ModuleCall.objects.filter(service=service, awaiting_retry=True).exists()
    assert EmailLog.objects.filter(template_name=emails.SERVICE_SUSPENDED, service=service).count() == 1


def test_a_service_without_a_module_changes_status_only(automation):
    automation(termination_enabled=True, terminate_days=30)
    active = overdue_service(days=5, module="")
    suspended = overdue_service(days=30, module="", status=S.SUSPENDED)
    run_automation(date=RUN)
    active.refresh_from_db()
    suspended.refresh_from_db()
    assert (active.status, active.suspend_reason, suspended.status) == (S.SUSPENDED, "overdue", S.TERMINATED)
    assert FakeModule.calls == [] and not ModuleCall.objects.exists()


@pytest.mark.parametrize(
    "global_email, override_email, with_override, sent",
    [
        (True, False, False, True),
        (False, True, False, False),
        (False, True, True, True),  # seed 001's own "Send Suspension Email" for override suspensions
        (True, False, True, False),
    ],
)
def test_the_suspension_email_follows_the_setting_of_the_rule_that_applied(
    automation, global_email, override_email, with_override, sent
):
    automation(send_suspension_email=global_email, override_send_suspension_email=override_email)
    product = ProductFactory(module="fake")
    if with_override:
        override(product, suspend=1)
    service = overdue_service(days=5, product=product)
    run_automation(date=RUN)
    logs = EmailLog.objects.filter(template_name=emails.SERVICE_SUSPENDED, service=service)
    assert logs.count() == (1 if sent else 0)
    service.refresh_from_db()
    assert service.status == S.SUSPENDED


def test_termination_deletes_data_as_the_product_says_and_sends_the_notice(automation):
    automation(termination_enabled=True, terminate_days=30)
    keep = overdue_service(days=30, status=S.SUSPENDED)
    wipe = overdue_service(days=30, status=S.SUSPENDED,
                           product=ProductFactory(module="fake", module_options={"delete_data_on_terminate": True}))
    run_automation(date=RUN)
    assert FakeModule.domains[keep.domain].files_kept is True
    assert FakeModule.domains[wipe.domain].files_kept is False
    assert EmailLog.objects.filter(template_name=emails.SERVICE_TERMINATED).count() == 2


def test_a_service_gets_one_action_per_pass(automation):
    automation(termination_enabled=True, terminate_days=30)
    service = overdue_service(days=45)
    run_automation(date=RUN)
    service.refresh_from_db()
    assert service.status == S.SUSPENDED
    run_automation(date=RUN)
    service.refresh_from_db()
    assert service.status == S.TERMINATED
    assert (fake_calls("suspend"), fake_calls("terminate")) == ([service.domain], [service.domain])


def test_a_service_paid_between_the_selection_and_its_claim_is_skipped(automation):
    service = overdue_service(days=5)
    plan = plan_automation(date=RUN, dry_run=False)
    Service.objects.filter(pk=service.pk).update(next_due_date=RUN + timedelta(days=20))  # a payment moved it on
    [(outcome, _)] = engine.execute([r.work_item() for r in plan.rows], date=RUN, actor=Actor.system("t"), mode="daily")
    assert outcome == "skipped"
    service.refresh_from_db()
    assert service.status == S.ACTIVE and FakeModule.calls == []


def test_an_end_of_period_cancellation_request_is_carried_out_by_the_daily_pass(automation):
    service = overdue_service(days=0, invoice=False)
    Service.objects.filter(pk=service.pk).update(next_due_date=RUN + timedelta(days=3))
    cancellation_request(service=service, cancellation_type="end_of_period", reason="moving", actor=Actor.system("t"))
    assert plan_automation(date=RUN).service_rows("cancel") == []
    plan = plan_automation(date=RUN + timedelta(days=3))
    assert [(r.action, r.rule) for r in plan.service_rows("cancel")] == [
        ("cancel", "cancellation request (end of billing period)")
    ]
    run = run_automation(date=RUN + timedelta(days=3))
    assert [r.outcome for r in run.service_rows("cancel")] == ["done"]
    service.refresh_from_db()
    assert service.status == S.CANCELLED


def test_the_every_run_pass_handles_only_overrides_and_only_in_every_run_mode(automation):
    automation(override_cron_mode="daily")
    product = ProductFactory(module="fake")
    override(product, suspend=0)
    by_override = overdue_service(days=1, product=product)
    by_global = overdue_service(days=6)
    plan = run_automation(date=RUN, mode="every_run")
    assert plan.rows == [] and "processed daily" in plan.notes[0]

    automation(override_cron_mode="every_run")
    plan = run_automation(date=RUN, mode="every_run")
    assert [r.service_id for r in plan.rows] == [by_override.pk]
    by_override.refresh_from_db()
    by_global.refresh_from_db()
    assert (by_override.status, by_global.status) == (S.SUSPENDED, S.ACTIVE)
    run_automation(date=RUN)  # the daily pass does the rest
    by_global.refresh_from_db()
    assert by_global.status == S.SUSPENDED


def test_every_decision_is_logged_with_the_rule_and_the_days(automation):
    product = ProductFactory(name="VM", module="fake")
    override(product, suspend=1)
    overdue_service(days=3, product=product)
    overdue_service(days=7)
    run_automation(date=RUN)
    logged = sorted(
        (e.data["rule"], e.data["rule_days"], e.data["days_overdue"], e.actor_label)
        for e in ActivityLog.objects.filter(action="automation.suspend")
    )
    assert logged == [("global", 5, 7, "system:automation"), ("override: product VM", 1, 3, "system:automation")]


def table_counts():
    return {model._meta.label: model.objects.count() for model in apps.get_models()}


def test_a_dry_run_changes_nothing(automation):
    automation(termination_enabled=True, terminate_days=30, client_status_update="products")
    overdue_service(days=5)
    overdue_service(days=30, status=S.SUSPENDED)
    overdue_service(days=10, module="")
    before, calls = table_counts(), list(FakeModule.calls)
    plan = run_automation(date=RUN, dry_run=True)
    assert plan.totals["suspend"] == 2 and plan.totals["terminate"] == 1
    assert {r.outcome for r in plan.rows} == {"planned"}
    assert table_counts() == before and FakeModule.calls == calls


def _many(count):
    product = ProductFactory(module="fake")
    override(product, suspend=1, terminate=10)
    for days in range(count):
        overdue_service(days=days % 12, product=product, status=S.SUSPENDED if days % 3 == 0 else S.ACTIVE)
        overdue_service(days=days % 12)


def test_the_selection_query_count_does_not_grow_with_the_number_of_services(automation):
    automation(termination_enabled=True, terminate_days=30, override_type="product")

    def queries():
        with CaptureQueriesContext(connection) as ctx:
            plan = plan_automation(date=RUN)
        return len(ctx), len(plan.rows)

    _many(3)
    few, few_rows = queries()
    _many(30)
    many, many_rows = queries()
    assert many_rows > few_rows > 0
    assert many == few


def test_the_selection_is_one_query_per_action():
    rules = Rules.load()
    with CaptureQueriesContext(connection) as ctx:
        list(due_services(rules, "suspend", RUN).values("pk"))
    assert len(ctx) == 1
    assert "next_due_date" in ctx.captured_queries[0]["sql"]


def test_a_dry_run_before_any_settings_were_saved_writes_nothing():
    overdue_service(days=5)
    before = table_counts()
    assert run_automation(date=RUN, dry_run=True).totals["suspend"] == 1  # the defaults: 5 days
    assert table_counts() == before


def test_a_batch_redelivered_after_a_crash_still_queues_the_notices_once(automation):
    """The worker died after suspending but before queueing the e-mails: the redelivered batch's claims skip
    the service, and the notice is still queued, once."""
    service = overdue_service(days=5)
    plan = plan_automation(date=RUN, dry_run=False)
    items = [r.work_item() for r in plan.rows]
    engine.act_on(items[:1], date=RUN, actor=Actor.system("t"), mode="daily")  # done; no notice yet
    assert not EmailLog.objects.exists()
    for _ in range(2):  # the redelivery, and another pass asking again
        assert engine.execute(items, date=RUN, actor=Actor.system("t"), mode="daily") == [("skipped", "")]
    assert EmailLog.objects.filter(template_name=emails.SERVICE_SUSPENDED, service=service).count() == 1
    assert fake_calls("suspend") == [service.domain]


def test_the_every_run_pass_does_not_repeat_a_permanent_error_every_five_minutes(automation):
    automation(override_cron_mode="every_run")
    product = ProductFactory(module="fake")
    override(product, suspend=0)
    temporary, permanent = overdue_service(days=1, product=product), overdue_service(days=1, product=product)
    FakeModule.domains.pop(permanent.domain)  # "does not exist on the server": permanent, needs a person
    FakeModule.fail_next("suspend", "Timeout")  # the first call (the first service): temporary
    run_automation(date=RUN, mode="every_run")
    assert {r.service_id for r in plan_automation(date=RUN, mode="every_run").rows} == {temporary.pk}
    assert {r.service_id for r in plan_automation(date=RUN).service_rows("suspend")} == {temporary.pk, permanent.pk}
