"""Change package: the provider follows a service's product and options (upgrade/downgrade, staff change). The
modules against their simulators (values changed on the provider), the lifecycle transition (audit, retry
queue), the admin button, and an upgrade from the client area end to end."""
from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from billing.models import Invoice, Service
from billing.services.payments import payment_record
from portal.activity import Actor
from portal.models import ActivityLog
from provisioning import lifecycle, services
from provisioning.models import ModuleCall
from provisioning.modules.base import ModuleError, ServiceRef, planned_mailboxes
from provisioning.modules.fake import FakeModule
from provisioning.modules.polarismail.options import PRODUCT_OPTIONS as PM_OPTIONS
from provisioning.modules.smartermail.options import PRODUCT_OPTIONS as SM_OPTIONS
from provisioning.modules.voip_common import VoipModule
from provisioning.registry import get_module
from tests.factories import ProductFactory, ServiceFactory, StaffFactory
from tests.provisioning.mail.helpers import paid_period, set_mailboxes
from tests.provisioning.modules.polarismail.fixtures import pm_live, pm_server, pm_service, polarismail  # noqa: F401
from tests.provisioning.modules.smartermail.fixtures import SERVICE_PASSWORD

S = Service.Status
pytestmark = pytest.mark.django_db
ACTOR = Actor.system("test")


def sm_product(**options):
    return ProductFactory(module="smartermail", module_options=SM_OPTIONS.clean(options))


def switch_product(service, product):
    """What billing's change does to the service row (the portal side), without the provider call."""
    Service.objects.filter(pk=service.pk).update(product=product)
    service.refresh_from_db()
    return service


@pytest.fixture
def sm_active(sm_service):
    def make(**options):
        service = sm_service(**options)
        lifecycle.service_create(service=service, actor=ACTOR)
        service.refresh_from_db()
        ModuleCall.objects.all().delete()
        ActivityLog.objects.all().delete()
        return service

    return make


# --- the modules over their simulators ---------------------------------------------------------------------

def test_smartermail_change_package_sets_the_new_products_user_limit_ip_and_domain_aliases(sm_active, smartermail):
    service = sm_active(max_users=5, outbound_ip="192.0.2.1")
    assert smartermail.domain(service.domain).user_limit == 5
    switch_product(service, sm_product(max_users=20, outbound_ip="192.0.2.9", domain_aliases_allowed=False))

    lifecycle.service_change_package(service=service, actor=ACTOR)

    domain = smartermail.domain(service.domain)
    assert (domain.user_limit, domain.outgoing_ip, domain.domain_alias_count) == (20, "192.0.2.9", -1)
    assert domain.is_enabled and domain.users["admin"].password == SERVICE_PASSWORD  # nothing else touched
    call = ModuleCall.objects.get()
    assert (call.action, call.success, call.awaiting_retry) == ("change_package", True, False)
    assert call.response_summary == (f"Updated {service.domain} on 127.0.0.1: 20 users, no domain aliases, sending "
                                     "from 192.0.2.9.")
    entry = ActivityLog.objects.get()
    assert (entry.action, entry.data) == ("service.change_package", {"from": "active", "to": "active"})
    assert Service.objects.get(pk=service.pk).status == S.ACTIVE


def test_smartermail_user_limit_is_the_plans_mailboxes_when_it_sells_them_and_blank_ip_is_the_default(
    sm_active, smartermail
):
    service = sm_active(max_users=5, outbound_ip="192.0.2.1", domain_aliases_max=3)
    set_mailboxes(service, basic=3, enhanced=4)
    lifecycle.service_change_package(service=service, actor=ACTOR)
    domain = smartermail.domain(service.domain)
    assert (domain.user_limit, domain.outgoing_ip, domain.domain_alias_count) == (7, "192.0.2.1", 3)

    switch_product(service, sm_product(max_users=5))  # another product: its options are read afresh
    lifecycle.service_change_package(service=service, actor=ACTOR)
    domain = smartermail.domain(service.domain)
    assert (domain.user_limit, domain.outgoing_ip, domain.domain_alias_count) == (7, "", 5)


def test_smartermail_change_package_works_on_a_suspended_domain_and_keeps_it_disabled(sm_active, smartermail):
    service = sm_active(max_users=5)
    lifecycle.service_suspend(service=service, actor=ACTOR, reason=Service.SuspendReason.MANUAL)
    switch_product(service, sm_product(max_users=9))
    lifecycle.service_change_package(service=service, actor=ACTOR)
    domain = smartermail.domain(service.domain)
    assert (domain.user_limit, domain.is_enabled) == (9, False)
    assert Service.objects.get(pk=service.pk).status == S.SUSPENDED


