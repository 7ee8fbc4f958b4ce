"""The staff dashboard in a real browser: it fits the window (no sideways scrolling) at desktop and phone widths,
and the job states are readable badges. Screenshots: tests/browser/screenshots/staff-dashboard-*.png."""
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from portal.jobs import record_beat_start
from portal.models import JobRun
from tests.billing.automation.conftest import unpaid_invoice
from tests.browser.conftest import login_admin, screenshot
from tests.factories import ClientFactory, ServiceFactory, StaffFactory

pytestmark = [pytest.mark.browser, pytest.mark.services]

WIDTHS = [1280, 390]


def relative_luminance(rgb):
    def channel(value):
        value /= 255
        return value / 12.92 if value <= 0.03928 else ((value + 0.055) / 1.055) ** 2.4
    red, green, blue = (channel(v) for v in rgb)
    return 0.2126 * red + 0.7152 * green + 0.0722 * blue


def contrast(first, second):
    light, dark = sorted((relative_luminance(first), relative_luminance(second)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def colours(locator):
    """(text colour, background colour) of an element as RGB tuples, from the computed style."""
    return locator.evaluate("""el => { const s = getComputedStyle(el);
        const rgb = v => v.match(/\\d+(\\.\\d+)?/g).slice(0, 3).map(Number);
        return [rgb(s.color), rgb(s.backgroundColor)]; }""")


@pytest.fixture
def busy_dashboard(db):
    """Jobs in every state, with the long texts a real installation shows (a failed job's error, run times), and an
    automation preview with a row: a long-named client's long domain, 40 days overdue."""
    now = timezone.now()
    overdue = timezone.localdate() - timedelta(days=40)
    client = ClientFactory(company_name="Northwind Traders International Holdings Limited")
    service = ServiceFactory(client=client, domain="a-rather-long-subdomain.northwind-traders-international.example",
                             next_due_date=overdue)
    unpaid_invoice(service, due=overdue)
    record_beat_start(now)
    JobRun.objects.create(name="heartbeat", status="success", last_started_at=now, last_finished_at=now,
                          last_success_at=now, run_count=3)
    JobRun.objects.create(name="email_queue", status="failed", last_started_at=now, last_finished_at=now,
                          last_error="OperationalError: " + "connection to server at mail.example.com refused; " * 6)
    return StaffFactory(is_superuser=True)


@pytest.mark.parametrize("width", WIDTHS)
def test_staff_dashboard_fits_the_window_without_sideways_scrolling(page, busy_dashboard, width):
    page.set_viewport_size({"width": width, "height": 900})
    login_admin(page, busy_dashboard)
    expect(page.get_by_role("table", name="Automation status")).to_be_visible()
    expect(page.locator("#automation-preview tbody tr")).to_have_count(1)
    screenshot(page, f"staff-dashboard-{width}")
    assert page.evaluate("document.documentElement.scrollWidth") <= width


def test_job_states_are_badges_with_readable_contrast(page, busy_dashboard):
    page.set_viewport_size({"width": 1280, "height": 900})
    login_admin(page, busy_dashboard)
    ok = page.get_by_test_id("job-state-heartbeat")
    expect(ok).to_have_text("OK")
    failed = page.get_by_test_id("job-state-email_queue")
    expect(failed).to_have_text("Last run failed")
    waiting = page.get_by_test_id("job-state-invoice_generation")
    expect(waiting).to_contain_text("Not due yet — first run at")
    for badge in (ok, failed, waiting):
        text, background = colours(badge)
        assert contrast(text, background) >= 4.5, (badge.inner_text(), text, background)
