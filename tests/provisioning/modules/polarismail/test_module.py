"""The PolarisMail module over real HTTP against its simulator: the lifecycle through provisioning.lifecycle,
every mailbox-capability action, tokens (cached, renewed when expired), the 5xx fallback, and errors."""
import base64
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from billing.models import Service
from portal.activity import Actor
from provisioning import lifecycle
from provisioning.models import ModuleCall
from provisioning.modules.base import ModuleError, SsoTarget
from provisioning.modules.mailboxes import (
    MAILBOX_CONTROL_PANEL,
    Alias,
    BrandingChanges,
    DistributionList,
    Dkim,
    Forward,
    MailboxChanges,
    MailboxError,
    NewMailbox,
    Reason,
)
from provisioning.modules.polarismail import PolarisMailModule
from provisioning.modules.polarismail.simulator import Failed

pytestmark = pytest.mark.django_db
ACTOR = Actor.system("test")
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
module = PolarisMailModule()


def ref(service):
    service.refresh_from_db()
    return lifecycle.service_ref(service)


# --- lifecycle -------------------------------------------------------------------------------------------------

def test_create_adds_the_domain_and_calls_go_through_one_cached_token(pm_service, polarismail):
    service = pm_service(domain="new-domain.example")
    lifecycle.service_create(service=service, actor=ACTOR)
    service.refresh_from_db()
    assert service.status == Service.Status.ACTIVE
    assert polarismail.domain("new-domain.example").active is True
    assert service.module_data["polarismail_domain"] == "new-domain.example"
    call = ModuleCall.objects.get(service=service, action="create")
    assert call.success and len(call.request["http"]) == 4  # login, isDomainAvailable, addDomain, verification
    bodies = [entry["body"] for entry in call.request["http"]]
    assert bodies[0]["password"] == "***" and all(body.get("token", "***") == "***" for body in bodies)
    assert polarismail.logins == 1


def test_create_again_after_an_earlier_attempt_keeps_the_domain(pm_service, polarismail):
    polarismail.seed({"domains": [{"name": "retry.example"}]})
    service = pm_service(domain="retry.example")
    lifecycle.service_create(service=service, actor=ACTOR)
    service.refresh_from_db()
    assert service.status == Service.Status.ACTIVE
    assert "earlier attempt" in ModuleCall.objects.get(service=service, action="create").response_summary


def test_create_of_a_domain_in_another_account_is_a_permanent_error(pm_service, polarismail):
    polarismail.seed({"foreign": ["taken.example"]})
    service = pm_service(domain="taken.example")
    with pytest.raises(ModuleError) as info:
        lifecycle.service_create(service=service, actor=ACTOR)
    assert info.value.permanent and "Domain is not available" in info.value.message
    service.refresh_from_db()
    assert service.status == Service.Status.PENDING


def test_create_says_when_polarismail_wants_the_domain_verified(pm_service, polarismail):
    polarismail.require_verification = True
    service = pm_service(domain="verify-me.example")
    lifecycle.service_create(service=service, actor=ACTOR)
    assert "verify the domain" in ModuleCall.objects.get(service=service, action="create").response_summary
    dkim = module.get_dkim(ref(service))
    assert dkim.status == Dkim.UNVERIFIED and dkim.verification_record.startswith("polarismail-verify=")
    with pytest.raises(MailboxError) as info:
        module.enable_dkim(ref(service))
    assert info.value.reason == Reason.VERIFICATION
    polarismail.verify("verify-me.example")
    assert module.enable_dkim(ref(service)).status == Dkim.ACTIVE


def test_suspend_unsuspend_and_terminate(pm_live, polarismail):
    service = pm_live(domain="cycle.example")
    lifecycle.service_suspend(service=service, actor=ACTOR, reason=Service.SuspendReason.MANUAL)
    assert polarismail.domain("cycle.example").active is False
    module.suspend(ref(service), reason="manual")  # already suspended: still fine
    lifecycle.service_unsuspend(service=service, actor=ACTOR)
    assert polarismail.domain("cycle.example").active is True
    lifecycle.service_terminate(service=service, actor=ACTOR)
    assert polarismail.domain("cycle.example") is None
    # Terminating a domain that is gone counts as done.
    assert "already removed" in module.terminate(ref(service), delete_data=True).message


