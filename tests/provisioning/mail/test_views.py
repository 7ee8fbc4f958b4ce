"""The mail client-area pages through Django's test client, against the PolarisMail simulator."""
import io
import re
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from PIL import Image

from billing.models import Invoice, Product, Service, ServiceConfigOption
from portal.models import ActivityLog
from provisioning.mail.models import MailboxRecord
from provisioning.models import ModuleCall
from tests.factories import ServiceFactory

pytestmark = pytest.mark.django_db


def url(name, service, *args):
    return reverse(f"clientarea:{name}", args=[service.pk, *args])


@pytest.fixture
def signed_in(client, owner):
    client.force_login(owner.owner_user)
    return client


def text(response):
    return re.sub(r"\s+", " ", response.content.decode())


# --- the dashboard, the menu, the service page --------------------------------------------------------------------

def test_the_dashboard_has_every_section_for_polarismail(signed_in, mail_service):
    service = mail_service()
    page = text(signed_in.get(url("mail_dashboard", service))).replace("<wbr>", "")
    for label in ("Accounts", "Aliases", "Forwarding", "Distribution Lists", "DKIM Setup", "Branding",
                  "Upgrade/Downgrade", "Request Cancellation", "DNS Guide", "Domain Aliases"):
        assert f"{label}</div>" in page, label  # an icon tile
        assert f"</i> {label}</a>" in page, label  # the sidebar
    assert reverse("clientarea:service_change", args=[service.pk]) in page
    assert "Basic</div> <div class=\"fs-4 fw-semibold\">1 <span class=\"fs-6 text-body-secondary\">of 3" in page


def test_the_service_page_links_to_the_email_dashboard(signed_in, mail_service, owner):
    service = mail_service()
    assert (
        url("mail_dashboard", service)
        in signed_in.get(reverse("clientarea:service", args=[service.pk])).content.decode()
    )
    other = ServiceFactory(client=owner, product__type=Product.Type.VOIP)
    assert b"Manage email" not in signed_in.get(reverse("clientarea:service", args=[other.pk])).content


def test_a_service_without_mail_management_has_no_mail_pages(signed_in, owner):
    plain = ServiceFactory(client=owner)
    assert signed_in.get(url("mail_dashboard", plain)).status_code == 404


def test_domain_aliases_are_hidden_where_the_product_does_not_allow_them(signed_in, mail_service):
    service = mail_service(domain_aliases_allowed=False)
    assert "Domain Aliases" not in text(signed_in.get(url("mail_dashboard", service)))
    assert signed_in.get(url("mail_domain_aliases", service)).status_code == 404


def test_a_pending_service_shows_its_state_and_sends_sub_pages_back(signed_in, mail_service):
    service = mail_service(paid=False)
    Service.objects.filter(pk=service.pk).update(status=Service.Status.PENDING)
    assert "being set up" in text(signed_in.get(url("mail_dashboard", service)))
    response = signed_in.get(url("mail_accounts", service))
    assert response.status_code == 302 and response["Location"] == url("mail_dashboard", service)


def test_a_suspended_service_can_be_seen_but_not_changed(signed_in, mail_service, polarismail):
    service = mail_service()
    Service.objects.filter(pk=service.pk).update(status=Service.Status.SUSPENDED, suspend_reason="overdue")
    page = text(signed_in.get(url("mail_accounts", service)))
    assert "This service is suspended (overdue on payment)" in page and "info@shop.example" in page
    assert "Add Mailbox</a>" not in page and "Webmail</button>" not in page
    response = signed_in.post(url("mail_aliases", service), {"local_part": "x", "targets": "info@shop.example"},
                              follow=True)
    assert "changes are possible again once it is active" in text(response)
    assert polarismail.domain("shop.example").aliases == {}


# --- accounts -----------------------------------------------------------------------------------------------------

