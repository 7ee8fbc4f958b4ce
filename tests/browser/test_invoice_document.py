"""The invoice as a legal document in a real browser (issue 17): the client's invoice page at 1280 and 390 px wide
shows the seller and buyer blocks, the lines with their periods, the tax breakdown, the totals and the bank
transfer details without running off the screen; the staff print view shows the same. Screenshots:
tests/browser/screenshots/invoice-document-*.png."""
from datetime import date, timedelta
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from billing.demo import load_seller_profile
from billing.models import InvoiceItem, InvoiceTaxLine
from billing.payment_reference import invoice_reference_display
from tests.browser.conftest import PHONE, login_admin, login_client, screenshot
from tests.factories import ClientFactory, InvoiceFactory, StaffFactory

pytestmark = [pytest.mark.browser, pytest.mark.services]


def demo_invoice():
    load_seller_profile()
    client = ClientFactory(company_name="Evans Bakery Ltd", first_name="Erin", last_name="Evans", country="GB",
                           address1="3 Market Row", city="Leeds", postcode="LS1 6DT", currency="GBP")
    invoice = InvoiceFactory(client=client, currency="GBP", tax_rate=Decimal("20.000"), subtotal=Decimal("54.00"),
                             tax=Decimal("10.80"), total=Decimal("64.80"), amount_paid=Decimal("10.00"))
    start = date(2026, 12, 1)
    InvoiceItem.objects.bulk_create([
        InvoiceItem(invoice=invoice, kind="service", description="Mail Business – evans-bakery-and-patisserie.example "
                    "(10 mailboxes, archiving)", amount=Decimal("49.00"), period_start=start,
                    period_end=start + timedelta(days=30)),
        InvoiceItem(invoice=invoice, description="Setup fee", amount=Decimal("5.00"), sort_order=1),
    ])
    InvoiceTaxLine.objects.create(invoice=invoice, level=1, name="VAT", rate=Decimal("20.000"), country="GB",
                                  base=Decimal("54.00"), tax=Decimal("10.80"))
    return client, invoice


def test_the_client_invoice_page_shows_every_block_at_desktop_and_phone_width(page):
    client, invoice = demo_invoice()
    login_client(page, client.owner_user)
    for name, viewport in (("desktop", {"width": 1280, "height": 900}), ("phone", PHONE)):
        page.set_viewport_size(viewport)
        page.goto(f"/invoices/{invoice.pk}/")
        expect(page.get_by_test_id("seller")).to_contain_text("Demo Hosting Ltd")
        expect(page.get_by_test_id("seller")).to_contain_text("VAT / tax ID: GB123456789")
        expect(page.get_by_test_id("buyer")).to_contain_text("Evans Bakery Ltd")
        periods = page.locator(".invoice-lines").get_by_text("2026-12-01 – 2026-12-31")
        expect(periods.locator("visible=true")).to_have_count(1)  # a column on a desktop, under the line on a phone
        expect(page.locator(".invoice-lines").get_by_text("49.00")).to_be_in_viewport()
        expect(page.get_by_test_id("tax-breakdown")).to_contain_text("20 %")
        expect(page.get_by_test_id("totals")).to_contain_text("54.80 GBP")  # the balance
        expect(page.get_by_test_id("payment")).to_contain_text(invoice_reference_display(invoice))
        expect(page.get_by_test_id("payment")).to_contain_text("GB29 NWBK 6016 1331 9268 19")
        # nothing wider than the screen: neither the page nor the lines table scrolls sideways
        assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"], name
        table = page.locator(".invoice-lines").evaluate("t => [t.scrollWidth, t.parentElement.clientWidth]")
        assert table[0] <= table[1], name
        screenshot(page, f"invoice-document-client-{name}")


def test_staff_print_view_shows_the_same_document(page):
    client, invoice = demo_invoice()
    staff = StaffFactory(is_superuser=True)
    login_admin(page, staff)
    page.goto(f"/admin/billing/invoice/{invoice.pk}/document/")
    expect(page.get_by_test_id("seller")).to_contain_text("Demo Hosting Ltd")
    expect(page.get_by_test_id("buyer")).to_contain_text("Evans Bakery Ltd")
    expect(page.get_by_test_id("seller-footer")).to_contain_text("Late Payment of Commercial Debts")
    screenshot(page, "invoice-document-staff-print")