def test_suspend_of_a_missing_domain_is_a_permanent_error(pm_service):
    service = pm_service(status=Service.Status.ACTIVE, domain="missing.example")
    with pytest.raises(ModuleError) as info:
        lifecycle.service_suspend(service=service, actor=ACTOR, reason=Service.SuspendReason.OVERDUE)
    assert info.value.permanent and "Domain does not exist" in info.value.message


def test_change_password_sets_the_login_mailbox_or_says_why_not(pm_live, polarismail):
    service = pm_live(domain="pw.example", users=[{"username": "boss", "password": "Old-Passw0rd"}])
    with pytest.raises(ModuleError, match="no login mailbox"):
        module.change_password(ref(service), new_password="New-Passw0rd-1")
    service.username = "boss@pw.example"
    service.save()
    lifecycle.service_change_password(service=service, actor=ACTOR, new_password="New-Passw0rd-1")
    assert polarismail.domain("pw.example").users["boss"].password == "New-Passw0rd-1"


def test_test_connection_and_bad_credentials(pm_server, polarismail):
    polarismail.seed({"domains": [{"name": "a.example"}, {"name": "b.example"}]})
    assert "2 domain(s)" in module.test_connection(lifecycle.server_ref(pm_server)).message
    pm_server.password = "wrong"
    pm_server.save()
    with pytest.raises(ModuleError) as info:
        module.test_connection(lifecycle.server_ref(pm_server))
    assert info.value.permanent and "Invalid username or password" in info.value.message


def test_usage_sums_each_domains_mailboxes_in_mb(pm_server, polarismail):
    polarismail.seed({"domains": [
        {"name": "used.example", "users": [{"username": "a", "quota_gb": 2, "used_mb": "300.5"},
                                           {"username": "b", "quota_gb": 1, "used_mb": "100"}]},
        {"name": "empty.example"},
    ]})
    usage = module.usage(lifecycle.server_ref(pm_server))
    assert usage["used.example"].disk_mb == Decimal("400.5")
    assert usage["used.example"].disk_limit_mb == Decimal(3072)
    assert usage["empty.example"].disk_mb == 0 and usage["empty.example"].disk_limit_mb is None


# --- tokens and transport ----------------------------------------------------------------------------------------

def test_an_expired_admin_token_is_renewed_once_and_the_call_repeated(pm_live, polarismail):
    service = pm_live(domain="tokens.example")
    module.list_mailboxes(ref(service))
    assert polarismail.logins == 1
    module.list_aliases(ref(service))
    assert polarismail.logins == 1  # cached
    polarismail.expire_tokens()
    assert module.list_mailboxes(ref(service)) == []
    assert polarismail.logins == 2


def test_the_cached_token_is_dropped_after_token_cache_seconds(pm_live, polarismail):
    service = pm_live(domain="cache.example")
    service.server.settings = {**service.server.settings, "token_cache_seconds": 0}
    service.server.save()
    module.list_mailboxes(ref(service))
    module.list_mailboxes(ref(service))
    assert polarismail.logins == 2


def test_a_5xx_goes_once_to_the_fallback_server(pm_live, polarismail):
    service = pm_live(domain="fallback.example")
    module.list_mailboxes(ref(service))  # log in first
    service.server.settings = {**service.server.settings, "fallback_url": polarismail.url}
    service.server.save()
    polarismail.fail("status", path="/admin/json.php", status=503)
    assert module.list_mailboxes(ref(service)) == []
    polarismail.fail("status", path="/admin/json.php", status=500, times=2)
    with pytest.raises(ModuleError) as info:
        module.list_mailboxes(ref(service))
    assert not info.value.permanent and "fallback" in info.value.message


def test_a_stopped_server_is_a_temporary_error(pm_live, polarismail):
    service = pm_live(domain="down.example")
    polarismail.stop()
    with pytest.raises(ModuleError) as info:
        module.list_mailboxes(ref(service))
    assert not info.value.permanent


def test_a_server_that_is_not_polarismail(pm_live, polarismail):
    service = pm_live(domain="html.example")
    service.server.port = 9  # discard port: nothing listens
    service.server.save()
    with pytest.raises(ModuleError):
        module.list_mailboxes(ref(service))


# --- mailboxes ------------------------------------------------------------------------------------------------