def test_the_accounts_list_shows_quota_use_and_the_actions(signed_in, mail_service, polarismail):
    service = mail_service(users=[{"username": "info", "quota_gb": 1, "used_mb": 512, "uname": "Front desk"},
                                  {"username": "boss", "account_type": 2, "quota_gb": 2}])
    page = text(signed_in.get(url("mail_accounts", service)))
    assert "512 of 1024 MB used" in page and 'data-width="50"' in page
    assert "Front desk" in page and "Enhanced" in page
    for name in ("mail_account_webmail", "mail_account_control_panel", "mail_account_manage", "mail_account_edit",
                 "mail_account_password", "mail_account_delete"):
        assert url(name, service, "boss") in page, name
    assert set(MailboxRecord.objects.filter(service=service).values_list("address", "mailbox_type")) == {
        ("info@shop.example", "basic"), ("boss@shop.example", "enhanced")}


def test_the_accounts_list_takes_the_same_queries_for_2_or_20_mailboxes(signed_in, mail_service, polarismail):
    service = mail_service(users=[{"username": f"u{n}"} for n in range(2)], basic=50)
    signed_in.get(url("mail_accounts", service))  # first visit records them

    def queries():
        with CaptureQueriesContext(connection) as captured:
            assert signed_in.get(url("mail_accounts", service)).status_code == 200
        return len(captured)

    few = queries()
    polarismail.seed({"domains": [{"name": "shop.example", "users": [{"username": f"u{n}"} for n in range(20)]}]})
    signed_in.get(url("mail_accounts", service))
    assert queries() == few


def test_add_a_mailbox(signed_in, mail_service, polarismail):
    service = mail_service()
    form = text(signed_in.get(url("mail_account_add", service)))
    assert "At least 8 characters, with upper- and lower-case letters and a digit." in form
    assert "@shop.example" in form and "Basic (1 of 3 in use)" in form and "Enhanced (0 of 1 in use)" in form
    response = signed_in.post(url("mail_account_add", service), {
        "local_part": "Anna", "name": "Anna K", "password": "Anna-Passw0rd", "password2": "Anna-Passw0rd",
        "quota_mb": "", "mailbox_type": "enhanced"}, follow=True)
    assert "Mailbox anna@shop.example created." in text(response)
    assert "anna@shop.example" in text(response)
    assert polarismail.domain("shop.example").users["anna"].account_type == 2


@pytest.mark.parametrize(("data", "field", "message"), [
    ({"password": "short", "password2": "short"}, "password", "Use at least 8 characters."),
    ({"password": "alllowercase1", "password2": "alllowercase1"}, "password", "upper- and lower-case"),
    ({"password2": "Other-Passw0rd"}, "password2", "The two passwords differ."),
    ({"local_part": "bad name"}, "local_part", "That name is not allowed."),
    ({"local_part": "x@elsewhere.example"}, "local_part", "must be in your domain"),
    ({"local_part": "info"}, "local_part", "That address is already in use on your domain"),  # the provider's refusal
])
def test_add_mailbox_errors_sit_next_to_their_field(signed_in, mail_service, data, field, message):
    service = mail_service()
    posted = {"local_part": "new", "name": "", "password": "New-Passw0rd", "password2": "New-Passw0rd",
              "mailbox_type": "basic", **data}
    response = signed_in.post(url("mail_account_add", service), posted)
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert field in errors and message in " ".join(errors[field])
    assert f'id="error_1_id_{field}"' in response.content.decode()  # crispy renders it under the field


def test_a_full_plan_says_how_to_upgrade(signed_in, mail_service):
    service = mail_service(basic=1, enhanced=0)
    signed_in.get(url("mail_accounts", service))
    page = text(signed_in.get(url("mail_accounts", service)))
    assert "Your plan includes 1 basic mailbox and 1 is in use. To add another, upgrade your plan" in page
    assert url("service_change", service).replace(f"/mail/{service.pk}", "") in page or \
        reverse("clientarea:service_change", args=[service.pk]) in page
    response = signed_in.post(url("mail_account_add", service), {
        "local_part": "new", "password": "New-Passw0rd", "password2": "New-Passw0rd", "mailbox_type": "basic"})
    assert "upgrade your plan under Upgrade/Downgrade" in text(response)


