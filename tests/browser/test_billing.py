"""Billing in a real browser: a client orders a product for a domain, pays the invoice from credit, sees the
service active, and requests cancellation at the end of the period. Screenshots: tests/browser/screenshots/."""
import re
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from billing.models import CreditLedgerEntry, Invoice, Service
from portal.models import Client
from tests.billing.conftest import mail_product
from tests.browser.conftest import login_client, screenshot
from tests.factories import ClientFactory

pytestmark = [pytest.mark.browser, pytest.mark.services]


def test_order_pay_from_credit_and_cancel_at_the_end_of_the_period(page, live_server):
    product = mail_product(name="Mail Business")
    product.description = "Business e-mail with Basic and Enhanced mailboxes"
    product.save()
    client = ClientFactory(apply_credit_to_invoices=False)
    CreditLedgerEntry.objects.create(client=client, kind="topup", amount=Decimal("100"), description="Top-up")
    Client.objects.filter(pk=client.pk).update(credit_balance=Decimal("100"))

    login_client(page, client.owner_user)
    page.get_by_role("link", name="Order", exact=True).click()
    expect(page.locator("h1")).to_have_text("Order a new service")
    screenshot(page, "billing-1-catalogue")
    page.get_by_role("link", name="Order Mail Business").click()
    page.fill("input[name=domain]", "shop-example.com")
    page.fill("input[name=option_mailboxes_basic]", "3")
    page.fill("input[name=option_mailboxes_enhanced]", "1")
    page.get_by_role("button", name="Show the price").click()
    expect(page.get_by_test_id("order-quote")).to_contain_text("17.00")  # 5 + 3×2 + 6
    screenshot(page, "billing-2-order-price")
    page.get_by_role("button", name="Order now").click()

    expect(page.locator("h1")).to_contain_text("Invoice")
    expect(page.locator("body")).to_contain_text("Unpaid")
    screenshot(page, "billing-3-invoice-unpaid")
    page.get_by_role("button", name=re.compile(r"Pay 17\.00 USD from credit")).click()
    expect(page.locator(".alert-success")).to_contain_text("is paid")
    expect(page.locator("body")).to_contain_text("Credit applied")
    screenshot(page, "billing-4-invoice-paid")
    invoice = Invoice.objects.get(client=client)
    assert (invoice.status, invoice.credit_applied) == ("paid", Decimal("17.00"))

    page.get_by_role("link", name="Services", exact=True).click()
    page.get_by_role("link", name="shop-example.com").click()
    expect(page.locator("h1")).to_have_text("shop-example.com")
    expect(page.locator(".status-badge").first).to_have_text("Active")  # accepted on payment
    screenshot(page, "billing-5-service-active")

    page.get_by_role("link", name="Request cancellation").click()
    page.get_by_label("End of billing period").check()
    page.fill("textarea[name=reason]", "Moving to another provider")
    page.get_by_label(re.compile("I understand")).check()
    page.get_by_role("button", name="Request cancellation").click()
    expect(page.locator(".alert-success")).to_contain_text("cancellation request is recorded")
    service = Service.objects.get(client=client)
    expect(page.get_by_test_id("cancellation")).to_contain_text("the service ends on")
    screenshot(page, "billing-6-cancellation-requested")
    assert (service.status, service.cancellation_type) == ("active", "end_of_period")
    client.refresh_from_db()
    assert client.credit_balance == Decimal("83.00")