def test_smartermail_missing_domain_fails_permanently_into_the_retry_queue_and_the_log(sm_active, smartermail):
    service = sm_active(max_users=5)
    smartermail.reset()
    with pytest.raises(ModuleError, match="does not exist on the SmarterMail server"):
        lifecycle.service_change_package(service=service, actor=ACTOR)
    call = ModuleCall.objects.get()
    assert (call.action, call.success, call.awaiting_retry, call.permanent_error) == (
        "change_package", False, True, True)
    entry = ActivityLog.objects.get()
    assert entry.action == "service.change_package_failed"
    assert entry.data == {"status": "active", "permanent": True}
    assert Service.objects.get(pk=service.pk).status == S.ACTIVE


def test_polarismail_single_type_plan_changes_other_types_keeping_names_and_quotas(pm_live, polarismail):
    service = pm_live(users=[
        {"username": "ann", "password": "Passw0rd-1", "account_type": 1, "quota_gb": "5", "uname": "Ann"},
        {"username": "bob", "password": "Passw0rd-2", "account_type": 2, "quota_gb": "10", "uname": "Bob"},
    ])
    switch_product(service, ProductFactory(module="polarismail",
                                           module_options=PM_OPTIONS.clean({"default_account_type": "enhanced"})))
    lifecycle.service_change_package(service=service, actor=ACTOR)

    users = polarismail.domain(service.domain).users
    assert [(u.username, u.account_type, u.quota_gb, u.uname) for u in users.values()] == [
        ("ann", 2, Decimal("5"), "Ann"), ("bob", 2, Decimal("10"), "Bob")]
    call = ModuleCall.objects.get(action="change_package")
    assert call.response_summary == f"Changed 1 mailbox(es) of {service.domain} to enhanced: ann@{service.domain}."
    lifecycle.service_change_package(service=service, actor=ACTOR)  # again: nothing left to do
    assert ModuleCall.objects.filter(action="change_package").first().response_summary == (
        f"Every mailbox of {service.domain} is already enhanced; nothing to change.")


def test_polarismail_typed_plan_changes_no_mailbox_and_names_types_over_the_plan(pm_live, polarismail):
    service = pm_live(users=[
        {"username": "ann", "password": "Passw0rd-1", "account_type": 2},
        {"username": "bob", "password": "Passw0rd-2", "account_type": 2},
    ])
    set_mailboxes(service, basic=3, enhanced=1)
    lifecycle.service_change_package(service=service, actor=ACTOR)
    assert [u.account_type for u in polarismail.domain(service.domain).users.values()] == [2, 2]
    assert ModuleCall.objects.get(action="change_package").response_summary == (
        f"Nothing to change on PolarisMail for {service.domain} (no domain limits; the portal applies the plan's "
        "mailbox counts). More mailboxes than the plan pays for: 2 enhanced (the plan has 1).")


def test_polarismail_unknown_domain_is_a_permanent_error(pm_service):
    service = pm_service(status=S.ACTIVE, domain="gone.example")
    with pytest.raises(ModuleError, match="Domain does not exist") as caught:
        lifecycle.service_change_package(service=service, actor=ACTOR)
    assert caught.value.permanent and ModuleCall.objects.get().awaiting_retry


@pytest.mark.parametrize("key", ["vodia", "lesnet", "fusionpbx"])
def test_voip_modules_have_nothing_to_change_on_the_provider(key):
    module = get_module(key)
    assert isinstance(module, VoipModule)
    # No server and no identifiers: proof that no provider call is attempted.
    result = module.change_package(ServiceRef(id=1, domain="pbx.example"))
    assert result.message == "Nothing to change on the provider: rates and limits are applied by the portal."
    assert result.module_data == {}


def test_planned_mailboxes_reads_typed_then_legacy_options():
    assert planned_mailboxes({"mailboxes_basic": 3, "mailboxes_enhanced": 0, "other": "x"}) == {
        "basic": 3, "enhanced": 0}
    assert planned_mailboxes({"mailboxes": 4, "mailbox_type": "basic"}) == {"": 4}
    assert planned_mailboxes({"disk": "10gb"}) is None


# --- the lifecycle transition ------------------------------------------------------------------------------

