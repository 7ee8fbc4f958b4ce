"""The usage update (seed 000's UsageUpdate) against simulators over HTTP: one call per server, MB written
to each live mail service in bulk, a history row per day, one task per server, failures kept per server."""
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from billing.models import Product, Service
from portal.jobs import all_jobs
from portal.models import JobRun
from provisioning import usage
from provisioning.models import ModuleCall, UsageSample
from provisioning.modules.smartermail.simulator import SmarterMailSimulator
from provisioning.tasks import usage_update
from tests.factories import ProductFactory, ServiceFactory
from tests.provisioning.modules.smartermail.fixtures import SIM_ADMIN, SIM_PASSWORD, server_for

S = Service.Status
MB = 1024 * 1024
pytestmark = pytest.mark.django_db


def on_server(server, simulator, domain, *, mb, status=S.ACTIVE, product=None):
    """A service on `server` whose domain holds `mb` MB on the simulator."""
    service = ServiceFactory(server=server, status=status, domain=domain,
                             product=product or ProductFactory(module="smartermail"))
    simulator.seed({"domains": [{"name": domain, "size": int(mb * MB)}]})
    return service


def test_one_call_per_server_writes_every_live_mail_services_usage_in_mb(sm_server, smartermail):
    active = on_server(sm_server, smartermail, "a.example", mb=1536)
    suspended = on_server(sm_server, smartermail, "b.example", mb=Decimal("0.5"), status=S.SUSPENDED)
    terminated = on_server(sm_server, smartermail, "c.example", mb=99, status=S.TERMINATED)
    on_server(sm_server, smartermail, "UPPER.example", mb=7)
    smartermail.domain("a.example").max_size = 2048 * MB

    summary = usage.update_server_usage(server_id=sm_server.pk, run_date=date(2026, 11, 20))

    assert summary.updated == 3 and summary.missing == ()
    assert smartermail.calls_to("settings/sysadmin/domains") == 1
    active.refresh_from_db()
    assert (active.disk_usage_mb, active.disk_limit_mb) == (Decimal("1536.00"), Decimal("2048.00"))
    assert active.usage_updated_at is not None
    assert Service.objects.get(pk=suspended.pk).disk_usage_mb == Decimal("0.50")
    assert Service.objects.get(pk=terminated.pk).disk_usage_mb is None
    assert Service.objects.get(domain="UPPER.example").disk_usage_mb == Decimal("7.00")
    sample = UsageSample.objects.get(service=active)
    assert (sample.date, sample.disk_mb, sample.disk_limit_mb) == (date(2026, 11, 20), Decimal("1536.00"), Decimal("2048.00"))
    sm_server.refresh_from_db()
    assert sm_server.usage_updated_at is not None and sm_server.usage_error == ""
    assert ModuleCall.objects.get(action="usage").success


def test_services_that_are_not_mail_or_not_on_the_provider_are_left_alone(sm_server, smartermail):
    voip = on_server(sm_server, smartermail, "voip.example", mb=5, product=ProductFactory(type=Product.Type.VOIP))
    gone = ServiceFactory(server=sm_server, domain="gone.example", product=ProductFactory(module="smartermail"),
                          disk_usage_mb=Decimal("12.00"))
    summary = usage.update_server_usage(server_id=sm_server.pk)
    assert Service.objects.get(pk=voip.pk).disk_usage_mb is None
    assert Service.objects.get(pk=gone.pk).disk_usage_mb == Decimal("12.00")  # last known value kept
    assert summary.missing == ("gone.example",)
    sm_server.refresh_from_db()
    assert sm_server.usage_error == "1 live service(s) not found on the server"
    assert "gone.example" in str(summary)


def test_running_twice_the_same_day_keeps_one_history_row_with_the_latest_figure(sm_server, smartermail):
    service = on_server(sm_server, smartermail, "twice.example", mb=10)
    usage.update_server_usage(server_id=sm_server.pk, run_date=date(2026, 11, 20))
    smartermail.set_size("twice.example", 20 * MB)
    usage.update_server_usage(server_id=sm_server.pk, run_date=date(2026, 11, 20))
    usage.update_server_usage(server_id=sm_server.pk, run_date=date(2026, 11, 21))
    assert list(UsageSample.objects.filter(service=service).values_list("date", "disk_mb")) == [
        (date(2026, 11, 20), Decimal("20.00")), (date(2026, 11, 21), Decimal("20.00"))]


