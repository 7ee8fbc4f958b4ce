"""The same mail pages over SmarterMail (its mailbox capability against the simulator) and Modoboa (the real
one): what a module cannot do is hidden and its page answers 404, never a broken button."""
import re
from decimal import Decimal

import pytest
from django.urls import reverse

from billing.models import Product, Service
from portal.activity import Actor
from portal.models import ActivityLog
from provisioning import lifecycle
from provisioning.mail import services
from provisioning.mail.selectors import mail_context
from provisioning.modules.base import SsoTarget
from provisioning.modules.mailboxes import (
    Alias,
    DistributionList,
    Dkim,
    Forward,
    MailboxChanges,
    MailboxError,
    NewMailbox,
    Reason,
)
from provisioning.modules.modoboa import ModoboaModule
from provisioning.modules.smartermail import SmarterMailModule
from tests.provisioning.modules.modoboa.conftest import modoboa, modoboa_server, new_domain  # noqa: F401
from tests.provisioning.modules.smartermail.fixtures import sm_server, sm_service, smartermail  # noqa: F401

pytestmark = pytest.mark.django_db
module = SmarterMailModule()
ACTOR = Actor.system("test")


@pytest.fixture
def sm_live(sm_service, owner):  # noqa: F811
    service = sm_service(domain="smarter.example", max_users=3)
    Service.objects.filter(pk=service.pk).update(client=owner)
    lifecycle.service_create(service=service, actor=ACTOR)
    service.refresh_from_db()
    return service


def ref(service):
    service.refresh_from_db()
    return lifecycle.service_ref(service)


# --- SmarterMail's mailbox capability over HTTP ----------------------------------------------------------------

def test_smartermail_mailboxes(sm_live, smartermail):  # noqa: F811
    made = module.create_mailbox(ref(sm_live), NewMailbox(address="ann@smarter.example", password="Ann-Passw0rd",
                                                          name="Ann", quota_mb=100))
    assert made.quota_mb == 100
    assert smartermail.domain("smarter.example").users["ann"].max_mailbox_size == 100 * 1024 * 1024
    smartermail.domain("smarter.example").users["ann"].bytes_used = 5 * 1024 * 1024
    listed = {m.address: m for m in module.list_mailboxes(ref(sm_live))}
    assert listed["admin@smarter.example"].is_admin and not listed["ann@smarter.example"].is_admin
    assert listed["ann@smarter.example"].used_mb == Decimal("5.00") and listed["ann@smarter.example"].quota_mb == 100
    updated = module.update_mailbox(ref(sm_live), "ann@smarter.example",
                                    MailboxChanges(name="Ann B", quota_mb=200, password="Ann-N3w-Pass"))
    assert (updated.name, updated.quota_mb) == ("Ann B", 200)
    assert smartermail.domain("smarter.example").users["ann"].password == "Ann-N3w-Pass"
    with pytest.raises(MailboxError) as info:
        module.update_mailbox(ref(sm_live), "ann@smarter.example", MailboxChanges(enabled=False))
    assert info.value.reason == Reason.UNSUPPORTED
    with pytest.raises(MailboxError) as info:
        module.create_mailbox(ref(sm_live), NewMailbox(address="ann@smarter.example", password="Ann-Passw0rd"))
    assert info.value.reason == Reason.TAKEN
    with pytest.raises(MailboxError) as info:
        module.create_mailbox(ref(sm_live), NewMailbox(address="bob@smarter.example", password="x"))
    assert info.value.reason == Reason.PASSWORD
    module.delete_mailbox(ref(sm_live), "ann@smarter.example")
    module.delete_mailbox(ref(sm_live), "ann@smarter.example")
    assert "ann" not in smartermail.domain("smarter.example").users


def test_smartermail_aliases_and_forwards(sm_live, smartermail):  # noqa: F811
    module.create_alias(ref(sm_live), Alias(address="sales@smarter.example", targets=("a@x.example", "b@x.example")))
    assert module.list_aliases(ref(sm_live)) == [Alias(address="sales@smarter.example",
                                                       targets=("a@x.example", "b@x.example"))]
    module.update_alias(ref(sm_live), Alias(address="sales@smarter.example", targets=("c@x.example",)))
    assert smartermail.domain("smarter.example").aliases == {"sales": ["c@x.example"]}
    with pytest.raises(MailboxError) as info:
        module.create_alias(ref(sm_live), Alias(address="admin@smarter.example", targets=("c@x.example",)))
    assert info.value.reason == Reason.TAKEN
    module.delete_alias(ref(sm_live), "sales@smarter.example")
    module.delete_alias(ref(sm_live), "sales@smarter.example")
    forward = module.set_forward(ref(sm_live), Forward(address="admin@smarter.example", targets=("me@home.example",),
                                                       keep_copy=False))
    assert forward == Forward(address="admin@smarter.example", targets=("me@home.example",), keep_copy=False)
    assert module.get_forward(ref(sm_live), "admin@smarter.example") == forward
    assert module.list_forwards(ref(sm_live)) == [forward]
    module.set_forward(ref(sm_live), Forward(address="admin@smarter.example"))
    assert smartermail.domain("smarter.example").users["admin"].forward_list == []


