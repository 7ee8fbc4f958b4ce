"""Provisioning's own admin pages: servers ("Test connection", settings validated, credentials never shown),
the retry queue (retry through the lifecycle, dismiss), and module options validated against the schema."""
import pytest
from django.urls import reverse

from billing.models import Service
from portal.activity import Actor
from portal.models import ActivityLog
from provisioning import lifecycle
from provisioning.admin_products import ProductForm
from provisioning.models import ModuleCall, Server
from provisioning.modules.base import ModuleError
from tests.factories import ProductGroupFactory
from tests.provisioning.modules.smartermail.fixtures import SIM_PASSWORD

S = Service.Status
pytestmark = pytest.mark.django_db


def messages_of(response):
    return [str(m) for m in response.context["messages"]]


def test_test_connection_button_reports_success_and_failure(admin_client, sm_server):
    url = reverse("admin:provisioning_server_test_connection", args=[sm_server.pk])
    page = admin_client.get(reverse("admin:provisioning_server_change", args=[sm_server.pk])).content.decode()
    assert "Test connection</button>" in page and SIM_PASSWORD not in page

    response = admin_client.post(url, follow=True)
    assert "Connected to SmarterMail 100.0.9000 (simulator)" in messages_of(response)[0]
    sm_server.password = "wrong"
    sm_server.save()
    response = admin_client.post(url, follow=True)
    assert "connection test failed" in messages_of(response)[-1] and "Check the username and password" in messages_of(response)[-1]
    assert [e.data["success"] for e in ActivityLog.objects.filter(action="server.test_connection").order_by("id")] == [True, False]
    assert ModuleCall.objects.filter(action="test_connection").count() == 2


def test_test_connection_is_a_bulk_action_too(admin_client, sm_server):
    response = admin_client.post(reverse("admin:provisioning_server_changelist"),
                                 {"action": "test_connection", "_selected_action": [sm_server.pk]}, follow=True)
    assert "Connected to SmarterMail" in messages_of(response)[0]


def test_server_settings_are_validated_against_the_modules_schema(admin_client):
    data = {"name": "sm1", "module": "smartermail", "hostname": "mail.example.net", "use_tls": "on",
            "verify_tls": "on", "capacity": 0, "enabled": "on", "username": "admin", "password": "pw",
            "settings": '{"read_timeout": 0}', "api_token": ""}
    response = admin_client.post(reverse("admin:provisioning_server_add"), data)
    assert "Option read_timeout: must be at least 1." in response.content.decode()
    data["settings"] = '{"read_timeout": 45}'
    response = admin_client.post(reverse("admin:provisioning_server_add"), data)
    assert response.status_code == 302
    server = Server.objects.get(name="sm1")
    assert server.settings == {"api_path": "/api/v1/", "connect_timeout": 5, "read_timeout": 45}
    assert server.password == "pw"


def failed_create(sm_service, smartermail, *, failures=1):
    """A Pending service whose Create failed with a 500 (`failures` times in a row): queued for retry."""
    service = sm_service()
    smartermail.fail("status", path="domain-put", status=500, times=failures)
    with pytest.raises(ModuleError):
        lifecycle.service_create(service=service, actor=Actor.system("order"))
    return service


def test_the_retry_queue_retries_through_the_lifecycle_and_dismisses(admin_client, sm_service, smartermail, admin_user):
    service = failed_create(sm_service, smartermail)
    queue = reverse("admin:provisioning_retryqueueentry_changelist")
    page = admin_client.get(queue).content.decode()
    assert service.domain in page and "temporary" in page
    call = ModuleCall.objects.get(awaiting_retry=True)

    response = admin_client.post(queue, {"action": "retry", "_selected_action": [call.pk]}, follow=True)
    assert messages_of(response) == [f"Create of {service.domain} done."]
    service.refresh_from_db()
    assert service.status == S.ACTIVE and smartermail.domain(service.domain) is not None
    assert not ModuleCall.objects.filter(awaiting_retry=True).exists()
    assert ActivityLog.objects.get(action="service.create").actor_user == admin_user