def test_the_number_of_queries_does_not_grow_with_the_number_of_services(sm_server, smartermail):
    def queries_for(count, prefix):
        for number in range(count):
            on_server(sm_server, smartermail, f"{prefix}{number}.example", mb=number)
        with CaptureQueriesContext(connection) as captured:
            usage.update_server_usage(server_id=sm_server.pk)
        return len(captured)

    few = queries_for(3, "few")
    many = queries_for(60, "many")
    assert many == few


def test_the_daily_task_runs_one_sub_task_per_server_and_keeps_a_failing_servers_error(db):
    healthy, broken = (SmarterMailSimulator(admin_username=SIM_ADMIN, admin_password=SIM_PASSWORD).start()
                       for _ in range(2))
    try:
        good_server = server_for(healthy, name="good")
        bad_server = server_for(broken, name="bad", password="wrong")
        first = on_server(good_server, healthy, "one.example", mb=3)
        on_server(bad_server, broken, "two.example", mb=4)

        usage_update.delay()

        first.refresh_from_db()
        assert first.disk_usage_mb == Decimal("3.00")
        bad_server.refresh_from_db()
        assert "refused the login" in bad_server.usage_error and bad_server.usage_updated_at is None
        run = JobRun.objects.get(name="usage_update")
        assert run.status == "success" and run.last_summary.startswith("2 server(s) queued")
        assert UsageSample.objects.filter(date=timezone.localdate()).count() == 1
    finally:
        healthy.stop()
        broken.stop()


def test_a_temporary_failure_leaves_the_last_figure_and_is_retried_later_by_the_broker(sm_server, smartermail,
                                                                                      monkeypatch):
    from celery.exceptions import Retry

    from provisioning.tasks import usage_update_server

    service = on_server(sm_server, smartermail, "retry.example", mb=8)
    smartermail.fail("status", path="sysadmin/domains", status=500)
    assert usage_update_server.delay(sm_server.pk, "2026-11-20").get().startswith("failed: The provider")
    service.refresh_from_db()
    assert service.disk_usage_mb is None
    assert ModuleCall.objects.filter(action="usage", success=False).count() == 1

    # On a worker (not eager) the same failure asks the broker to run the task again with backoff.
    asked = {}
    monkeypatch.setattr(usage_update_server, "retry", lambda **kw: asked.update(kw) or Retry())
    smartermail.fail("status", path="sysadmin/domains", status=500)
    usage_update_server.push_request(retries=1, is_eager=False)
    try:
        with pytest.raises(Retry):
            usage_update_server.run(sm_server.pk, "2026-11-20")
    finally:
        usage_update_server.pop_request()
    assert asked["countdown"] == 600


def test_servers_without_live_mail_services_or_disabled_are_skipped(sm_server, smartermail):
    assert usage.servers_for_usage_update() == []
    on_server(sm_server, smartermail, "x.example", mb=1)
    assert usage.servers_for_usage_update() == [sm_server.pk]
    sm_server.enabled = False
    sm_server.save()
    assert usage.servers_for_usage_update() == []


def test_the_job_is_registered_for_beat_and_the_dashboard():
    job = next(job for job in all_jobs() if job.name == "usage_update")
    assert job.task == "provisioning.tasks.usage_update"
    assert job.late_after == timedelta(hours=26)


def test_history_for_charts_is_oldest_first_and_limited_to_the_window(sm_server, smartermail):
    service = on_server(sm_server, smartermail, "chart.example", mb=1)
    today = timezone.localdate()
    for days_ago, mb in ((200, 1), (20, 5), (3, 7)):
        UsageSample.objects.create(service=service, date=today - timedelta(days=days_ago), disk_mb=mb)
    assert [mb for _, mb, _ in usage.usage_history(service, days=90)] == [Decimal("5.00"), Decimal("7.00")]
