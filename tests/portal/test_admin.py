"""Every model is registered in the staff area, and its pages open for a superuser with data present, in a
number of queries that does not grow with the number of rows."""
import pytest
from django.contrib import admin
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from billing.models import Service
from config import demo
from portal.activity import Actor, log_activity
from portal.models import ActivityLog
from provisioning.modules.fake import FakeModule
from tests.factories import InvoiceFactory, ProductFactory, ServiceFactory

pytestmark = pytest.mark.django_db

DOMAIN_MODELS = {
    "portal.client", "portal.activitylog", "portal.jobrun", "portal.sentemail", "billing.productgroup", "billing.product",
    "billing.service", "billing.invoice", "billing.payment", "billing.creditledgerentry", "billing.emailtemplate",
    "billing.automationsettings", "billing.overwriterule", "billing.billableitem", "provisioning.server", "provisioning.servergroup",
    "provisioning.modulecall",
}


def registered():
    return {f"{m._meta.app_label}.{m._meta.model_name}": m for m in admin.site._registry}


def test_every_domain_model_is_registered():
    assert DOMAIN_MODELS <= set(registered())


@pytest.fixture
def demo_data():
    demo.load_demo()


@pytest.mark.parametrize("label", sorted(DOMAIN_MODELS))
def test_changelist_and_change_page_open(client, staff_user, demo_data, label):
    model = registered()[label]
    client.force_login(staff_user)
    opts = model._meta
    assert client.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist"), follow=True).status_code == 200
    obj = model.objects.first()
    if obj is not None:
        url = reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk])
        assert client.get(url).status_code == 200


@pytest.mark.parametrize("label", ["portal.client", "billing.service", "billing.invoice", "portal.activitylog"])
def test_changelist_queries_do_not_grow_with_rows(client, staff_user, label):
    opts = registered()[label]._meta
    url = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
    client.force_login(staff_user)

    def queries():
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(url).status_code == 200
        return len(ctx)

    def add(rows):
        for service in ServiceFactory.create_batch(rows):
            InvoiceFactory(client=service.client)
            log_activity(actor=Actor.system("t"), action="x", target=service, message="m")

    add(1)  # one row at least: a page's related rows come in one query each (portal.admin_paging)
    few = queries()
    add(15)
    assert queries() == few


def test_suspend_action_runs_the_lifecycle_and_reports_each_failure(client, staff_user):
    ok = ServiceFactory(product=ProductFactory(module=""), status=Service.Status.ACTIVE)
    not_allowed = ServiceFactory(status=Service.Status.PENDING, domain="pending.example")
    client.force_login(staff_user)
    response = client.post(
        reverse("admin:billing_service_changelist"),
        {"action": "suspend_manually", "_selected_action": [ok.pk, not_allowed.pk]},
        follow=True,
    )
    texts = [str(m) for m in response.context["messages"]]
    assert "Suspended 1 service(s)." in texts
    assert "Cannot suspend pending.example: the service is Pending." in texts
    ok.refresh_from_db()
    not_allowed.refresh_from_db()
    assert (ok.status, ok.suspend_reason, not_allowed.status) == ("suspended", "manual", "pending")
    assert ActivityLog.objects.get(action="service.suspend").actor_user == staff_user
    assert FakeModule.calls == []


def test_service_status_and_password_cannot_be_edited_in_the_form(client, staff_user):
    service = ServiceFactory(password="hidden-pass")
    client.force_login(staff_user)
    page = client.get(reverse("admin:billing_service_change", args=[service.pk]))
    form = page.context["adminform"].form
    assert "status" not in form.fields and "password" not in form.fields
    assert b"hidden-pass" not in page.content


def test_activity_log_is_read_only_in_the_admin(client, staff_user):
    entry = log_activity(actor=Actor.system("t"), action="x", message="kept")
    client.force_login(staff_user)
    assert client.post(reverse("admin:portal_activitylog_delete", args=[entry.pk]), {"post": "yes"}).status_code == 403
    assert ActivityLog.objects.filter(pk=entry.pk).exists()
