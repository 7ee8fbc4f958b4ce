from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from billing.models import Invoice, Service
from portal.jobs import all_jobs, job_statuses
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


def test_a_job_that_never_ran_is_shown_late(client, staff_user):
    client.force_login(staff_user)
    response = client.get("/admin/")
    assert b"Never ran" in response.content
    assert b"check that the Celery worker and beat are running" in response.content


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