def test_mailboxes_create_list_update_enable_and_delete(pm_live, polarismail):
    service = pm_live(domain="boxes.example", default_quota_gb="2")
    created = module.create_mailbox(ref(service), NewMailbox(address="Ann@boxes.example", password="Ann-Passw0rd",
                                                              name="Ann Lee", type="enhanced"))
    assert created.address == "ann@boxes.example" and created.type == "enhanced" and created.quota_mb == 2048
    sim_user = polarismail.domain("boxes.example").users["ann"]
    assert (sim_user.account_type, sim_user.quota_gb, sim_user.uname) == (2, Decimal(2), "Ann Lee")
    module.create_mailbox(ref(service), NewMailbox(address="bob@boxes.example", password="Bob-Passw0rd", quota_mb=512))
    assert polarismail.domain("boxes.example").users["bob"].quota_gb == Decimal("0.5")
    assert polarismail.domain("boxes.example").users["bob"].account_type == 1  # the product's default type

    listed = {m.address: m for m in module.list_mailboxes(ref(service))}
    assert listed["ann@boxes.example"].type == "enhanced" and listed["bob@boxes.example"].quota_mb == 512
    assert listed["bob@boxes.example"].used_mb == 0

    updated = module.update_mailbox(ref(service), "bob@boxes.example",
                                    MailboxChanges(name="Bob B", quota_mb=1024, type="enhanced", enabled=False))
    assert (updated.name, updated.quota_mb, updated.type, updated.enabled) == ("Bob B", 1024, "enhanced", False)
    bob = polarismail.domain("boxes.example").users["bob"]
    assert (bob.uname, bob.quota_gb, bob.account_type, bob.active, bob.password) == (
        "Bob B", Decimal(1), 2, False, "Bob-Passw0rd")
    module.update_mailbox(ref(service), "bob@boxes.example", MailboxChanges(password="Bob-N3w-Pass", enabled=True))
    assert (bob.password, bob.active) == ("Bob-N3w-Pass", True)

    module.delete_mailbox(ref(service), "bob@boxes.example")
    module.delete_mailbox(ref(service), "bob@boxes.example")  # already gone: fine
    assert [m.address for m in module.list_mailboxes(ref(service))] == ["ann@boxes.example"]


@pytest.mark.parametrize(("mailbox", "reason", "words"), [
    (NewMailbox(address="ann@refusals.example", password="Ann-Passw0rd"), Reason.TAKEN, "User already exists"),
    (NewMailbox(address="new@refusals.example", password="short"), Reason.PASSWORD, "at least 8"),
    (NewMailbox(address="big@refusals.example", password="Big-Passw0rd", quota_mb=500 * 1024), Reason.QUOTA, "Quota"),
    (NewMailbox(address="-bad-@refusals.example", password="Bad-Passw0rd"), Reason.INVALID_NAME, "Invalid username"),
    (NewMailbox(address="odd@refusals.example", password="Odd-Passw0rd", type="premium"), Reason.INVALID, "premium"),
])
def test_refusals_carry_a_reason_and_the_vendors_words(pm_live, mailbox, reason, words):
    service = pm_live(domain="refusals.example", users=[{"username": "ann"}])
    with pytest.raises(MailboxError) as info:
        module.create_mailbox(ref(service), mailbox)
    assert info.value.reason == reason and words in info.value.message and info.value.permanent


def test_a_failed_second_half_of_an_update_is_undone(pm_live, polarismail, monkeypatch):
    service = pm_live(domain="undo.example", users=[{"username": "ann", "uname": "Ann", "quota_gb": 1}])

    def locked(form, request):
        raise Failed("Account is locked")

    monkeypatch.setattr(polarismail, "admin_disableUser", locked)
    with pytest.raises(MailboxError, match="Account is locked"):
        module.update_mailbox(ref(service), "ann@undo.example", MailboxChanges(name="Ann Changed", enabled=False))
    ann = polarismail.domain("undo.example").users["ann"]
    assert (ann.uname, ann.active) == ("Ann", True)


# --- aliases and forwards -----------------------------------------------------------------------------------------

def test_aliases(pm_live, polarismail):
    service = pm_live(domain="alias.example", users=[{"username": "ann"}])
    module.create_alias(ref(service), Alias(address="sales@alias.example", targets=("ann@alias.example",)))
    assert module.list_aliases(ref(service)) == [Alias(address="sales@alias.example", targets=("ann@alias.example",))]
    with pytest.raises(MailboxError) as info:
        module.create_alias(ref(service), Alias(address="two@alias.example", targets=("a@x.example", "b@x.example")))
    assert info.value.reason == Reason.INVALID
    with pytest.raises(MailboxError) as info:
        module.create_alias(ref(service), Alias(address="ann@alias.example", targets=("x@y.example",)))
    assert info.value.reason == Reason.TAKEN
    module.update_alias(ref(service), Alias(address="sales@alias.example", targets=("boss@other.example",)))
    assert polarismail.domain("alias.example").aliases == {"sales": "boss@other.example"}
    with pytest.raises(MailboxError):  # a bad new target puts the old one back
        module.update_alias(ref(service), Alias(address="sales@alias.example", targets=("not-an-address",)))
    assert polarismail.domain("alias.example").aliases == {"sales": "boss@other.example"}
    module.delete_alias(ref(service), "sales@alias.example")
    module.delete_alias(ref(service), "sales@alias.example")
    assert module.list_aliases(ref(service)) == []


