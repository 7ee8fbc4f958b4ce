"""The staff area's CDR imports list fits a 1280 px window: every column, the Created date included, is inside
the window without sideways scrolling. Screenshots: tests/browser/screenshots/voip-imports-list-*.png."""
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import login_admin, screenshot
from tests.factories import StaffFactory
from tests.voip.factories import CdrSourceFactory
from voip.models import CdrImport

pytestmark = [pytest.mark.browser, pytest.mark.services]


@pytest.fixture
def imports(db):
    source = CdrSourceFactory(name="FusionPBX (Toronto PBX cluster, hourly)")
    rows = [
        CdrImport.objects.create(source=source, kind=CdrImport.Kind.UPLOAD, status=CdrImport.Status.DONE,
                                 file_name="fusionpbx-cdr-export-2026-12-01-to-2026-12-07-full.csv",
                                 lines_read=125_000, inserted=123_456, duplicates=1_234, rated=120_000,
                                 unrated=3_456, invalid=12, unmatched=310, charged=Decimal("12345.6789")),
        CdrImport.objects.create(source=source, kind=CdrImport.Kind.UPLOAD, status=CdrImport.Status.RUNNING,
                                 file_name="short.csv", bytes_total=1000, bytes_done=250, lines_read=40),
    ]
    return StaffFactory(is_superuser=True), rows


def test_the_cdr_imports_list_fits_1280_px_with_its_created_column_visible(page, imports):
    staff, rows = imports
    page.set_viewport_size({"width": 1280, "height": 900})
    login_admin(page, staff)
    page.goto("/admin/voip/cdrimport/")
    table = page.locator("#result_list")
    expect(table).to_be_visible()
    screenshot(page, "voip-imports-list-1280")
    assert page.evaluate("document.documentElement.scrollWidth") <= 1280
    results = page.locator("#changelist .results")
    assert results.evaluate("el => [el.scrollWidth, el.clientWidth]") == [results.evaluate("el => el.clientWidth")] * 2
    created = page.locator("#result_list thead th", has_text="Created")
    expect(created).to_be_visible()
    right_edge = results.bounding_box()["x"] + results.bounding_box()["width"]
    assert created.bounding_box()["x"] + created.bounding_box()["width"] <= right_edge
    for cell in page.locator("#result_list tbody td, #result_list tbody th").all():
        box = cell.bounding_box()
        assert box["x"] + box["width"] <= right_edge + 0.5, cell.inner_text()
    expect(page.locator("#result_list tbody tr").first).to_contain_text("25% (40 lines)")


def test_on_a_phone_the_cdr_imports_page_does_not_scroll_sideways(page, imports):
    staff, rows = imports
    page.set_viewport_size({"width": 390, "height": 844})
    login_admin(page, staff)
    page.goto("/admin/voip/cdrimport/")
    expect(page.locator("#result_list")).to_be_visible()
    screenshot(page, "voip-imports-list-390")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