def fake_live(status=S.ACTIVE):
    service = ServiceFactory(status=S.PENDING, product=ProductFactory(module="fake", module_options={"a": 1}))
    lifecycle.service_create(service=service, actor=ACTOR)
    if status == S.SUSPENDED:
        lifecycle.service_suspend(service=service, actor=ACTOR, reason=Service.SuspendReason.MANUAL)
    FakeModule.calls.clear()
    ModuleCall.objects.all().delete()
    ActivityLog.objects.all().delete()
    return service


def test_change_package_passes_the_current_product_and_options_and_keeps_the_status():
    service = fake_live(S.SUSPENDED)
    switch_product(service, ProductFactory(module="fake", module_options={"a": 2}))
    set_mailboxes(service, basic=2)
    lifecycle.service_change_package(service=service, actor=ACTOR)
    assert FakeModule.calls == [("change_package", service.domain)]
    # every mailbox option of the product, as the units it gives (one not chosen at its default)
    assert FakeModule.domains[service.domain].options == {
        "product": {"a": 2}, "config": {"mailboxes_basic": 2, "mailboxes_enhanced": 0}}
    service.refresh_from_db()
    assert (service.status, service.suspend_reason) == (S.SUSPENDED, Service.SuspendReason.MANUAL)
    assert ActivityLog.objects.get().message.startswith(f"{service.domain}: change package done. Package of")


@pytest.mark.parametrize("status", [S.PENDING, S.TERMINATED, S.CANCELLED])
def test_change_package_is_refused_unless_the_service_is_live(status):
    service = ServiceFactory(status=status, product=ProductFactory(module="fake"))
    with pytest.raises(lifecycle.InvalidTransition, match="Cannot change the package of"):
        lifecycle.service_change_package(service=service, actor=ACTOR)
    assert (FakeModule.calls, ModuleCall.objects.count(), ActivityLog.objects.count()) == ([], 0, 0)


def test_a_product_without_module_changes_nothing_on_a_provider():
    service = ServiceFactory(status=S.ACTIVE)
    lifecycle.service_change_package(service=service, actor=ACTOR)
    assert ModuleCall.objects.count() == 0
    assert ActivityLog.objects.get().action == "service.change_package"


def test_a_failed_change_package_waits_in_the_retry_queue_and_a_retry_clears_it():
    service = fake_live()
    FakeModule.fail_next("change_package", "Provider busy")
    with pytest.raises(ModuleError, match="Provider busy"):
        lifecycle.service_change_package(service=service, actor=ACTOR)
    failed = ModuleCall.objects.get(awaiting_retry=True)
    assert (failed.action, failed.permanent_error) == ("change_package", False)
    assert ActivityLog.objects.get().message == f"Could not change the package of {service.domain}: Provider busy"

    assert services.module_call_retry(call=failed, actor=ACTOR) == f"Change package of {service.domain} done."
    assert not ModuleCall.objects.filter(awaiting_retry=True).exists()
    assert [c for c in FakeModule.calls] == [("change_package", service.domain)] * 2


# --- the admin button ---------------------------------------------------------------------------------------

def lifecycle_url(service, action):
    return reverse("admin:billing_service_lifecycle", args=[service.pk, action])


def test_the_admin_button_needs_its_permission_and_applies_the_package(client, sm_active, smartermail):
    service = sm_active(max_users=5)
    switch_product(service, sm_product(max_users=11))
    clerk = StaffFactory()
    clerk.user_permissions.add(*Permission.objects.filter(codename__in=["change_service", "view_service"]))
    client.force_login(clerk)
    page = client.get(reverse("admin:billing_service_change", args=[service.pk])).content.decode()
    assert ">Change package</button>" not in page
    assert client.post(lifecycle_url(service, "change-package")).status_code == 403
    assert smartermail.domain(service.domain).user_limit == 5 and ModuleCall.objects.count() == 0

    clerk.user_permissions.add(Permission.objects.get(codename="change_package_service"))
    clerk = type(clerk).objects.get(pk=clerk.pk)
    client.force_login(clerk)
    assert ">Change package</button>" in client.get(reverse("admin:billing_service_change", args=[service.pk])).content.decode()
    response = client.post(lifecycle_url(service, "change-package"), follow=True)
    assert [str(m) for m in response.context["messages"]] == [
        f"Package of {service.domain} applied on the provider ({service.product})."]
    assert smartermail.domain(service.domain).user_limit == 11
    assert ActivityLog.objects.get(action="service.change_package").actor_label == clerk.username
    assert client.get(lifecycle_url(service, "change-package")).status_code == 405


