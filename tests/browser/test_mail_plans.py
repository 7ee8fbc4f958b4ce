"""The demo's Mail Business service in a real browser (issue 13, items 3–5): Accounts shows the plan's mailboxes
(included + bought) and the service's own disk figure, the add form states the quota limit and refuses more,
the service page's chart caption states its span. Screenshots at desktop and phone width:
tests/browser/screenshots/mail-plans-*.png."""
import pytest
from playwright.sync_api import expect

from billing.models import Product, Service
from config import demo
from portal.models import ClientUser
from provisioning import demo as provisioning_demo
from tests.browser.conftest import DESKTOP, PHONE, login_client, screenshot
from tests.provisioning.modules.smartermail.fixtures import smartermail  # noqa: F401

pytestmark = [pytest.mark.browser, pytest.mark.services]


def shots(page, name):
    screenshot(page, f"mail-plans-{name}-desktop", viewport=DESKTOP)
    screenshot(page, f"mail-plans-{name}-phone", viewport=PHONE)
    page.set_viewport_size(DESKTOP)


def test_the_demo_business_plan_adds_up_in_the_browser(page, smartermail, monkeypatch):  # noqa: F811
    monkeypatch.setenv(provisioning_demo.URL_VARIABLE, smartermail.url)
    demo._load_demo_data()
    provisioning_demo.attach_simulator()
    service = Service.objects.get(domain="acme.example", product__type=Product.Type.MAIL)
    login_client(page, ClientUser.objects.get(client=service.client, is_owner=True).user, demo.CLIENT_PASSWORD)

    page.goto(f"/mail/{service.pk}/accounts/")
    expect(page.get_by_test_id("plan-usage")).to_have_text("Basic: 1 of 5")
    expect(page.get_by_test_id("disk-usage").first).to_have_text("812 MB")
    shots(page, "accounts")

    page.goto(f"/mail/{service.pk}/add-mailbox/")
    expect(page.get_by_text("At most 76,800 MB (75 GB), your plan's disk.")).to_be_visible()
    page.fill("input[name=local_part]", "big")
    page.fill("input[name=password]", "Good-Passw0rd-12")
    page.fill("input[name=password2]", "Good-Passw0rd-12")
    page.fill("input[name=quota_mb]", "5000000")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Your plan allows at most 76,800 MB (75 GB) per mailbox.")).to_be_visible()
    assert "big" not in smartermail.domain("acme.example").users
    shots(page, "add-refused")

    page.goto(f"/services/{service.pk}/")
    expect(page.get_by_test_id("disk-usage")).to_have_text("812 MB")
    expect(page.locator("figcaption")).to_contain_text("(30 days).")
    shots(page, "service")