def test_a_retried_suspend_keeps_its_reason(admin_client, sm_service, smartermail):
    service = sm_service()
    lifecycle.service_create(service=service, actor=Actor.system("order"))
    smartermail.fail("status", path="domain-settings", status=500)
    with pytest.raises(ModuleError):
        lifecycle.service_suspend(service=service, actor=Actor.system("automation"), reason="overdue")
    call = ModuleCall.objects.get(awaiting_retry=True)
    admin_client.post(reverse("admin:provisioning_retryqueueentry_changelist"),
                      {"action": "retry", "_selected_action": [call.pk]})
    service.refresh_from_db()
    assert (service.status, service.suspend_reason) == (S.SUSPENDED, "overdue")
    assert not smartermail.domain(service.domain).is_enabled


def test_retrying_an_action_already_done_another_way_just_clears_it(admin_client, sm_service, smartermail):
    service = failed_create(sm_service, smartermail)
    call = ModuleCall.objects.get(awaiting_retry=True)
    Service.objects.filter(pk=service.pk).update(status=S.ACTIVE)  # e.g. provisioned by hand and marked so
    response = admin_client.post(reverse("admin:provisioning_retryqueueentry_changelist"),
                                 {"action": "retry", "_selected_action": [call.pk]}, follow=True)
    assert "already Active; removed from the queue" in messages_of(response)[0]
    assert not ModuleCall.objects.filter(awaiting_retry=True).exists()
    assert smartermail.calls_to("domain-put") == 1


def test_a_retry_that_fails_again_stays_queued_and_dismiss_removes_it(admin_client, sm_service, smartermail):
    failed_create(sm_service, smartermail, failures=2)
    queue = reverse("admin:provisioning_retryqueueentry_changelist")
    call = ModuleCall.objects.get(awaiting_retry=True)
    response = admin_client.post(queue, {"action": "retry", "_selected_action": [call.pk]}, follow=True)
    assert "failed again" in messages_of(response)[0]
    assert ModuleCall.objects.filter(awaiting_retry=True).count() == 2
    ids = list(ModuleCall.objects.filter(awaiting_retry=True).values_list("pk", flat=True))
    response = admin_client.post(queue, {"action": "dismiss", "_selected_action": ids}, follow=True)
    assert messages_of(response) == ["Dismissed 2 entries."]
    assert ActivityLog.objects.filter(action="modulecall.dismiss").count() == 2


def test_a_password_change_is_not_replayed_from_the_queue(admin_client, sm_service, smartermail):
    service = sm_service()
    lifecycle.service_create(service=service, actor=Actor.system("order"))
    smartermail.fail("status", path="post-user", status=500)
    with pytest.raises(ModuleError):
        lifecycle.service_change_password(service=service, actor=Actor.system("x"), new_password="Some-Pass-123")
    call = ModuleCall.objects.get(awaiting_retry=True)
    response = admin_client.post(reverse("admin:provisioning_retryqueueentry_changelist"),
                                 {"action": "retry", "_selected_action": [call.pk]}, follow=True)
    assert "new password is not kept" in messages_of(response)[0]


def product_data(**changes):
    return {"group": ProductGroupFactory().pk, "name": "Mail Pro", "type": "mail", "module": "smartermail",
            "module_options": "{}", "auto_accept_on_payment": "on", "sort_order": 0,
            "created_at": "2026-01-01 00:00:00", **changes}


def test_product_options_are_validated_with_messages_naming_option_and_number():
    form = ProductForm(data=product_data(module_options='{"7": -1, "storage_path": "relative"}'))
    assert not form.is_valid()
    assert form.errors["module_options"] == [
        "Option 7 (max_users): must be at least 0.",
        "Option 5 (storage_path): 'relative' is not an absolute path (/… on Linux, C:\\… on Windows).",
    ]


def test_valid_product_options_are_stored_complete_under_their_names():
    form = ProductForm(data=product_data(module_options='{"configoption8": "yes", "max_users": "25"}'))
    assert form.is_valid(), form.errors
    product = form.save()
    assert product.module_options[lifecycle.DELETE_DATA_OPTION] is True
    assert product.module_options["max_users"] == 25 and len(product.module_options) == 23


def test_a_product_without_module_keeps_its_options_unchecked():
    form = ProductForm(data=product_data(module="", module_options='{"anything": 1}'))
    assert form.is_valid(), form.errors