def test_smartermail_forwards_are_listed_with_one_domain_admin_token(sm_live, smartermail):  # noqa: F811
    module.create_mailbox(ref(sm_live), NewMailbox(address="ann@smarter.example", password="Ann-Passw0rd"))
    forward = module.set_forward(ref(sm_live), Forward(address="ann@smarter.example", targets=("me@home.example",)))
    before = smartermail.calls_to("manage-domain")
    assert module.list_forwards(ref(sm_live)) == [Forward(address="admin@smarter.example"), forward]
    assert smartermail.calls_to("manage-domain") == before + 1


def test_smartermail_distribution_lists_are_its_mailing_lists(sm_live, smartermail):  # noqa: F811
    made = module.create_distribution_list(ref(sm_live), DistributionList(
        address="Team@smarter.example", members=("A@x.example", "b@x.example", "a@x.example")))
    assert made == DistributionList(address="team@smarter.example", members=("a@x.example", "b@x.example"))
    on_server = smartermail.mailing_list("smarter.example", "team")
    assert (on_server.moderator_address, on_server.subscribers) == ("admin@smarter.example",
                                                                    ["a@x.example", "b@x.example"])
    assert module.list_distribution_lists(ref(sm_live)) == [DistributionList(address="team@smarter.example")]
    module.add_list_member(ref(sm_live), "team@smarter.example", " C@x.example ")
    module.remove_list_member(ref(sm_live), "team@smarter.example", "a@x.example")
    module.remove_list_member(ref(sm_live), "team@smarter.example", "a@x.example")  # not a member: done already
    assert module.get_distribution_list(ref(sm_live), "team@smarter.example") == DistributionList(
        address="team@smarter.example", members=("b@x.example", "c@x.example"))
    module.delete_distribution_list(ref(sm_live), "team@smarter.example")
    module.delete_distribution_list(ref(sm_live), "team@smarter.example")  # gone already: done
    assert smartermail.domain("smarter.example").mailing_lists == {}
    assert module.list_distribution_lists(ref(sm_live)) == []


def test_smartermail_list_refusals_are_clear_and_change_nothing(sm_live, smartermail):  # noqa: F811
    module.create_distribution_list(ref(sm_live), DistributionList(address="team@smarter.example", members=()))

    def refusal(call, *args):
        with pytest.raises(MailboxError) as info:
            call(ref(sm_live), *args)
        return info.value.reason, info.value.message

    taken = DistributionList(address="team@smarter.example", members=("a@x.example",))
    assert refusal(module.create_distribution_list, taken)[0] == Reason.TAKEN
    mailbox_name = DistributionList(address="admin@smarter.example")
    assert refusal(module.create_distribution_list, mailbox_name)[0] == Reason.TAKEN
    assert refusal(module.create_mailbox, NewMailbox(address="team@smarter.example", password="Team-Passw0rd"))[0] \
        == Reason.TAKEN  # a list's address is taken for mailboxes and aliases too
    assert refusal(module.create_distribution_list, DistributionList(address="bad!name@smarter.example"))[0] == \
        Reason.INVALID_NAME
    # a list made with a member the server refuses is not left behind
    bad_member = DistributionList(address="news@smarter.example", members=("a@x.example", "not-an-address"))
    reason, message = refusal(module.create_distribution_list, bad_member)
    assert reason == Reason.INVALID and "MAILING_LIST_ERROR_INVALID_ADDRESS" in message
    assert smartermail.mailing_list("smarter.example", "news") is None
    module.add_list_member(ref(sm_live), "team@smarter.example", "a@x.example")
    assert refusal(module.add_list_member, "team@smarter.example", "A@x.example") == (
        Reason.TAKEN, "a@x.example is already a member of team@smarter.example.")
    assert refusal(module.get_distribution_list, "nope@smarter.example") == (
        Reason.NOT_FOUND, "There is no mailing list nope@smarter.example on SmarterMail.")
    assert refusal(module.add_list_member, "nope@smarter.example", "a@x.example")[0] == Reason.NOT_FOUND
    assert [(item.list_address, item.subscribers) for item in smartermail.domain("smarter.example").mailing_lists
            .values()] == [("team", ["a@x.example"])]


