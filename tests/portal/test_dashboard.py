from datetime import datetime, time, timedelta

import pytest
from celery import signals
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from billing.models import AutomationSettings, Invoice, Service
from portal.jobs import BEAT_STARTED_ROW, all_jobs, job_statuses, record_beat_start
from portal.models import Client, JobRun
from tests.factories import ClientFactory, InvoiceFactory, ServiceFactory, StaffFactory

pytestmark = pytest.mark.django_db


def test_staff_dashboard_shows_clients_services_by_status_and_overdue_invoices(client, staff_user):
    today = timezone.localdate()
    active = ClientFactory()
    ClientFactory(status=Client.Status.INACTIVE)
    ServiceFactory.create_batch(2, client=active, status=Service.Status.ACTIVE)
    ServiceFactory(client=active, status=Service.Status.SUSPENDED)
    InvoiceFactory(client=active, status=Invoice.Status.UNPAID, due_date=today - timedelta(days=3), total="40.00")
    InvoiceFactory(client=active, status=Invoice.Status.UNPAID, due_date=today, total="99.00")  # due today: not overdue
    InvoiceFactory(client=active, status=Invoice.Status.PAID, due_date=today - timedelta(days=3))
    client.force_login(staff_user)
    response = client.get("/admin/")
    board = response.context["dashboard"]
    assert board["active_clients"] == 1
    assert dict(board["services_by_status"]) == {"Pending": 0, "Active": 2, "Suspended": 1, "Terminated": 0, "Cancelled": 0}
    assert board["overdue_invoices"]["count"] == 1 and board["overdue_invoices"]["amount"] == 40
    assert b"Automation status" in response.content


def test_staff_dashboard_query_count_does_not_grow_with_data(client, staff_user):
    client.force_login(staff_user)

    def queries():
        with CaptureQueriesContext(connection) as ctx:
            client.get("/admin/")
        return len(ctx)

    baseline = queries()
    ServiceFactory.create_batch(25)
    InvoiceFactory.create_batch(25, due_date=timezone.localdate() - timedelta(days=1))
    assert queries() == baseline


def test_without_a_recorded_beat_start_a_job_that_never_ran_is_an_alarm(client, staff_user):
    client.force_login(staff_user)
    response = client.get("/admin/")
    assert b"Never ran" in response.content
    assert b"No start of Celery beat has been recorded: check that the Celery worker and beat are running." in response.content


def at(text):
    return timezone.make_aware(datetime.fromisoformat(text))


def status_of(name, now):
    [status] = [s for s in job_statuses(now) if s.job.name == name]
    return status


def test_after_beat_starts_a_job_that_never_ran_is_not_due_until_its_first_scheduled_time():
    record_beat_start(at("2026-03-10 13:49"))
    heartbeat = status_of("heartbeat", at("2026-03-10 13:49:30"))
    assert (heartbeat.state, heartbeat.alarm, heartbeat.state_label) == ("not_due", False, "Not due yet — first run at 13:50")
    assert heartbeat.hint == ""
    invoices = status_of("invoice_generation", at("2026-03-10 13:49:30"))  # daily at 06:00
    assert invoices.state_label == "Not due yet — first run at 2026-03-11 06:00"
    postpaid = status_of("voip_usage_invoicing", at("2026-03-10 13:49:30"))  # the 1st of the month at 05:00
    assert postpaid.state_label == "Not due yet — first run at 2026-04-01 05:00"


def test_the_daily_automation_pass_first_runs_at_the_configured_time_or_at_once_if_it_has_passed():
    settings = AutomationSettings.load()
    settings.daily_run_time = time(9, 0)
    settings.save()
    record_beat_start(at("2026-03-10 07:12"))
    assert status_of("automation_daily", at("2026-03-10 07:13")).state_label == "Not due yet — first run at 09:00"
    record_beat_start(at("2026-03-10 13:49"))
    assert status_of("automation_daily", at("2026-03-10 13:49:30")).state_label == "Not due yet — first run at 13:50"
    late = status_of("automation_daily", at("2026-03-10 15:51"))  # 13:50 + 2 hours' grace
    assert (late.state, late.alarm) == ("never_ran", True)


def test_a_job_that_never_ran_is_red_only_once_its_first_due_time_and_grace_have_passed():
    record_beat_start(at("2026-03-10 13:49"))
    # The heartbeat (every 5 minutes, late after 15) first runs at 13:50; its grace is 15 - 5 = 10 minutes.
    within = status_of("heartbeat", at("2026-03-10 14:00"))
    assert (within.state, within.alarm, within.state_label) == ("not_due", False, "Starting — first run was due at 13:50")
    overdue = status_of("heartbeat", at("2026-03-10 14:00:01"))
    assert (overdue.state, overdue.alarm, overdue.state_label) == ("never_ran", True, "Never ran")
    assert overdue.hint == "Its first run was due at 13:50 and has not happened: check that the Celery worker and beat are running."
    # A daily job at 06:00, late after 26 hours: red two hours after its first due time.
    assert status_of("invoice_generation", at("2026-03-11 08:00")).state == "not_due"
    assert status_of("invoice_generation", at("2026-03-11 08:00:01")).state == "never_ran"


def test_celery_beat_start_is_recorded_by_the_beat_init_signal():
    signals.beat_init.send(sender=None)
    assert JobRun.objects.get(name=BEAT_STARTED_ROW).last_started_at >= timezone.now() - timedelta(minutes=1)


def test_the_dashboard_shows_a_job_not_yet_due_without_an_alarm(client, staff_user):
    record_beat_start()
    client.force_login(staff_user)
    response = client.get("/admin/")
    content = response.content.decode()
    assert "Not due yet — first run at" in content
    assert "Never ran" not in content and "check that the Celery worker" not in content


def test_job_status_is_ok_after_a_recent_success_and_late_after_its_window():
    now = timezone.now()
    heartbeat = next(job for job in all_jobs() if job.name == "heartbeat")
    JobRun.objects.create(name="heartbeat", status="success", last_started_at=now, last_success_at=now)
    [status] = [s for s in job_statuses(now) if s.job.name == "heartbeat"]
    assert (status.late, status.failed, status.state_label) == (False, False, "OK")
    later = now + heartbeat.late_after + timedelta(seconds=1)
    [status] = [s for s in job_statuses(later) if s.job.name == "heartbeat"]
    assert (status.late, status.state_label) == (True, "Late")


def test_a_failed_last_run_is_flagged():
    now = timezone.now()
    JobRun.objects.create(name="heartbeat", status="failed", last_started_at=now, last_success_at=now, last_error="boom")
    [status] = [s for s in job_statuses(now) if s.job.name == "heartbeat"]
    assert (status.failed, status.state_label) == (True, "Last run failed")


def test_non_staff_cannot_open_the_staff_area(client, owner):
    client.force_login(owner.owner_user)
    response = client.get("/admin/")
    assert response.status_code == 302 and response["Location"].startswith("/admin/login/")


def test_staff_without_permissions_sees_the_dashboard_but_no_models(client):
    client.force_login(StaffFactory())
    response = client.get("/admin/")
    assert response.status_code == 200
    assert response.context["app_list"] == []
