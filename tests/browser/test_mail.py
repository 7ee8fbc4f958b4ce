"""The mail client area in a real browser against the PolarisMail simulator (seed 003): add a mailbox and see it
listed; change its type and see the prorated amount; add an alias and a forwarder; enable DKIM and see the
record; click Webmail and land on the simulator's auto-login page; staff logs in as the client and returns.
Screenshots of each main page at desktop and phone width: tests/browser/screenshots/mail-*.png."""
import re

import pytest
from django.contrib.auth.models import Permission
from playwright.sync_api import expect

from portal.models import ActivityLog
from tests.browser.conftest import DESKTOP, PHONE, login_admin, login_client, screenshot
from tests.conftest import two_factor_device
from tests.factories import StaffFactory
from tests.provisioning.mail.helpers import paid_period, polaris_mail_service
from tests.provisioning.modules.polarismail.fixtures import polarismail  # noqa: F401

pytestmark = [pytest.mark.browser, pytest.mark.services]
DOMAIN = "acme-mail.example"


@pytest.fixture
def service(polarismail, owner):  # noqa: F811
    made = polaris_mail_service(
        polarismail, owner, domain=DOMAIN, basic=3, enhanced=1,
        users=[{"username": "info", "password": "Info-Passw0rd", "uname": "Front desk", "quota_gb": 2, "used_mb": 700},
               {"username": "ceo", "password": "Ceo-Passw0rd1", "uname": "Dana Boss", "account_type": 2, "quota_gb": 10,
                "used_mb": 9300}],
        lists={"team": ["info@acme-mail.example", "ceo@acme-mail.example"]},
        dns_mx_hosts=["mx1.emailarray.com", "mx2.emailarray.com"], dns_spf_include="spf.emailarray.com",
    )
    return paid_period(made)


def shots(page, name):
    """The page at desktop and at phone width (390×844)."""
    screenshot(page, f"mail-{name}-desktop", viewport=DESKTOP)
    screenshot(page, f"mail-{name}-phone", viewport=PHONE)
    page.set_viewport_size(DESKTOP)


def open_accounts(page, service):
    page.goto(f"/mail/{service.pk}/accounts/")
    expect(page.get_by_test_id("mailbox-list")).to_be_visible()


def icon(page, label):
    return page.get_by_test_id("mail-icons").get_by_role(
        "link", name=re.compile(rf"^{re.escape(label)}\b".replace("/", r"\/"))
    )


def row(page, address):
    return page.locator(f'.mailbox-row[data-address="{address}"]')


def test_add_a_mailbox_and_see_it_listed(page, service, owner, polarismail):  # noqa: F811
    login_client(page, owner.owner_user)
    page.goto(f"/services/{service.pk}/")
    page.get_by_role("link", name="Manage email").click()
    expect(page.get_by_test_id("mail-icons")).to_be_visible()
    for label in ("Accounts", "Aliases", "Forwarding", "Distribution Lists", "DKIM Setup", "Branding",
                  "Upgrade/Downgrade", "Request Cancellation"):
        expect(icon(page, label)).to_be_visible()
    shots(page, "dashboard")

    icon(page, "Accounts").click()
    expect(row(page, "info@acme-mail.example")).to_contain_text("700 of 2048 MB used")
    shots(page, "accounts")

    page.get_by_role("link", name="Add Mailbox").click()
    expect(page.get_by_text("At least 8 characters, with upper- and lower-case letters and a digit.")).to_be_visible()
    page.fill("#id_local_part", "sales")
    page.fill("#id_name", "Sales team")
    page.fill("#id_password", "weak")
    page.fill("#id_password2", "weak")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#error_1_id_password")).to_contain_text("Use at least 8 characters.")
    shots(page, "add-mailbox-error")
    page.fill("#id_password", "Sales-Passw0rd")
    page.fill("#id_password2", "Sales-Passw0rd")
    page.fill("#id_quota_mb", "1024")
    page.select_option("#id_mailbox_type", "basic")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("alert")).to_contain_text("Mailbox sales@acme-mail.example created.")
    expect(row(page, "sales@acme-mail.example")).to_contain_text("Sales team")
    expect(row(page, "sales@acme-mail.example")).to_contain_text("0 of 1024 MB used")
    assert polarismail.domain(DOMAIN).users["sales"].quota_gb == 1