def test_the_admin_button_reports_a_provider_failure(admin_client, sm_active, smartermail):
    service = sm_active(max_users=5)
    smartermail.reset()
    response = admin_client.post(lifecycle_url(service, "change-package"), follow=True)
    [message] = [str(m) for m in response.context["messages"]]
    assert "does not exist on the SmarterMail server" in message and "This needs a person" in message


# --- an upgrade, end to end -----------------------------------------------------------------------------------

def test_an_upgrade_from_the_client_area_changes_the_providers_limits_and_its_invoice_is_paid(
    client, owner, sm_active, smartermail, django_capture_on_commit_callbacks
):
    service = sm_active(max_users=0)
    Service.objects.filter(pk=service.pk).update(client=owner)
    set_mailboxes(service, basic=2, enhanced=1)
    paid_period(service)
    assert smartermail.domain(service.domain).user_limit == 0  # created before the plan had mailbox options
    client.force_login(owner.owner_user)
    url = reverse("clientarea:service_change", args=[service.pk])
    form = {"product": service.product_id, "option_mailboxes_basic": 5, "option_mailboxes_enhanced": 1}
    quote = client.post(url, {**form, "action": "quote"})
    amount = quote.context["quote"].amount
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, {**form, "action": "confirm", "expected_amount": str(amount)})
    invoice = Invoice.objects.get(client=owner, status=Invoice.Status.UNPAID)
    assert response["Location"] == reverse("clientarea:invoice", args=[invoice.pk])
    # The change takes effect when its invoice is paid (the product's default): the provider is not touched yet.
    assert smartermail.domain(service.domain).user_limit == 0
    assert not ModuleCall.objects.filter(action="change_package").exists()

    with django_capture_on_commit_callbacks(execute=True):
        payment_record(invoice=invoice, amount=invoice.total, transaction_id="upgrade-1", actor=ACTOR)
    invoice.refresh_from_db()
    service.refresh_from_db()
    assert invoice.status == Invoice.Status.PAID and service.status == S.ACTIVE
    assert smartermail.domain(service.domain).user_limit == 6
    call = ModuleCall.objects.get(action="change_package")  # once, on payment
    assert call.success and "6 users" in call.response_summary
    entry = ActivityLog.objects.get(action="service.change_package")
    assert entry.actor_label == ACTOR.label  # the payment's actor applies it


def test_a_provider_failure_never_undoes_the_change_and_is_queued(sm_active, smartermail,
                                                                   django_capture_on_commit_callbacks):
    from billing.services.changes import change_apply

    service = sm_active(max_users=0)
    set_mailboxes(service, basic=2)
    paid_period(service)
    smartermail.reset()
    with django_capture_on_commit_callbacks(execute=True):
        result = change_apply(service=service, option_values={"mailboxes_basic": 1}, actor=ACTOR)
    assert result.credit is not None
    assert Service.objects.get(pk=service.pk).recurring_amount == Decimal("7.00")
    assert ModuleCall.objects.get(action="change_package").awaiting_retry
    assert ActivityLog.objects.filter(action="service.change_package_failed").count() == 1


def admin_form_data(response):
    """The service change form as the page rendered it, ready to post back."""
    data = {}
    form = response.context["adminform"].form
    for name, field in form.fields.items():
        value = form[name].value()
        if value is None:
            continue
        data[name] = [str(v) for v in value] if isinstance(value, (list, tuple)) else str(value)
    for inline in response.context["inline_admin_formsets"]:
        formset = inline.formset
        for key, value in formset.management_form.initial.items():
            data[f"{formset.prefix}-{key}"] = value
        for index, subform in enumerate(formset.forms):
            for name in subform.fields:
                value = subform[name].value()
                if value is not None:
                    data[f"{formset.prefix}-{index}-{name}"] = str(value)
    return data


def test_saving_a_new_product_in_the_admin_reminds_staff_to_change_the_package(admin_client, sm_active, smartermail):
    service = sm_active(max_users=5)
    url = reverse("admin:billing_service_change", args=[service.pk])
    data = admin_form_data(admin_client.get(url))
    bigger = sm_product(max_users=12)
    unchanged = admin_client.post(url, data, follow=True)
    assert not any("Change package" in str(m) for m in unchanged.context["messages"])
    response = admin_client.post(url, {**data, "product": str(bigger.pk)}, follow=True)
    messages = [str(m) for m in response.context["messages"]]
    assert (f"The product or options of {service.domain} changed in the portal only: use Change package to apply "
            "them on the provider.") in messages
    assert Service.objects.get(pk=service.pk).product == bigger
    assert smartermail.domain(service.domain).user_limit == 5  # not automatic
    assert not ModuleCall.objects.filter(action="change_package").exists()