def test_smartermail_list_pages_in_the_client_area(client, sm_live, smartermail, owner):  # noqa: F811
    Product.objects.filter(pk=sm_live.product_id).update(type=Product.Type.MAIL)
    client.force_login(owner.owner_user)

    def url(name, *args):
        return reverse(f"clientarea:{name}", args=[sm_live.pk, *args])

    assert "</i> Distribution Lists</a>" in client.get(url("mail_dashboard")).content.decode()
    made = client.post(url("mail_lists"), {"local_part": "team", "members": "a@x.example\nb@x.example"}, follow=True)
    assert "Distribution list team@smarter.example created." in made.content.decode()
    assert smartermail.mailing_list("smarter.example", "team").subscribers == ["a@x.example", "b@x.example"]
    assert "team@smarter.example" in client.get(url("mail_lists")).content.decode()
    added = client.post(url("mail_list", "team"), {"action": "add", "member": "c@x.example"}, follow=True)
    assert "c@x.example added to team@smarter.example." in added.content.decode()
    again = client.post(url("mail_list", "team"), {"action": "add", "member": "c@x.example"})
    assert again.status_code == 200 and again.context["form"].errors["member"] == [
        "That address is already in use on your domain (by a mailbox, alias or list). Choose another name."]
    client.post(url("mail_list", "team"), {"action": "remove", "member": "a@x.example"})
    detail = client.get(url("mail_list", "team")).content.decode()
    assert re.findall(r'me-auto text-break">([^<]+)<', detail) == ["b@x.example", "c@x.example"]
    taken = client.post(url("mail_lists"), {"local_part": "admin", "members": ""})
    assert taken.context["form"].errors["local_part"] == [
        "That address is already in use on your domain (by a mailbox, alias or list). Choose another name."]
    client.post(url("mail_list_delete", "team"))
    assert smartermail.domain("smarter.example").mailing_lists == {}
    assert client.get(url("mail_list", "team")).status_code == 404
    assert ActivityLog.objects.filter(action__startswith="mail.list_").count() == 4


def test_smartermail_domain_aliases_and_dkim(sm_live, smartermail):  # noqa: F811
    module.add_domain_alias(ref(sm_live), "smarter.org")
    assert module.list_domain_aliases(ref(sm_live)) == ["smarter.org"]
    with pytest.raises(MailboxError) as info:
        module.add_domain_alias(ref(sm_live), "smarter.org")
    assert info.value.reason == Reason.TAKEN
    module.remove_domain_alias(ref(sm_live), "smarter.org")
    module.remove_domain_alias(ref(sm_live), "smarter.org")
    assert module.get_dkim(ref(sm_live)) == Dkim(status=Dkim.DISABLED)
    before = smartermail.calls_to("manage-domain")
    pending = module.enable_dkim(ref(sm_live), key_size=1024)
    assert smartermail.calls_to("manage-domain") == before + 1  # one domain-admin login for the four calls
    keys = smartermail.domain("smarter.example").dkim
    assert pending.status == Dkim.PENDING and keys["keySize"] == 1024
    assert pending.host == f"{keys['selector']}._domainkey.smarter.example"
    assert pending.record == f"v=DKIM1; k=rsa; p={keys['publicKey']}"
    smartermail.verify_dkim("smarter.example")
    assert module.get_dkim(ref(sm_live)).status == Dkim.ACTIVE
    assert module.disable_dkim(ref(sm_live)).status == Dkim.DISABLED


def test_smartermail_client_area_hides_what_it_cannot_do(client, sm_live, smartermail, owner):  # noqa: F811
    Product.objects.filter(pk=sm_live.product_id).update(type=Product.Type.MAIL)
    client.force_login(owner.owner_user)
    page = client.get(reverse("clientarea:mail_dashboard", args=[sm_live.pk])).content.decode()
    for shown in ("Accounts", "Aliases", "Forwarding", "Distribution Lists", "DKIM Setup", "Domain Aliases",
                  "DNS Guide"):
        assert f"</i> {shown}</a>" in page, shown
    assert "Branding" not in page
    assert client.get(reverse("clientarea:mail_branding", args=[sm_live.pk])).status_code == 404
    accounts = client.get(reverse("clientarea:mail_accounts", args=[sm_live.pk])).content.decode()
    assert "admin@smarter.example" in accounts and "administrator" in accounts
    assert "Webmail</button>" in accounts and "Control Panel" not in accounts
    assert reverse("clientarea:mail_account_delete", args=[sm_live.pk, "admin"]) not in accounts
    assert client.get(reverse("clientarea:mail_account_control_panel", args=[sm_live.pk, "admin"])).status_code == 404
    response = client.post(reverse("clientarea:mail_account_add", args=[sm_live.pk]), {
        "local_part": "bob", "password": "Bob-Passw0rd1", "password2": "Bob-Passw0rd1"}, follow=True)
    assert "Mailbox bob@smarter.example created." in response.content.decode()
    webmail = client.post(reverse("clientarea:mail_account_webmail", args=[sm_live.pk, "bob"]))
    assert webmail["Location"].startswith(f"{smartermail.url}/interface/autologin?autologin=")
    edit = client.get(reverse("clientarea:mail_account_edit", args=[sm_live.pk, "bob"])).content.decode()
    assert 'name="enabled"' not in edit  # no per-mailbox switch on SmarterMail
    forward = client.get(reverse("clientarea:mail_forward_edit", args=[sm_live.pk, "bob"])).content.decode()
    assert 'name="keep_copy"' in forward