def test_forwards_through_the_user_api(pm_live, polarismail):
    service = pm_live(
        domain="fwd.example", users=[{"username": "ann"}, {"username": "bob", "forwards": ["x@y.example"]}]
    )
    assert module.list_forwards(ref(service)) == [Forward(address="ann@fwd.example"),
                                                  Forward(address="bob@fwd.example", targets=("x@y.example",))]
    result = module.set_forward(
        ref(service), Forward(address="ann@fwd.example", targets=("A@Other.example", "b@o.example"))
    )
    assert result.targets == ("a@other.example", "b@o.example")
    assert polarismail.domain("fwd.example").users["ann"].forwards == ["a@other.example", "b@o.example"]
    module.set_forward(ref(service), Forward(address="ann@fwd.example", targets=("b@o.example",)))
    assert module.get_forward(ref(service), "ann@fwd.example").targets == ("b@o.example",)
    # A refused target undoes the targets already added.
    with pytest.raises(MailboxError):
        module.set_forward(
            ref(service), Forward(address="ann@fwd.example", targets=("b@o.example", "c@o.example", "bad"))
        )
    assert polarismail.domain("fwd.example").users["ann"].forwards == ["b@o.example"]
    with pytest.raises(MailboxError) as info:
        module.set_forward(ref(service), Forward(address="ann@fwd.example", targets=("c@o.example",), keep_copy=False))
    assert info.value.reason == Reason.UNSUPPORTED
    module.set_forward(ref(service), Forward(address="ann@fwd.example"))
    assert polarismail.domain("fwd.example").users["ann"].forwards == []
    with pytest.raises(MailboxError) as info:
        module.get_forward(ref(service), "nobody@fwd.example")
    assert info.value.reason == Reason.NOT_FOUND


# --- lists, DKIM, branding, domain aliases ---------------------------------------------------------------------------

def test_distribution_lists_with_members(pm_live, polarismail):
    service = pm_live(domain="lists.example")
    made = module.create_distribution_list(ref(service), DistributionList(address="team@lists.example",
                                                                          members=("a@x.example", "B@x.example")))
    assert made.members == ("a@x.example", "b@x.example")
    assert module.list_distribution_lists(ref(service)) == [DistributionList(address="team@lists.example")]
    module.add_list_member(ref(service), "team@lists.example", "c@x.example")
    with pytest.raises(MailboxError) as info:
        module.add_list_member(ref(service), "team@lists.example", "c@x.example")
    assert info.value.reason == Reason.TAKEN
    module.remove_list_member(ref(service), "team@lists.example", "a@x.example")
    module.remove_list_member(ref(service), "team@lists.example", "a@x.example")  # not a member: fine
    assert module.get_distribution_list(ref(service), "team@lists.example").members == ("b@x.example", "c@x.example")
    # A bad first member leaves no list behind.
    with pytest.raises(MailboxError):
        module.create_distribution_list(ref(service), DistributionList(address="bad@lists.example", members=("nope",)))
    assert "bad" not in polarismail.domain("lists.example").lists
    module.delete_distribution_list(ref(service), "team@lists.example")
    module.delete_distribution_list(ref(service), "team@lists.example")
    with pytest.raises(MailboxError) as info:
        module.get_distribution_list(ref(service), "team@lists.example")
    assert info.value.reason == Reason.NOT_FOUND


def test_dkim_enable_shows_the_record_and_disable_removes_it(pm_live):
    service = pm_live(domain="dkim.example")
    assert module.get_dkim(ref(service)) == Dkim(status=Dkim.DISABLED)
    dkim = module.enable_dkim(ref(service))
    assert dkim.status == Dkim.ACTIVE and dkim.enabled
    assert dkim.host == "polaris._domainkey.dkim.example" and dkim.record.startswith("v=DKIM1; k=rsa; p=")
    assert module.disable_dkim(ref(service)).status == Dkim.DISABLED


