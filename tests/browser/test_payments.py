"""Paying an invoice by card in a real browser: Pay now on the invoice, Stripe's hosted page (the simulator), a
declined card, then a good one, and back on the portal the invoice is paid (confirmed with Stripe; the signed
webhooks the simulator sends to the live server record nothing twice)."""
import time
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from billing.models import Invoice, Payment
from payments import demo
from payments.gateways.stripe.simulator import StripeSimulator
from payments.models import GatewayEvent
from tests.browser.conftest import login_client, screenshot
from tests.factories import ClientFactory, InvoiceFactory, InvoiceItemFactory

pytestmark = [pytest.mark.browser, pytest.mark.services]


@pytest.fixture
def stripe_sim():
    sim = StripeSimulator().start()
    yield sim
    sim.stop()


def test_pay_an_invoice_by_card_on_the_hosted_page(page, live_server, stripe_sim, settings):
    settings.PORTAL_BASE_URL = live_server.url
    demo.attach_simulator(stripe_sim.url)
    client = ClientFactory()
    invoice = InvoiceFactory(client=client, subtotal=Decimal("30.00"), total=Decimal("30.00"))
    InvoiceItemFactory(invoice=invoice, amount=Decimal("30.00"), description="Mail hosting")

    login_client(page, client.owner_user)
    page.goto(f"/invoices/{invoice.pk}/")
    page.get_by_role("button", name="Pay now 30.00 USD").click()
    expect(page.locator("h1")).to_contain_text("Pay 30.00 USD")
    page.fill("input[name=card]", "4000000000000002")
    page.get_by_role("button", name="Pay").click()
    expect(page.get_by_role("alert")).to_have_text("Your card was declined.")
    screenshot(page, "payments-1-declined")
    page.fill("input[name=card]", "4242424242424242")
    page.get_by_role("button", name="Pay").click()
    expect(page.get_by_role("status")).to_have_text(f"Thank you: invoice {invoice} is paid.")
    screenshot(page, "payments-2-paid")
    deadline = time.monotonic() + 10
    while GatewayEvent.objects.exclude(type="payment_intent.payment_failed").count() < 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    outcomes = dict(GatewayEvent.objects.values_list("type", "outcome"))
    assert outcomes.pop("payment_intent.payment_failed") == "failed_charge"
    # whichever of the return page and the webhooks came first recorded the payment; the others found it
    assert sorted(outcomes) == ["checkout.session.completed", "payment_intent.succeeded"]
    assert list(outcomes.values()).count("paid") <= 1 and set(outcomes.values()) <= {"paid", "already"}
    assert Payment.objects.get().amount == Decimal("30.00")
    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.PAID