def test_change_a_mailboxs_type_and_see_the_prorated_amount(page, service, owner, polarismail):  # noqa: F811
    login_client(page, owner.owner_user)
    open_accounts(page, service)
    row(page, "info@acme-mail.example").get_by_role("button", name="Settings for info@acme-mail.example").click()
    shots(page, "accounts-settings-menu")
    row(page, "info@acme-mail.example").get_by_role("link", name="Manage").click()
    expect(page.get_by_test_id("current-type")).to_have_text("Basic")
    page.select_option("#id_to_type", "enhanced")
    page.get_by_role("button", name="Show the price").click()
    # 5.00 + 3×2.00 + 1×6.00 = 17.00 → 21.00; 15 of 30 days left: 4.00 × 15/30 = 2.00
    expect(page.get_by_test_id("prorated-amount")).to_have_text("2.00 USD")
    shots(page, "manage-type-quote")
    assert polarismail.domain(DOMAIN).users["info"].account_type == 1  # nothing saved before Save
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("alert")).to_contain_text("info@acme-mail.example is now Enhanced. Invoice")
    expect(row(page, "info@acme-mail.example").get_by_test_id("mailbox-type")).to_have_text("Enhanced")
    assert polarismail.domain(DOMAIN).users["info"].account_type == 2


def test_add_an_alias_and_a_forwarder(page, service, owner, polarismail):  # noqa: F811
    login_client(page, owner.owner_user)
    page.goto(f"/mail/{service.pk}/")
    icon(page, "Aliases").click()
    page.fill("#id_local_part", "hello")
    page.fill("#id_targets", "info@acme-mail.example")
    page.get_by_role("button", name="Add alias").click()
    expect(page.get_by_test_id("alias-list")).to_contain_text("hello@acme-mail.example")
    expect(page.get_by_test_id("alias-list")).to_contain_text("info@acme-mail.example")
    shots(page, "aliases")

    page.locator(".mail-sidebar").get_by_role("link", name="Forwarding").click()
    page.locator(".list-group-item", has_text="info@acme-mail.example").get_by_role("link", name="Set up").click()
    page.fill("#id_targets", "front-desk@partner.example")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("alert")).to_contain_text("info@acme-mail.example forwards to front-desk@partner.example.")
    expect(page.get_by_test_id("forward-list")).to_contain_text("front-desk@partner.example")
    shots(page, "forwarding")
    assert polarismail.domain(DOMAIN).aliases == {"hello": "info@acme-mail.example"}
    assert polarismail.domain(DOMAIN).users["info"].forwards == ["front-desk@partner.example"]


def test_enable_dkim_and_see_the_record(page, service, owner, polarismail):  # noqa: F811
    login_client(page, owner.owner_user)
    page.goto(f"/mail/{service.pk}/dkim/")
    expect(page.get_by_test_id("dkim-status")).to_have_text("Off")
    page.get_by_role("button", name="Enable DKIM").click()
    expect(page.get_by_test_id("dkim-status")).to_have_text("On: mail is signed")
    record = page.get_by_test_id("dkim-record")
    expect(record).to_contain_text("polaris._domainkey.acme-mail.example")
    expect(record).to_contain_text(polarismail.domain(DOMAIN).dkim_key)
    shots(page, "dkim")
    page.get_by_role("link", name=re.compile("All the records for your domain")).click()
    expect(page.get_by_test_id("dns-records")).to_contain_text("polaris._domainkey.acme-mail.example")
    expect(page.get_by_test_id("dns-records")).to_contain_text("v=spf1 include:spf.emailarray.com ~all")
    shots(page, "dns-guide")