def test_branding_set_and_reset(pm_live, polarismail):
    service = pm_live(domain="brand.example")
    assert module.get_branding(ref(service)).is_default
    branding = module.set_branding(
        ref(service),
        BrandingChanges(
            brand_name="Acme Mail", support_email="help@acme.example", color="#1A5FB4", logo=PNG, logo_type="image/png"
        ),
    )
    assert (branding.brand_name, branding.support_email, branding.color, branding.has_logo, branding.is_default) == (
        "Acme Mail", "help@acme.example", "#1a5fb4", True, False)
    assert polarismail.domain("brand.example").logo == PNG
    call_log = [entry for entry in ModuleCall.objects.all()]
    assert call_log == []  # the module itself records nothing; provisioning.mail.services does
    with pytest.raises(MailboxError) as info:
        module.set_branding(ref(service), BrandingChanges(brand_name="x", support_email="", color="#12345"))
    assert info.value.reason == Reason.INVALID and "Invalid brand color" in info.value.message
    assert module.reset_branding(ref(service)).is_default


def test_domain_aliases(pm_live, polarismail):
    service = pm_live(domain="main.example")
    module.add_domain_alias(ref(service), "Other.example")
    assert module.list_domain_aliases(ref(service)) == ["other.example"]
    with pytest.raises(MailboxError) as info:
        module.add_domain_alias(ref(service), "other.example")
    assert info.value.reason == Reason.TAKEN
    module.remove_domain_alias(ref(service), "other.example")
    module.remove_domain_alias(ref(service), "other.example")
    assert module.list_domain_aliases(ref(service)) == []


# --- single sign-on -------------------------------------------------------------------------------------------

def test_webmail_and_control_panel_links_log_in_once(pm_live, polarismail):
    service = pm_live(domain="sso.example", users=[{"username": "ann"}])
    webmail = module.sso_url(ref(service), target=SsoTarget.WEBMAIL, user="ann@sso.example")
    assert webmail.startswith(f"{polarismail.url}/webmail/?otp=")
    page = requests.get(webmail, timeout=5)
    assert page.status_code == 200 and "Signed in as ann@sso.example" in page.text
    assert '<link rel="icon" href="data:,">' in page.text  # browsers do not ask the simulator for /favicon.ico
    assert requests.get(webmail, timeout=5).status_code == 401  # single use

    panel = module.sso_url(ref(service), target=MAILBOX_CONTROL_PANEL, user="ann@sso.example")
    query = parse_qs(urlsplit(panel).query)
    assert panel.startswith(f"{polarismail.url}/processlogin.php?")
    assert base64.b64decode(query["u"][0]).decode() == "ann@sso.example"
    assert "Signed in as ann@sso.example" in requests.get(panel, timeout=5).text

    polarismail.advance(61)  # one-time passwords last a minute
    late = module.sso_url(ref(service), target=MAILBOX_CONTROL_PANEL, user="ann@sso.example")
    polarismail.advance(61)
    assert requests.get(late, timeout=5).status_code == 401


def test_sso_refuses_what_polarismail_has_not(pm_live):
    service = pm_live(domain="nosso.example", users=[{"username": "ann"}])
    with pytest.raises(ModuleError, match="no domain admin login"):
        module.sso_url(ref(service), target=SsoTarget.DOMAIN_ADMIN)
    with pytest.raises(ModuleError, match="not an address in the domain"):
        module.sso_url(ref(service), target=SsoTarget.WEBMAIL, user="ann@elsewhere.example")
    with pytest.raises(MailboxError) as info:
        module.sso_url(ref(service), target=SsoTarget.WEBMAIL, user="nobody@nosso.example")
    assert info.value.reason == Reason.NOT_FOUND


def test_the_control_panel_address_comes_from_the_server_settings(pm_live):
    service = pm_live(domain="panel.example", users=[{"username": "ann"}])
    service.server.settings = {**service.server.settings, "control_panel_url": "https://cp.emailarray.com/"}
    service.server.save()
    url = module.sso_url(ref(service), target=MAILBOX_CONTROL_PANEL, user="ann@panel.example")
    assert url.startswith("https://cp.emailarray.com/processlogin.php?u=")


def test_options_have_the_client_area_names():
    options = module.product_options_schema.resolve({})
    assert options["webmail_url"] == "https://login.emailarray.com"
    assert options["password_min_length"] == 8 and options["default_account_type"] == "basic"
    assert all(option.number is None for option in module.product_options_schema)
