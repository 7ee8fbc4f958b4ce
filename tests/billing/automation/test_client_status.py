"""Seed 004 "Client Status Update": both modes, the 3-month boundary in the business time zone, reactivation,
closed clients, and the same daily pass that terminates a client's last service."""
from datetime import datetime, timedelta

import pytest
from django.utils import timezone

from billing.automation.client_status import login_cutoff
from billing.automation.engine import plan_automation, run_automation
from portal.models import ActivityLog, Client
from tests.billing.automation.conftest import RUN, S, overdue_service
from tests.factories import ClientFactory, ServiceFactory

pytestmark = pytest.mark.django_db
OLD = timezone.make_aware(datetime(2025, 1, 1))


def client_with(*statuses, status=Client.Status.ACTIVE, last_login=None, created=OLD):
    client = ClientFactory(status=status)
    Client.objects.filter(pk=client.pk).update(last_login_at=last_login, created_at=created)
    for service_status in statuses:
        ServiceFactory(client=client, status=service_status, next_due_date=RUN + timedelta(days=20))
    return client


def status_of(client):
    client.refresh_from_db()
    return client.status


def test_off_changes_nobody(automation):
    automation(client_status_update="off")
    lone = client_with()
    run_automation(date=RUN)
    assert status_of(lone) == Client.Status.ACTIVE


@pytest.mark.parametrize(
    "services, start, expected",
    [
        ((), "active", "inactive"),  # no products at all
        ((S.TERMINATED, S.CANCELLED), "active", "inactive"),
        ((S.ACTIVE,), "active", "active"),
        ((S.SUSPENDED,), "active", "active"),  # may still pay: only termination ends it
        ((S.PENDING,), "active", "active"),  # a new order
        ((S.ACTIVE,), "inactive", "active"),  # got an active service again
        ((S.TERMINATED,), "inactive", "inactive"),
        ((), "closed", "closed"),  # closed clients are never changed
        ((S.ACTIVE,), "closed", "closed"),
    ],
)
def test_by_active_products(automation, services, start, expected):
    automation(client_status_update="products")
    client = client_with(*services, status=start, last_login=timezone.now())  # a login does not count here
    run_automation(date=RUN)
    assert status_of(client) == expected


def test_login_cutoff_is_three_calendar_months_at_midnight_in_the_business_zone(settings):
    settings.TIME_ZONE = "America/Toronto"
    cutoff = login_cutoff(RUN)  # 2026-03-10 → 2025-12-10 00:00 Toronto
    assert timezone.localtime(cutoff).isoformat() == "2025-12-10T00:00:00-05:00"
    assert login_cutoff(datetime(2026, 5, 31).date()).date().isoformat() == "2026-02-28"


@pytest.mark.parametrize(
    "services, start, login, created, expected",
    [
        ((), "active", "recent", OLD, "active"),  # no products but logged in within 3 months
        ((), "active", "stale", OLD, "inactive"),  # no products, no login for longer than 3 months
        ((), "active", "cutoff", OLD, "active"),  # exactly 3 months: not *longer* than 3 months
        ((), "active", "before_cutoff", OLD, "inactive"),
        ((), "active", None, "recent", "active"),  # never logged in, created recently
        ((), "active", None, OLD, "inactive"),
        ((S.ACTIVE,), "active", "stale", OLD, "active"),  # products keep it active
        ((), "inactive", "recent", OLD, "active"),  # came back and logged in
        ((S.ACTIVE,), "inactive", "stale", OLD, "active"),
        ((), "inactive", "stale", OLD, "inactive"),
    ],
)
def test_by_active_products_or_a_login_within_3_months(automation, services, start, login, created, expected):
    automation(client_status_update="products_login")
    cutoff = login_cutoff(RUN)
    moments = {
        "recent": cutoff + timedelta(days=30), "stale": cutoff - timedelta(days=30), "cutoff": cutoff,
        "before_cutoff": cutoff - timedelta(seconds=1), None: None,
    }
    client = client_with(*services, status=start, last_login=moments[login],
                         created=cutoff + timedelta(days=1) if created == "recent" else created)
    run_automation(date=RUN)
    assert status_of(client) == expected


def test_changes_are_logged_and_shown_in_the_dry_run(automation):
    automation(client_status_update="products")
    leaving = client_with(S.TERMINATED)
    back = client_with(S.ACTIVE, status="inactive")
    plan = plan_automation(date=RUN)
    assert {(r.action, r.client_id) for r in plan.rows} == {("client_inactive", leaving.pk), ("client_active", back.pk)}
    run_automation(date=RUN)
    entries = {e.client_id: e for e in ActivityLog.objects.filter(action="client.status_update")}
    assert entries[leaving.pk].data["to"] == "inactive" and "no active products" in entries[leaving.pk].message
    assert entries[back.pk].data["from"] == "inactive" and entries[back.pk].data["rule"].endswith("products")


def test_a_client_whose_last_service_is_terminated_becomes_inactive_in_the_same_pass(automation):
    automation(client_status_update="products", termination_enabled=True, terminate_days=30)
    service = overdue_service(days=30, status=S.SUSPENDED)
    Client.objects.filter(pk=service.client_id).update(created_at=OLD)
    plan = plan_automation(date=RUN)  # the preview already counts the termination
    assert [r.client_id for r in plan.rows if r.action == "client_inactive"] == [service.client_id]
    run_automation(date=RUN)
    assert status_of(service.client) == Client.Status.INACTIVE