def test_edit_password_and_typed_delete(signed_in, mail_service, polarismail):
    service = mail_service()
    signed_in.get(url("mail_accounts", service))
    response = signed_in.post(url("mail_account_edit", service, "info"), {"name": "Desk", "quota_mb": "2048",
                                                                          "enabled": "on"}, follow=True)
    assert "Mailbox info@shop.example saved." in text(response)
    assert polarismail.domain("shop.example").users["info"].quota_gb == Decimal(2)
    signed_in.post(
        url("mail_account_password", service, "info"), {"password": "Next-Passw0rd", "password2": "Next-Passw0rd"}
    )
    assert polarismail.domain("shop.example").users["info"].password == "Next-Passw0rd"
    wrong = signed_in.post(url("mail_account_delete", service, "info"), {"confirm": "info"})
    assert "Type the address exactly: info@shop.example" in text(wrong)
    assert "info" in polarismail.domain("shop.example").users
    signed_in.post(url("mail_account_delete", service, "info"), {"confirm": "INFO@shop.example"})
    assert "info" not in polarismail.domain("shop.example").users
    assert signed_in.get(url("mail_account_edit", service, "info")).status_code == 404


def test_manage_shows_the_prorated_amount_before_saving(signed_in, mail_service, polarismail):
    service = mail_service()
    signed_in.get(url("mail_accounts", service))
    page = text(signed_in.get(url("mail_account_manage", service, "info")))
    assert "Type now</dt><dd class=\"col-7\" data-testid=\"current-type\">Basic" in page
    quote = signed_in.post(url("mail_account_manage", service, "info"), {"to_type": "enhanced"})
    assert 'data-testid="prorated-amount">2.00 USD' in text(quote)
    assert polarismail.domain("shop.example").users["info"].account_type == 1  # nothing saved yet
    done = signed_in.post(url("mail_account_manage", service, "info"),
                          {"to_type": "enhanced", "expected_amount": "2.00", "action": "confirm"}, follow=True)
    invoice = Invoice.objects.get(items__kind="upgrade")
    assert f"info@shop.example is now Enhanced. Invoice {invoice} bills 2.00 USD" in text(done)
    assert polarismail.domain("shop.example").users["info"].account_type == 2


def test_manage_with_a_stale_amount_asks_to_look_again(signed_in, mail_service):
    service = mail_service()
    signed_in.get(url("mail_accounts", service))
    response = signed_in.post(url("mail_account_manage", service, "info"),
                              {"to_type": "enhanced", "expected_amount": "0.50", "action": "confirm"})
    assert "The amount changed to 2.00 USD since it was shown" in text(response)


def test_manage_is_not_offered_on_a_plan_with_one_mailbox_kind(signed_in, mail_service):
    service = mail_service(basic=5, enhanced=0)
    ServiceConfigOption.objects.filter(service=service, option__code="mailboxes_enhanced").delete()
    service.product.config_options.filter(code="mailboxes_enhanced").delete()
    page = text(signed_in.get(url("mail_accounts", service)))
    assert url("mail_account_manage", service, "info") not in page
    assert "no type to change" in text(signed_in.get(url("mail_account_manage", service, "info")))


def test_webmail_and_control_panel_redirect_to_one_time_links(signed_in, mail_service, polarismail):
    service = mail_service()
    signed_in.get(url("mail_accounts", service))
    assert "Open Webmail" in text(signed_in.get(url("mail_account_webmail", service, "info")))
    response = signed_in.post(url("mail_account_webmail", service, "info"))
    assert response.status_code == 302 and response["Location"].startswith(f"{polarismail.url}/webmail/?otp=")
    assert response["Referrer-Policy"] == "no-referrer" and "no-cache" in response["Cache-Control"]
    response = signed_in.post(url("mail_account_control_panel", service, "info"))
    assert response["Location"].startswith(f"{polarismail.url}/processlogin.php?u=")
    assert ActivityLog.objects.filter(action="mail.sso").count() == 2


# --- aliases, forwarding, lists -------------------------------------------------------------------------------------

