"""The mail client area's writes against the PolarisMail simulator: the provider first, then the portal's
records, billing and the audit log — and nothing recorded when the provider refuses."""
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from billing.models import CreditLedgerEntry, Invoice, Service
from billing.pricing import service_option_values
from portal.activity import Actor
from portal.models import ActivityLog
from provisioning.mail import services
from provisioning.mail.models import MailboxRecord
from provisioning.mail.services import MailRefused
from provisioning.models import ModuleCall
from provisioning.modules.base import ModuleError, SsoTarget
from provisioning.modules.mailboxes import BrandingChanges, Dkim, Mailbox, MailboxError, Reason
from tests.factories import StaffFactory
from tests.provisioning.mail.helpers import record

pytestmark = pytest.mark.django_db


@pytest.fixture
def actor(owner):
    return Actor.client(owner.owner_user)


def test_create_records_the_mailbox_with_its_type_and_audits(mail_service, ctx_of, actor, polarismail):
    service = mail_service()
    made = services.mailbox_create(ctx_of(service), actor=actor, local_part="Sales", password="Sales-Passw0rd",
                                   name="Sales team", quota_mb=2048, mailbox_type="enhanced")
    assert (made.address, made.mailbox_type, made.quota_mb) == ("sales@shop.example", "enhanced", 2048)
    sim = polarismail.domain("shop.example").users["sales"]
    assert (sim.account_type, sim.quota_gb, sim.uname) == (2, Decimal(2), "Sales team")
    entry = ActivityLog.objects.get(action="mail.mailbox_create")
    assert entry.actor_user == actor.user and entry.client_id == service.client_id
    assert "sales@shop.example created (Enhanced)" in entry.message
    call = ModuleCall.objects.get(action="mail.mailbox_create")
    assert call.success and call.service == service
    assert "Sales-Passw0rd" not in str(call.request)


def test_a_refusal_records_nothing_but_the_failed_call(mail_service, ctx_of, actor):
    service = mail_service()
    with pytest.raises(MailboxError) as info:
        services.mailbox_create(ctx_of(service), actor=actor, local_part="info", password="Info-Passw0rd-2",
                                mailbox_type="basic")
    assert info.value.reason == Reason.TAKEN
    assert info.value.call.pk and not info.value.call.success
    assert not MailboxRecord.objects.filter(service=service).exists()
    assert not ActivityLog.objects.filter(action__startswith="mail.").exists()


def test_the_plan_count_is_enforced_per_type_before_asking_the_provider(mail_service, ctx_of, actor, polarismail):
    service = mail_service(basic=1, enhanced=1)
    record(service, "info", "basic")
    calls = polarismail.calls_to("json.php")
    with pytest.raises(MailRefused) as info:
        services.mailbox_create(ctx_of(service), actor=actor, local_part="two", password="Two-Passw0rd", mailbox_type="basic")
    assert "Your plan includes 1 basic mailbox and 1 is in use" in info.value.message
    assert "upgrade your plan under Upgrade/Downgrade (more basic mailboxes)" in info.value.message
    assert polarismail.calls_to("json.php") == calls
    services.mailbox_create(ctx_of(service), actor=actor, local_part="two", password="Two-Passw0rd", mailbox_type="enhanced")
    with pytest.raises(MailRefused, match="Your plan includes 1 enhanced mailbox and 1 is in use"):
        services.mailbox_create(ctx_of(service), actor=actor, local_part="three", password="Thr-Passw0rd",
                                mailbox_type="enhanced")


def test_changes_wait_while_the_service_is_suspended(mail_service, ctx_of, actor):
    service = mail_service()
    Service.objects.filter(pk=service.pk).update(status=Service.Status.SUSPENDED)
    with pytest.raises(MailRefused, match="suspended"):
        services.mailbox_create(ctx_of(service), actor=actor, local_part="x", password="Xx-Passw0rd1", mailbox_type="basic")
    with pytest.raises(MailRefused, match="logins are possible again"):
        services.mailbox_sso_url(ctx_of(service), actor=actor, record=record(service, "info"), target=SsoTarget.WEBMAIL)


