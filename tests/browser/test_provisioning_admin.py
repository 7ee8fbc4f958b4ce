"""Staff drive provisioning in a real browser against the SmarterMail simulator: Suspend on the service page
disables the domain on the simulator; "Log in to control panel" lands on the simulator's auto-login page.
Screenshots: tests/browser/screenshots/provisioning-*.png."""
import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from portal.activity import Actor
from portal.models import ActivityLog
from provisioning import lifecycle
from provisioning.models import UsageSample
from tests.browser.conftest import PHONE, login_admin, screenshot
from tests.conftest import two_factor_device
from tests.factories import StaffFactory
from tests.provisioning.modules.smartermail.fixtures import sm_server, sm_service, smartermail  # noqa: F401

pytestmark = [pytest.mark.browser, pytest.mark.services]


@pytest.fixture
def active_service(sm_service):  # noqa: F811
    service = sm_service(domain="browser-demo.example", max_users=10)
    lifecycle.service_create(service=service, actor=Actor.system("setup"))
    today = timezone.localdate()
    UsageSample.objects.bulk_create(
        [UsageSample(service=service, date=today - timedelta(days=d), disk_mb=Decimal(900 - d * 10)) for d in range(30)]
    )
    service.refresh_from_db()
    return service


def test_staff_suspends_a_service_and_the_simulator_disables_the_domain(page, live_server, active_service, smartermail):  # noqa: F811
    staff = StaffFactory(is_superuser=True)
    login_admin(page, staff)
    page.goto(f"/admin/billing/service/{active_service.pk}/change/")
    expect(page.get_by_test_id("service-status")).to_have_text("Active")
    expect(page.locator("svg.usage-chart")).to_be_visible()
    screenshot(page, "provisioning-service-page-active")

    page.fill("#id_suspend_reason_text", "Abuse report #42")
    with page.expect_navigation():
        page.get_by_role("button", name="Suspend").click()

    expect(page.locator("ul.messagelist")).to_contain_text("Suspended browser-demo.example.")
    expect(page.get_by_test_id("service-status")).to_have_text("Suspended")
    assert smartermail.domain("browser-demo.example").is_enabled is False
    screenshot(page, "provisioning-service-page-suspended")


def test_the_service_page_with_its_suspend_reason_fits_a_phone(page, live_server, active_service):
    login_admin(page, StaffFactory(is_superuser=True))
    page.set_viewport_size(PHONE)
    page.goto(f"/admin/billing/service/{active_service.pk}/change/")
    expect(page.locator("#id_suspend_reason_text")).to_be_visible()
    expect(page.get_by_role("button", name="Suspend")).to_be_visible()
    screenshot(page, "provisioning-service-page-phone")
    assert page.evaluate("document.documentElement.scrollWidth") == PHONE["width"]


def test_the_control_panel_jump_lands_on_the_simulators_auto_login_url(page, live_server, active_service, smartermail):  # noqa: F811
    staff = StaffFactory(is_superuser=True)
    two_factor_device(staff)  # log in as client / control panel logins need a session that passed it
    login_admin(page, staff)
    page.goto(f"/admin/billing/service/{active_service.pk}/change/")

    with page.expect_popup() as popup_info:
        page.get_by_role("button", name=re.compile("Log in to control panel")).click()
    panel = popup_info.value
    panel.wait_for_load_state()
    assert panel.url.startswith(f"{smartermail.url}/interface/autologin?autologin=")
    expect(panel.locator("#signed-in")).to_have_text("Signed in as admin@browser-demo.example")
    expect(panel.locator("#domain-state")).to_have_text("enabled")
    screenshot(panel, "provisioning-control-panel-landing")
    assert ActivityLog.objects.filter(action="service.sso", actor_user=staff).count() == 1
