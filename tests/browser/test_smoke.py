"""Smoke tests in a real browser: a client signs in to the client area, a superuser signs in to the staff area.
Screenshots land in tests/browser/screenshots/ (desktop; the client dashboard also at phone width)."""
import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import PHONE, login_admin, login_client, screenshot
from tests.factories import ServiceFactory, StaffFactory

pytestmark = [pytest.mark.browser, pytest.mark.services]


def test_client_signs_in_and_sees_only_their_services(page, live_server):
    mine = ServiceFactory()
    others = ServiceFactory()  # another client's service, which must not show
    client = mine.client

    page.goto("/login/")
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    screenshot(page, "client-login-desktop")

    login_client(page, client.owner_user)

    expect(page).to_have_url(re.compile(r"^" + re.escape(live_server.url) + r"/(\?.*)?$"))
    expect(page.locator("h1")).to_contain_text(f"Welcome back, {client.first_name}")
    expect(page.get_by_role("cell", name=mine.domain)).to_be_visible()
    body = page.locator("body")
    expect(body).to_contain_text(mine.domain)
    expect(body).not_to_contain_text(others.domain)
    screenshot(page, "client-dashboard-desktop")
    screenshot(page, "client-dashboard-phone", viewport=PHONE)
    # The phone layout still shows the greeting and the service.
    expect(page.locator("h1")).to_contain_text("Welcome back")
    expect(body).to_contain_text(mine.domain)


def test_superuser_signs_in_to_admin_and_sees_automation_status(page, live_server):
    staff = StaffFactory(is_superuser=True)

    page.goto("/admin/")
    expect(page.locator("input[name=password]")).to_be_visible()
    screenshot(page, "admin-login-desktop")

    login_admin(page, staff)

    expect(page).to_have_url(re.compile(r"/admin/$"))
    expect(page.get_by_role("table", name="Automation status")).to_be_visible()
    screenshot(page, "admin-index-desktop")


@pytest.mark.parametrize("path", ["/login/", "/admin/login/"])
def test_the_client_and_staff_pages_name_an_icon_that_exists(page, live_server, path):
    page.goto(path)
    icon = page.locator("link[rel=icon]")
    assert icon.count() == 1
    answer = page.request.get(icon.get_attribute("href"))
    assert answer.status == 200 and answer.headers["content-type"] == "image/svg+xml"