def test_the_other_main_pages(page, service, owner, polarismail):  # noqa: F811
    """Distribution lists, branding and domain aliases: what a customer sees (screenshots)."""
    login_client(page, owner.owner_user)
    page.goto(f"/mail/{service.pk}/lists/")
    page.get_by_role("link", name=re.compile("team@acme-mail.example")).click()
    expect(page.get_by_test_id("member-list")).to_contain_text("ceo@acme-mail.example")
    shots(page, "list-members")
    page.goto(f"/mail/{service.pk}/branding/")
    page.fill("#id_brand_name", "Acme Mail")
    page.get_by_role("button", name="Save branding").click()
    expect(page.get_by_test_id("branding-now")).to_contain_text("Acme Mail")
    shots(page, "branding")
    page.goto(f"/mail/{service.pk}/domain-aliases/")
    page.fill("#id_name", "acme-mail.org")
    page.get_by_role("button", name="Add domain alias").click()
    expect(page.get_by_test_id("domain-alias-list")).to_contain_text("acme-mail.org")
    shots(page, "domain-aliases")


def test_webmail_opens_a_new_tab_signed_in(page, service, owner, polarismail):  # noqa: F811
    login_client(page, owner.owner_user)
    open_accounts(page, service)
    with page.expect_popup() as popup:
        row(page, "ceo@acme-mail.example").get_by_role("button", name="Webmail").click()
    webmail = popup.value
    webmail.wait_for_load_state()
    assert webmail.url.startswith(f"{polarismail.url}/webmail/?otp=")
    expect(webmail.locator("#signed-in")).to_have_text("Signed in as ceo@acme-mail.example")
    screenshot(webmail, "mail-webmail-landing")
    with page.expect_popup() as popup:
        row(page, "ceo@acme-mail.example").get_by_role("button", name="Settings for ceo@acme-mail.example").click()
        page.get_by_role("button", name="Control Panel").click()
    panel = popup.value
    panel.wait_for_load_state()
    assert panel.url.startswith(f"{polarismail.url}/processlogin.php?u=")
    expect(panel.locator("#signed-in")).to_have_text("Signed in as ceo@acme-mail.example")
    assert ActivityLog.objects.filter(action="mail.sso").count() == 2


def test_staff_logs_in_as_the_client_and_returns(page, service, owner):
    staff = StaffFactory(first_name="Sam", last_name="Support")
    staff.user_permissions.add(
        *Permission.objects.filter(codename__in=["login_as_client", "view_client", "change_client"])
    )
    two_factor_device(staff)  # log in as client / control panel logins need a session that passed it
    login_admin(page, staff)
    page.goto(f"/admin/portal/client/{owner.pk}/change/")
    screenshot(page, "mail-admin-client-page")
    page.get_by_role("button", name="Log in as client").click()
    banner = page.get_by_test_id("impersonation-banner")
    expect(banner).to_contain_text("Sam Support, you are logged in as the client")
    expect(page.get_by_role("heading", name=f"Welcome back, {owner.first_name}")).to_be_visible()
    shots(page, "impersonation-banner")
    page.goto(f"/mail/{service.pk}/accounts/")
    expect(banner).to_be_visible()
    expect(row(page, "info@acme-mail.example")).to_be_visible()  # exactly what the client sees
    banner.get_by_role("button", name="Return to admin").click()
    expect(page).to_have_url(re.compile(rf"/admin/portal/client/{owner.pk}/change/$"))
    expect(page.locator("ul.messagelist")).to_contain_text("Back in the staff area")
    expect(page.get_by_test_id("impersonation-banner")).to_have_count(0)
    actions = list(ActivityLog.objects.filter(actor_user=staff).values_list("action", flat=True).order_by("id"))
    assert actions == ["client.impersonation_start", "client.impersonation_end"]


def test_the_quota_bars_are_drawn_by_the_portals_script_under_the_policy(page, service, owner, polarismail):  # noqa: F811
    """No style attribute in the page (the Content-Security-Policy): portal.js sizes the bars from data-width."""
    login_client(page, owner.owner_user)
    open_accounts(page, service)
    bars = page.locator(".mailbox-quota .progress-bar").evaluate_all(
        "bars => bars.map(bar => [bar.dataset.width, bar.style.width])")
    assert len(bars) == 2 and all(style == f"{width}%" for width, style in bars)
    assert sorted(int(width) for width, _ in bars) == [34, 91]  # 700 of 2,048 MB and 9,300 of 10,240 MB