def test_aliases_add_edit_delete(signed_in, mail_service, polarismail):
    service = mail_service()
    response = signed_in.post(url("mail_aliases", service), {"local_part": "sales", "targets": "info@shop.example"},
                              follow=True)
    assert "Alias sales@shop.example added." in text(response) and "info@shop.example" in text(response)
    bad = signed_in.post(url("mail_aliases", service), {"local_part": "x", "targets": "a@b.example, c@d.example"})
    assert "At most 1 address here; use a distribution list for several." in text(bad)
    signed_in.post(url("mail_alias_edit", service, "sales"), {"targets": "boss@other.example"})
    assert polarismail.domain("shop.example").aliases == {"sales": "boss@other.example"}
    assert "Mail to sales@shop.example will no longer reach" in text(
        signed_in.get(url("mail_alias_delete", service, "sales"))
    )
    signed_in.post(url("mail_alias_delete", service, "sales"))
    assert polarismail.domain("shop.example").aliases == {}
    assert signed_in.get(url("mail_alias_edit", service, "sales")).status_code == 404


def test_forwarding(signed_in, mail_service, polarismail):
    service = mail_service()
    signed_in.get(url("mail_accounts", service))
    assert "Not forwarded" in text(signed_in.get(url("mail_forwarding", service)))
    response = signed_in.post(
        url("mail_forward_edit", service, "info"), {"targets": "me@home.example\nyou@home.example"}, follow=True
    )
    assert "info@shop.example forwards to me@home.example, you@home.example." in text(response)
    assert "keep_copy" not in text(
        signed_in.get(url("mail_forward_edit", service, "info"))
    )  # PolarisMail always keeps one
    signed_in.post(url("mail_forward_edit", service, "info"), {"targets": ""})
    assert polarismail.domain("shop.example").users["info"].forwards == []


def test_distribution_lists_with_members(signed_in, mail_service, polarismail):
    service = mail_service()
    response = signed_in.post(url("mail_lists", service), {"local_part": "team", "members": "a@x.example"}, follow=True)
    assert "Distribution list team@shop.example created." in text(response) and "a@x.example" in text(response)
    signed_in.post(url("mail_list", service, "team"), {"action": "add", "member": "b@x.example"})
    duplicate = signed_in.post(url("mail_list", service, "team"), {"action": "add", "member": "b@x.example"})
    assert "already in use" in text(duplicate) or "already" in " ".join(
        duplicate.context["form"].errors.get("member", [])
    )
    signed_in.post(url("mail_list", service, "team"), {"action": "remove", "member": "a@x.example"})
    assert polarismail.domain("shop.example").lists["team"].members == ["b@x.example"]
    signed_in.post(url("mail_list_delete", service, "team"))
    assert polarismail.domain("shop.example").lists == {}
    assert signed_in.get(url("mail_list", service, "team")).status_code == 404


# --- DKIM, branding, domain aliases, DNS guide ----------------------------------------------------------------------

def test_dkim_enable_shows_the_record(signed_in, mail_service, polarismail):
    service = mail_service()
    assert "Enable DKIM" in text(signed_in.get(url("mail_dkim", service)))
    page = text(signed_in.post(url("mail_dkim", service), {"action": "enable"}, follow=True))
    assert "DKIM is on: publish the record below." in page and "polaris._domainkey.shop.example" in page
    assert polarismail.domain("shop.example").dkim_key in page
    guide = text(signed_in.get(url("mail_dns", service)))
    assert "polaris._domainkey.shop.example" in guide and "v=DMARC1; p=none" in guide
    signed_in.post(url("mail_dkim", service), {"action": "disable"})
    assert polarismail.domain("shop.example").dkim_enabled is False


def test_dkim_waits_for_domain_verification(signed_in, mail_service, polarismail):
    service = mail_service()
    polarismail.domain("shop.example").verified = False
    page = text(signed_in.get(url("mail_dkim", service)))
    assert "Verify your domain first" in page and "polarismail-verify=shop.example" in page
    assert "Enable DKIM" not in page
    assert "polarismail-verify=shop.example" in text(signed_in.get(url("mail_dns", service)))


def png(size=(4, 4)):
    data = io.BytesIO()
    Image.new("RGB", size, "red").save(data, "PNG")
    data.seek(0)
    data.name = "logo.png"
    return data


