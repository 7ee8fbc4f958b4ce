"""Browser fixtures: Playwright (sync API) driving Debian's Chromium against pytest-django's live_server.

- `browser` (session): one headless Chromium for the whole run. Playwright cannot download its own browser on
  these machines, so it launches /usr/bin/chromium (or $CHROMIUM_PATH). Missing or failing to start, it
  skips the browser tests locally and fails them under REQUIRE_SERVICES=1.
- `page` (per test): a fresh context (no cookies) at desktop size; `page.goto("/login/")` is relative to the
  live server. A console message about the Content-Security-Policy (an inline script or style the policy
  refused) fails the test.
- `screenshot(page, name)`: saves tests/browser/screenshots/<name>.png (gitignored).
- `login_client(page, user)` / `login_admin(page, user)`: sign in through the real forms with
  tests.factories.PASSWORD (and, for staff with an authenticator device, the two-factor code step).

Use the `live_server` fixture (through `page`), which makes the test transactional: rows made by factories are
committed, so the server thread sees them.
"""
import os
import re
from pathlib import Path

import pytest

from tests.conftest import service_unavailable, totp_code
from tests.factories import PASSWORD

# Playwright's sync API keeps an asyncio event loop in this thread; Django's ORM would refuse to run from the
# test body (SynchronousOnlyOperation) without this. The ORM is still used synchronously only.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

SCREENSHOTS = Path(__file__).resolve().parent / "screenshots"
DESKTOP = {"width": 1366, "height": 900}
PHONE = {"width": 390, "height": 844}
DEFAULT_TIMEOUT_MS = 15_000
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-quic",
    "--no-first-run",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


def chromium_path():
    return os.environ.get("CHROMIUM_PATH") or "/usr/bin/chromium"


@pytest.fixture(scope="session")
def playwright_instance():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as exc:
        service_unavailable(f"The playwright package is not installed: {exc}")
    try:
        playwright = sync_playwright().start()
    except Exception as exc:  # the driver (bundled node) failed to start
        service_unavailable(f"Playwright's driver did not start: {exc}")
    yield playwright
    playwright.stop()


@pytest.fixture(scope="session")
def browser(playwright_instance):
    path = chromium_path()
    if not (os.path.isfile(path) and os.access(path, os.X_OK)):
        service_unavailable(f"Chromium not found at {path} (install Debian's chromium, or set CHROMIUM_PATH)")
    try:
        browser = playwright_instance.chromium.launch(
            executable_path=path, headless=True, args=CHROMIUM_ARGS, timeout=60_000
        )
    except Exception as exc:
        service_unavailable(f"Chromium at {path} did not start: {exc}")
    yield browser
    browser.close()


@pytest.fixture
def page(browser, live_server):
    context = browser.new_context(viewport=DESKTOP, base_url=live_server.url, locale="en-US")
    context.set_default_timeout(DEFAULT_TIMEOUT_MS)
    page = context.new_page()
    # The Content-Security-Policy (docs/security.md) allows no inline script or style: any page that still has
    # one shows it as a console error, and every browser test fails on it.
    refused = []
    page.on("console", lambda message: refused.append(message.text) if "Content Security Policy" in message.text
            else None)
    yield page
    context.close()
    assert refused == [], refused


def screenshot(page, name, *, viewport=None):
    """Save a full-page PNG under tests/browser/screenshots/, optionally at another viewport size first."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    if viewport is not None:
        page.set_viewport_size(viewport)
    path = SCREENSHOTS / f"{re.sub(r'[^A-Za-z0-9_.-]+', '-', name)}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def login_client(page, user, password=PASSWORD):
    """Sign in to the client area through /login/ and wait for the dashboard."""
    page.goto("/login/")
    page.fill("input[name=username]", user.username)
    page.fill("input[name=password]", password)
    with page.expect_navigation():
        page.get_by_role("button", name="Sign in").click()


def login_admin(page, user, password=PASSWORD):
    """Sign in to the staff area through Django admin's login form, then its two-factor code step when the user
    has an authenticator device (tests.conftest.two_factor_device: needed for log in as client and control panel
    logins)."""
    from django_otp.plugins.otp_totp.models import TOTPDevice

    page.goto("/admin/")
    page.wait_for_url(re.compile(r"/admin/login/"))
    page.fill("input[name=username]", user.username)
    page.fill("input[name=password]", password)
    with page.expect_navigation():
        page.locator("input[type=submit], button[type=submit]").first.click()
    device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    if device is not None:
        page.wait_for_url(re.compile(r"/admin/two-factor/verify/"))
        page.fill("input[name=code]", totp_code(device))
        with page.expect_navigation():
            page.get_by_role("button", name="Sign in").click()