def test_update_password_and_delete(mail_service, ctx_of, actor, polarismail):
    service = mail_service()
    info = record(service, "info")
    services.mailbox_update(ctx_of(service), actor=actor, record=info, name="Front desk", quota_mb=512, enabled=False)
    sim = polarismail.domain("shop.example").users["info"]
    assert (sim.uname, sim.quota_gb, sim.active) == ("Front desk", Decimal("0.5"), False)
    info.refresh_from_db()
    assert (info.name, info.quota_mb, info.enabled) == ("Front desk", 512, False)
    services.mailbox_set_password(ctx_of(service), actor=actor, record=info, password="Brand-N3w-Pass")
    assert sim.password == "Brand-N3w-Pass"
    services.mailbox_delete(ctx_of(service), actor=actor, record=info)
    assert "info" not in polarismail.domain("shop.example").users
    assert not MailboxRecord.objects.filter(pk=info.pk).exists()
    assert list(
        ActivityLog.objects.filter(action__startswith="mail.").values_list("action", flat=True).order_by("id")
    ) == ["mail.mailbox_update", "mail.mailbox_password", "mail.mailbox_delete"]


def test_the_services_login_mailbox_cannot_be_deleted(mail_service, ctx_of, actor, polarismail):
    service = mail_service()
    Service.objects.filter(pk=service.pk).update(username="info@shop.example")
    with pytest.raises(MailRefused, match="administers your domain"):
        services.mailbox_delete(ctx_of(service), actor=actor, record=record(service, "info"))
    assert "info" in polarismail.domain("shop.example").users


# --- the type change (seed 003's Manage) ---------------------------------------------------------------------------

def test_type_change_moves_a_plan_unit_bills_the_prorated_amount_and_changes_the_provider(
        mail_service, ctx_of, actor, polarismail):
    service = mail_service()  # 5.00 + 3 × 2.00 + 1 × 6.00 = 17.00, 15 of 30 days left
    info = record(service, "info", "basic")
    quote = services.mailbox_type_quote(ctx_of(service), record=info, to_type="enhanced")
    assert (quote.old_recurring, quote.new_recurring, quote.amount) == (
        Decimal("17.00"),
        Decimal("21.00"),
        Decimal("2.00"),
    )
    change = services.mailbox_change_type(ctx_of(service), actor=actor, record=info, to_type="enhanced",
                                          expected_amount="2.00")
    assert change.invoice.total == Decimal("2.00") and "info@shop.example" in change.invoice.items.get().description
    assert polarismail.domain("shop.example").users["info"].account_type == 2
    info.refresh_from_db()
    assert info.mailbox_type == "enhanced"
    assert service_option_values(service) == {"mailboxes_basic": 2, "mailboxes_enhanced": 2}
    assert ActivityLog.objects.filter(action="mail.mailbox_type", message__contains="from Basic to Enhanced").exists()
    # Back down: a credit.
    services.mailbox_change_type(ctx_of(service), actor=actor, record=info, to_type="basic", expected_amount="-2.00")
    assert CreditLedgerEntry.objects.get(kind=CreditLedgerEntry.Kind.PRORATION).amount == Decimal("2.00")


def test_type_change_with_a_stale_amount_changes_nothing(mail_service, ctx_of, actor, polarismail):
    service = mail_service()
    info = record(service, "info", "basic")
    with pytest.raises(ValidationError, match="amount changed to 2.00"):
        services.mailbox_change_type(ctx_of(service), actor=actor, record=info, to_type="enhanced", expected_amount="1.00")
    assert polarismail.domain("shop.example").users["info"].account_type == 1
    assert not Invoice.objects.filter(items__kind="upgrade").exists()
    assert not ModuleCall.objects.filter(action="mail.mailbox_type").exists()


