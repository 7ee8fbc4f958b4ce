"""Two-factor sign-in in a real browser, at 1,280 and 390 px: a client turns it on from the page (QR code, key,
code, recovery codes) and signs in again with a code; a staff member does the same in the staff area."""
import re

import pytest
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import expect

from tests.browser.conftest import PHONE, login_admin, login_client, screenshot
from tests.conftest import totp_code
from tests.factories import PASSWORD, ClientFactory, StaffFactory

pytestmark = [pytest.mark.browser, pytest.mark.services]
WIDE = {"width": 1280, "height": 900}


def fits(page):
    """Nothing sticks out sideways at this width."""
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def turn_on(page, user, shot):
    """On the two-factor page (already open): check the QR code and key, enter the app's code, see the codes."""
    expect(page.get_by_test_id("qr-code").locator("svg")).to_be_visible()
    expect(page.get_by_test_id("secret")).to_have_text(re.compile(r"^[A-Z2-7]{4}( [A-Z2-7]{4}){7}$"))
    for name, size in (("wide", WIDE), ("phone", PHONE)):
        screenshot(page, f"{shot}-setup-{name}", viewport=size)
        assert fits(page), f"{shot} setup page is wider than {size['width']} px"
    page.set_viewport_size(WIDE)
    page.fill("input[name=code]", totp_code(TOTPDevice.objects.get(user=user, confirmed=False)))
    with page.expect_navigation():
        page.get_by_role("button", name="Turn on").click()
    expect(page.get_by_test_id("two-factor-on")).to_be_visible()
    expect(page.get_by_test_id("recovery-codes").locator("li")).to_have_count(10)
    for name, size in (("wide", WIDE), ("phone", PHONE)):
        screenshot(page, f"{shot}-codes-{name}", viewport=size)
        assert fits(page), f"{shot} recovery codes are wider than {size['width']} px"
    page.set_viewport_size(WIDE)


def test_a_client_turns_on_two_factor_and_signs_in_with_a_code(page, live_server):
    owner = ClientFactory().owner_user
    page.set_viewport_size(WIDE)
    login_client(page, owner)
    page.goto("/profile/")
    page.get_by_role("link", name="Two-factor sign-in").click()
    turn_on(page, owner, "two-factor-client")

    page.get_by_role("button", name=re.compile(owner.client_user.client.full_name)).click()
    with page.expect_navigation():
        page.get_by_role("button", name="Sign out").click()
    login_client(page, owner)
    expect(page).to_have_url(re.compile(r"/login/code/$"))
    for name, size in (("wide", WIDE), ("phone", PHONE)):
        screenshot(page, f"two-factor-client-verify-{name}", viewport=size)
        assert fits(page)
    device = TOTPDevice.objects.get(user=owner)
    page.fill("input[name=code]", totp_code(device, steps_ahead=1))  # the setup used this step's code
    with page.expect_navigation():
        page.get_by_role("button", name="Sign in").click()
    expect(page.locator("h1")).to_contain_text("Welcome back")


def test_a_staff_member_turns_on_two_factor_and_the_admin_login_asks_for_the_code(page, live_server):
    staff = StaffFactory(is_superuser=True)
    page.set_viewport_size(WIDE)
    login_admin(page, staff)
    page.get_by_role("link", name="Two-factor sign-in").click()
    turn_on(page, staff, "two-factor-staff")

    with page.expect_navigation():
        page.locator("#logout-form button").click()
    page.goto("/admin/")
    page.fill("input[name=username]", staff.username)
    page.fill("input[name=password]", PASSWORD)
    with page.expect_navigation():
        page.locator("input[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/admin/two-factor/verify/$"))
    for name, size in (("wide", WIDE), ("phone", PHONE)):
        screenshot(page, f"two-factor-staff-verify-{name}", viewport=size)
        assert fits(page)
    page.fill("input[name=code]", totp_code(TOTPDevice.objects.get(user=staff), steps_ahead=1))
    with page.expect_navigation():
        page.get_by_role("button", name="Sign in").click()
    expect(page.locator("#site-name")).to_contain_text("Portal staff area")
    expect(page).to_have_url(re.compile(r"/admin/$"))
