"""Staff lists at a phone's width (390 px) scroll down only, never sideways, even with many pages of links
(Django keeps them on one line)."""
import pytest
from django.contrib import admin

from portal.models import Client
from tests.browser.conftest import PHONE, login_admin, screenshot
from tests.factories import ClientFactory, StaffFactory

pytestmark = pytest.mark.browser


def test_a_list_of_many_pages_wraps_its_page_links_on_a_phone(page, live_server, monkeypatch):
    ClientFactory.create_batch(12)
    monkeypatch.setattr(admin.site.get_model_admin(Client), "list_per_page", 1)
    login_admin(page, StaffFactory(is_superuser=True))
    page.set_viewport_size(PHONE)
    page.goto("/admin/portal/client/?p=6")
    assert page.locator(".paginator").first.locator("li").count() == 12
    screenshot(page, "admin-list-paginator-phone")
    assert page.evaluate("document.documentElement.scrollWidth") == PHONE["width"]