def test_smartermail_user_limit_is_the_plans_count(sm_live, smartermail, owner):  # noqa: F811
    ctx = mail_context(owner, sm_live.pk)
    assert ctx.allowance.total == 3
    for name in ("one", "two"):
        services.mailbox_create(ctx, actor=ACTOR, local_part=name, password="Passw0rd-Good")
    ctx = mail_context(owner, sm_live.pk)
    services.reconcile_mailboxes(ctx, mailboxes=ctx.module.list_mailboxes(ctx.ref))
    with pytest.raises(services.MailRefused, match="Your plan includes 3 mailboxes and 3 are in use"):
        services.mailbox_create(ctx, actor=ACTOR, local_part="three", password="Passw0rd-Good")


# --- Modoboa (the real one) ------------------------------------------------------------------------------------

def test_modoboa_client_area(client, owner, modoboa_server, new_domain):  # noqa: F811
    from tests.factories import ProductFactory, ServiceFactory

    product = ProductFactory(module="modoboa", type=Product.Type.MAIL,
                             module_options={"domain_quota_mb": 500, "mailbox_quota_mb": 50})
    service = ServiceFactory(client=owner, product=product, server=modoboa_server, domain=new_domain("client"),
                             status=Service.Status.PENDING, username="", password="")
    lifecycle.service_create(service=service, actor=ACTOR)
    client.force_login(owner.owner_user)
    page = client.get(reverse("clientarea:mail_dashboard", args=[service.pk])).content.decode()
    for hidden in ("Distribution Lists", "DKIM Setup", "Branding", "Domain Aliases"):
        assert hidden not in page, hidden
    for name in ("mail_lists", "mail_dkim", "mail_branding", "mail_domain_aliases"):
        assert client.get(reverse(f"clientarea:{name}", args=[service.pk])).status_code == 404, name
    response = client.post(reverse("clientarea:mail_account_add", args=[service.pk]), {
        "local_part": "bob", "name": "Bob", "password": "Bob-Passw0rd-1", "password2": "Bob-Passw0rd-1",
        "quota_mb": "20"}, follow=True)
    body = response.content.decode()
    assert f"Mailbox bob@{service.domain} created." in body and "of 20 MB used" in body
    assert "Webmail</button>" not in body and "Control Panel" not in body  # Modoboa has no login tokens
    taken = client.post(reverse("clientarea:mail_account_add", args=[service.pk]), {
        "local_part": "bob", "password": "Bob-Passw0rd-1", "password2": "Bob-Passw0rd-1"})
    assert "That address is already in use on your domain" in " ".join(taken.context["form"].errors["local_part"])
    client.post(reverse("clientarea:mail_aliases", args=[service.pk]),
                {"local_part": "sales", "targets": f"bob@{service.domain}\nother@x.example"})
    module_aliases = ModoboaModule().list_aliases(lifecycle.service_ref(service))
    assert [(a.address, sorted(a.targets)) for a in module_aliases if a.address.startswith("sales@")] == [
        (f"sales@{service.domain}", sorted([f"bob@{service.domain}", "other@x.example"]))]
    forward = client.get(reverse("clientarea:mail_forward_edit", args=[service.pk, "bob"])).content.decode()
    assert 'name="keep_copy"' not in forward


def test_flags_of_each_module():
    smarter, modo = SmarterMailModule(), ModoboaModule()
    assert smarter.mailbox_sso_targets == {SsoTarget.WEBMAIL} and not modo.mailbox_sso_targets
    assert not (modo.supports_dkim or modo.supports_branding or modo.supports_distribution_lists)
    assert smarter.supports_distribution_lists and not smarter.supports_branding
    assert smarter.supports_mailboxes and modo.supports_mailboxes
