"""The staff area's bank statement lists fit a 1280 px window: every column of the statements list and of the
statement lines list is inside the window without the table scrolling sideways (as the CDR imports list,
issue 13 item 11). Screenshots: tests/browser/screenshots/bank-statements-*.png, bank-lines-*.png."""
import pytest
from playwright.sync_api import expect

from payments.bank.matching import import_file
from payments.demo import UNMATCHED_LINE, camt053
from payments.models import BankStatement
from portal.activity import Actor
from tests.browser.conftest import login_admin, screenshot
from tests.factories import StaffFactory

pytestmark = [pytest.mark.browser, pytest.mark.services]


@pytest.fixture
def statement(db):
    staff = StaffFactory(is_superuser=True)
    lines = [UNMATCHED_LINE, {**UNMATCHED_LINE, "ref": "DEMO-BANK-0003-WITH-A-LONG-BANK-REFERENCE-0000000001",
                              "name": "Northwind Traders International Holdings Ltd (accounts payable)"}]
    import_file(data=camt053(lines), format=BankStatement.Format.CAMT053, actor=Actor.staff(staff),
                filename="statement-2026-12-07-business-account-export-from-online-banking.camt053.xml")
    return staff


def assert_every_cell_inside_the_table_box(page):
    results = page.locator("#changelist .results")
    assert results.evaluate("el => el.scrollWidth <= el.clientWidth")
    right_edge = results.bounding_box()["x"] + results.bounding_box()["width"]
    for cell in page.locator("#result_list thead th, #result_list tbody td, #result_list tbody th").all():
        box = cell.bounding_box()
        assert box["x"] + box["width"] <= right_edge + 0.5, cell.inner_text()


@pytest.mark.parametrize("width", [1280, 390])
@pytest.mark.parametrize("path, name", [("/admin/payments/bankstatement/", "bank-statements"),
                                        ("/admin/payments/statementline/", "bank-lines")])
def test_the_bank_statement_lists_fit_the_window_without_sideways_scrolling(page, statement, path, name, width):
    """At 1,280 px every column is inside the table's box; on a phone the page itself does not scroll sideways
    (the table may, inside its own box, as every staff list does)."""
    page.set_viewport_size({"width": width, "height": 900})
    login_admin(page, statement)
    page.goto(path)
    expect(page.locator("#result_list")).to_be_visible()
    screenshot(page, f"{name}-{width}")
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    if width == 1280:
        assert_every_cell_inside_the_table_box(page)