def test_a_billing_refusal_after_the_provider_changed_puts_the_provider_back(
        mail_service, ctx_of, actor, polarismail, monkeypatch):
    service = mail_service()
    info = record(service, "info", "basic")

    def refuse(**kwargs):
        raise ValidationError("Billing is closed today.")

    monkeypatch.setattr(services, "change_mailbox_type", refuse)
    with pytest.raises(ValidationError, match="Billing is closed"):
        services.mailbox_change_type(ctx_of(service), actor=actor, record=info, to_type="enhanced", expected_amount="2.00")
    assert polarismail.domain("shop.example").users["info"].account_type == 1
    info.refresh_from_db()
    assert info.mailbox_type == "basic"
    assert service_option_values(service) == {"mailboxes_basic": 3, "mailboxes_enhanced": 1}


def test_a_provider_refusal_of_the_type_change_bills_nothing(mail_service, ctx_of, actor, polarismail):
    service = mail_service()
    info = record(service, "info", "basic")
    polarismail.domain("shop.example").users.pop("info")  # removed elsewhere
    with pytest.raises(MailboxError) as error:
        services.mailbox_change_type(ctx_of(service), actor=actor, record=info, to_type="enhanced", expected_amount="2.00")
    assert error.value.reason == Reason.NOT_FOUND
    assert service_option_values(service) == {"mailboxes_basic": 3, "mailboxes_enhanced": 1}
    assert not Invoice.objects.filter(items__kind="upgrade").exists()


# --- reconciliation ------------------------------------------------------------------------------------------------

def test_reconcile_follows_the_provider(mail_service, ctx_of):
    service = mail_service()
    gone = record(service, "gone", "basic")
    kept = record(service, "info", "basic", name="old")
    listed = [Mailbox(address="info@shop.example", name="Info", quota_mb=1024, used_mb=Decimal("12.5"), type="basic"),
              Mailbox(address="boss@shop.example", type="enhanced"),
              Mailbox(address="new@shop.example")]
    records = services.reconcile_mailboxes(ctx_of(service), mailboxes=listed)
    assert [(r.address, r.mailbox_type) for r in records] == [
        ("boss@shop.example", "enhanced"), ("info@shop.example", "basic"), ("new@shop.example", "basic")]
    kept.refresh_from_db()
    assert (kept.name, kept.quota_mb, kept.used_mb) == ("Info", 1024, Decimal("12.50"))
    assert not MailboxRecord.objects.filter(pk=gone.pk).exists()
    entry = ActivityLog.objects.get(action="mail.reconcile")
    assert entry.data == {"added": ["boss@shop.example", "new@shop.example"], "removed": ["gone@shop.example"]}
    services.reconcile_mailboxes(ctx_of(service), mailboxes=listed)  # nothing new: no second entry
    assert ActivityLog.objects.filter(action="mail.reconcile").count() == 1


def test_reconcile_takes_a_fixed_number_of_queries(mail_service, ctx_of):
    service = mail_service()
    ctx = ctx_of(service)
    ctx.allowance  # noqa: B018  (cached on the context, as in a request)

    def run(count):  # each run: `count` new mailboxes, the previous run's gone, one figure changed
        record(service, f"previous{count}")
        record(service, "info", used_mb=Decimal(1))
        listed = [Mailbox(address=f"u{n}-{count}@shop.example", used_mb=Decimal(n)) for n in range(count)]
        listed.append(Mailbox(address="info@shop.example", used_mb=Decimal(count)))
        with CaptureQueriesContext(connection) as queries:
            services.reconcile_mailboxes(ctx, mailboxes=listed)
        return len(queries)

    assert run(2) == run(20)


# --- the rest: aliases, forwards, lists, DKIM, branding, domain aliases, SSO ------------------------------------