def test_branding_save_validate_and_reset(signed_in, mail_service, polarismail):
    service = mail_service()
    response = signed_in.post(url("mail_branding", service), {
        "action": "save", "brand_name": "Shop Mail", "support_email": "help@shop.example", "color": "#123ABC",
        "logo": png()}, follow=True)
    assert "Webmail branding saved." in text(response)
    domain = polarismail.domain("shop.example")
    assert domain.branding == {"brandname": "Shop Mail", "supportemail": "help@shop.example", "brandcolor": "123abc"}
    assert domain.logo.startswith(b"\x89PNG")
    fake = io.BytesIO(b"<svg onload=alert(1)>")
    fake.name = "logo.png"
    bad = signed_in.post(url("mail_branding", service), {"action": "save", "brand_name": "x", "color": "#123abc",
                                                         "logo": fake})
    assert "The logo must be a PNG, JPEG or GIF image." in " ".join(bad.context["form"].errors["logo"])
    big = io.BytesIO(b"\x89PNG" + b"\0" * 600_000)
    big.name = "big.png"
    bad = signed_in.post(url("mail_branding", service), {"action": "save", "color": "#123abc", "logo": big})
    assert "at most 512 KB is allowed" in " ".join(bad.context["form"].errors["logo"])
    signed_in.post(url("mail_branding", service), {"action": "reset"})
    assert domain.branding == {} and domain.logo == b""


def test_domain_aliases_add_and_remove(signed_in, mail_service, polarismail):
    service = mail_service()
    response = signed_in.post(url("mail_domain_aliases", service), {"action": "add", "name": "Shop.ORG"}, follow=True)
    assert "Domain alias shop.org added" in text(response)
    same = signed_in.post(url("mail_domain_aliases", service), {"action": "add", "name": "shop.example"})
    assert same.context["form"].errors["name"] == ["That is this service's own domain."]
    signed_in.post(url("mail_domain_aliases", service), {"action": "remove", "name": "shop.org"})
    assert polarismail.domain("shop.example").alias_domains == []


def test_the_dns_guide_uses_the_product_options(signed_in, mail_service):
    service = mail_service(dns_mx_hosts=["mx1.mail.example", "mx2.mail.example"], dns_spf_include="spf.mail.example",
                           dns_dmarc_policy="quarantine", dns_dmarc_report_email="dmarc@shop.example",
                           dns_autodiscover_host="auto.mail.example", client_mail_host="imap.mail.example",
                           protocols=["imap", "smtp"])
    page = text(signed_in.get(url("mail_dns", service)))
    for expected in ("10 mx1.mail.example", "20 mx2.mail.example", "v=spf1 include:spf.mail.example ~all",
                     "v=DMARC1; p=quarantine; rua=mailto:dmarc@shop.example", "autodiscover.shop.example",
                     "imap.mail.example", "IMAP (incoming)", "SMTP (outgoing)", "https://login.emailarray.com"):
        assert expected in page, expected
    assert "POP3" not in page


# --- provider trouble -----------------------------------------------------------------------------------------------

def test_a_provider_that_is_down_gives_a_page_with_words_not_a_500(signed_in, mail_service, polarismail):
    service = mail_service()
    signed_in.get(url("mail_accounts", service))
    polarismail.stop()
    response = signed_in.get(url("mail_accounts", service))
    assert response.status_code == 200
    assert "The mail server did not answer in time, so nothing was changed" in text(response)
    assert "info@shop.example" in text(response)  # the portal's records still show
    posted = signed_in.post(url("mail_aliases", service), {"local_part": "x", "targets": "info@shop.example"})
    assert posted.status_code == 200 and "did not answer in time" in text(posted)
    assert ModuleCall.objects.filter(success=False).count() >= 2


def test_an_unexpected_refusal_gives_a_reference_for_support(signed_in, mail_service, polarismail, monkeypatch):
    from provisioning.modules.polarismail.simulator import Failed

    service = mail_service()

    def refuse(form, request):
        raise Failed("Internal policy 42")

    monkeypatch.setattr(polarismail, "admin_enableDKIM", refuse)
    page = text(signed_in.post(url("mail_dkim", service), {"action": "enable"}, follow=True))
    call = ModuleCall.objects.get(action="mail.dkim_enable")
    assert f"please contact support (reference #{call.pk})" in page
    assert "Internal policy 42" in call.error