def test_every_other_write_is_audited(mail_service, ctx_of, actor, polarismail):
    service = mail_service()
    ctx = ctx_of(service)
    alias = services.alias_create(ctx, actor=actor, local_part="sales", targets=["info@shop.example"])
    services.alias_update(ctx, actor=actor, alias=alias, targets=["boss@other.example"])
    services.alias_delete(ctx, actor=actor, address="sales@shop.example")
    services.forward_set(ctx, actor=actor, address="info@shop.example", targets=["me@home.example"])
    services.list_create(ctx, actor=actor, local_part="team", members=["a@x.example"])
    services.list_member_add(ctx, actor=actor, address="team@shop.example", member="b@x.example")
    services.list_member_remove(ctx, actor=actor, address="team@shop.example", member="a@x.example")
    services.list_delete(ctx, actor=actor, address="team@shop.example")
    assert services.dkim_enable(ctx, actor=actor).status == Dkim.ACTIVE
    services.dkim_disable(ctx, actor=actor)
    services.branding_set(ctx, actor=actor, changes=BrandingChanges(brand_name="Shop", support_email="", color="#ff0000",
                                                              logo=b"GIF89a" + b"\0" * 20, logo_type="image/gif"))
    services.branding_reset(ctx, actor=actor)
    services.domain_alias_add(ctx, actor=actor, name="shop.org")
    services.domain_alias_remove(ctx, actor=actor, name="shop.org")
    actions = list(
        ActivityLog.objects.filter(action__startswith="mail.").values_list("action", flat=True).order_by("id")
    )
    assert actions == ["mail.alias_create", "mail.alias_update", "mail.alias_delete", "mail.forward_set",
                       "mail.list_create", "mail.list_member_add", "mail.list_member_remove", "mail.list_delete",
                       "mail.dkim_enable", "mail.dkim_disable", "mail.branding_set", "mail.branding_reset",
                       "mail.domain_alias_add", "mail.domain_alias_remove"]
    assert polarismail.domain("shop.example").users["info"].forwards == ["me@home.example"]
    branding = ModuleCall.objects.get(action="mail.branding_set")
    assert branding.request["args"]["logo_bytes"] == 26 and branding.request["http"][-2]["body"] == "***"


def test_the_plans_domain_alias_limit(mail_service, ctx_of, actor):
    service = mail_service(domain_aliases_max=1)
    services.domain_alias_add(ctx_of(service), actor=actor, name="one.example")
    with pytest.raises(MailRefused, match="allows 1 domain alias;") as info:
        services.domain_alias_add(ctx_of(service), actor=actor, name="two.example")
    assert info.value.field == "name"


def test_sso_links_are_audited_and_never_stored(mail_service, ctx_of, actor, polarismail):
    service = mail_service()
    url = services.mailbox_sso_url(ctx_of(service), actor=actor, record=record(service, "info"), target=SsoTarget.WEBMAIL)
    assert url.startswith(polarismail.url)
    call = ModuleCall.objects.get(action="mail.sso")
    assert call.response_summary == "Login URL issued (not stored)." and url not in str(call.request)
    entry = ActivityLog.objects.get(action="mail.sso")
    assert entry.message == "Webmail login as info@shop.example." and url not in entry.message


def test_an_impersonating_staff_member_is_named_on_every_change(mail_service, ctx_of, owner):
    staff = StaffFactory()
    service = mail_service()
    services.alias_create(ctx_of(service), actor=Actor.client(owner.owner_user, impersonated_by=staff), local_part="sales",
                          targets=["info@shop.example"])
    entry = ActivityLog.objects.get(action="mail.alias_create")
    assert entry.impersonated_by == staff and entry.actor_label == f"{staff.username} as {owner.owner_user.username}"


def test_a_temporary_failure_keeps_the_call_for_staff(mail_service, ctx_of, actor, polarismail):
    service = mail_service()
    services.provider_read(ctx_of(service), "list_mailboxes", lambda: None)  # log in first
    polarismail.stop()
    with pytest.raises(ModuleError) as info:
        services.alias_create(ctx_of(service), actor=actor, local_part="sales", targets=["info@shop.example"])
    assert not info.value.permanent
    assert ModuleCall.objects.filter(action="mail.alias_create", success=False).count() == 1
