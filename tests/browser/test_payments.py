"""Paying an invoice by card in a real browser: Pay now on the invoice, Stripe's hosted page (the simulator), a
declined card, then a good one, and back on the portal the invoice is paid (confirmed with Stripe; the signed
webhooks the simulator sends to the live server record nothing twice).

Paying the overdue invoice of a mail service suspended for non-payment (by card, with PayPal on its approval page,
or by a camt.053 statement staff upload) unsuspends the domain on the SmarterMail simulator, through billing's
payment follow-up."""
import time
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from billing.models import AutomationSettings, Invoice, Payment, Service
from billing.payment_reference import rf_reference
from payments import demo
from payments.gateways.paypal.simulator import PayPalSimulator
from payments.gateways.stripe.simulator import StripeSimulator
from payments.models import GatewayEvent
from portal.activity import Actor
from portal.models import ClientUser
from provisioning import lifecycle
from tests.browser.conftest import login_admin, login_client, screenshot
from tests.factories import ClientFactory, InvoiceFactory, InvoiceItemFactory, StaffFactory
from tests.payments.camt import camt053
from tests.provisioning.modules.smartermail.fixtures import sm_server, sm_service, smartermail  # noqa: F401

pytestmark = [pytest.mark.browser, pytest.mark.services]


@pytest.fixture
def stripe_sim():
    sim = StripeSimulator().start()
    yield sim
    sim.stop()


@pytest.fixture
def paypal_sim():
    sim = PayPalSimulator().start()
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


DOMAIN = "overdue-mail.example"


def suspended_for_an_overdue_invoice(sm_service, smartermail, currency="USD"):  # noqa: F811
    """A SmarterMail service provisioned on the simulator, its invoice overdue, suspended for non-payment."""
    settings = AutomationSettings.load()
    settings.unsuspend_on_payment = True
    settings.save()
    service = sm_service(domain=DOMAIN, max_users=10)
    lifecycle.service_create(service=service, actor=Actor.system("setup"))
    client = service.client
    client.currency = currency
    client.save()
    invoice = InvoiceFactory(client=client, currency=currency, subtotal=Decimal("30.00"), total=Decimal("30.00"),
                             due_date=timezone.localdate() - timedelta(days=5))
    InvoiceItemFactory(invoice=invoice, service=service, amount=Decimal("30.00"), description="Mail hosting")
    lifecycle.service_suspend(service=service, actor=Actor.system("setup"), reason=Service.SuspendReason.OVERDUE)
    service.refresh_from_db()
    assert service.status == Service.Status.SUSPENDED
    assert smartermail.domain(DOMAIN).is_enabled is False
    return service, invoice


def wait_for(condition, seconds=10):
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.1)
    return condition()


def assert_paid_once_and_unsuspended(invoice, service, smartermail):  # noqa: F811
    assert wait_for(lambda: Service.objects.get(pk=service.pk).status == Service.Status.ACTIVE)
    assert Payment.objects.filter(invoice=invoice).count() == 1
    assert Payment.objects.get(invoice=invoice).amount == Decimal("30.00")
    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.PAID
    service.refresh_from_db()
    assert (service.status, service.suspend_reason) == (Service.Status.ACTIVE, "")
    assert smartermail.domain(DOMAIN).is_enabled is True


def test_paying_the_overdue_invoice_by_card_unsuspends_the_mail_domain(
        page, live_server, stripe_sim, smartermail, sm_service, settings):  # noqa: F811
    settings.PORTAL_BASE_URL = live_server.url
    demo.attach_simulator(stripe_sim.url)
    service, invoice = suspended_for_an_overdue_invoice(sm_service, smartermail)

    login_client(page, ClientUser.objects.get(client=service.client, is_owner=True).user)
    page.goto(f"/invoices/{invoice.pk}/")
    screenshot(page, "payments-overdue-1-invoice", viewport={"width": 1280, "height": 800})
    screenshot(page, "payments-overdue-1-invoice-mobile", viewport={"width": 390, "height": 844})
    page.set_viewport_size({"width": 1280, "height": 800})
    page.get_by_role("button", name="Pay now 30.00 USD").click()
    expect(page.locator("h1")).to_contain_text("Pay 30.00 USD")
    page.fill("input[name=card]", "4242424242424242")
    screenshot(page, "payments-overdue-2-hosted-page-mobile", viewport={"width": 390, "height": 844})
    page.set_viewport_size({"width": 1280, "height": 800})
    page.get_by_role("button", name="Pay").click()
    expect(page.get_by_role("status")).to_have_text(f"Thank you: invoice {invoice} is paid.")
    # the webhooks arrive (each found the payment already recorded, or recorded it: once)
    assert wait_for(lambda: set(GatewayEvent.objects.values_list("type", flat=True))
                    >= {"checkout.session.completed", "payment_intent.succeeded"})
    outcomes = list(GatewayEvent.objects.values_list("outcome", flat=True))
    assert outcomes.count("paid") <= 1 and set(outcomes) <= {"paid", "already"}
    assert_paid_once_and_unsuspended(invoice, service, smartermail)

    page.goto("/services/")
    screenshot(page, "payments-overdue-3-services", viewport={"width": 1280, "height": 800})
    screenshot(page, "payments-overdue-3-services-mobile", viewport={"width": 390, "height": 844})


def test_paying_the_overdue_invoice_with_paypal_unsuspends_the_mail_domain(
        page, live_server, stripe_sim, paypal_sim, smartermail, sm_service, settings):  # noqa: F811
    settings.PORTAL_BASE_URL = live_server.url
    demo.attach_simulator(stripe_sim.url)
    demo.attach_paypal_simulator(paypal_sim.url)  # PayPal's webhooks go to the live server
    service, invoice = suspended_for_an_overdue_invoice(sm_service, smartermail)

    login_client(page, ClientUser.objects.get(client=service.client, is_owner=True).user)
    page.goto(f"/invoices/{invoice.pk}/")
    expect(page.get_by_role("button", name="Pay now 30.00 USD")).to_be_visible()  # the card button beside it
    screenshot(page, "payments-paypal-1-invoice", viewport={"width": 1280, "height": 800})
    screenshot(page, "payments-paypal-1-invoice-mobile", viewport={"width": 390, "height": 844})
    page.set_viewport_size({"width": 1280, "height": 800})
    page.get_by_role("button", name="Pay with PayPal 30.00 USD").click()
    expect(page.locator("h1")).to_have_text("Pay 30.00 USD with PayPal")
    screenshot(page, "payments-paypal-2-approval-page", viewport={"width": 1280, "height": 800})
    page.get_by_role("button", name="Pay Now").click()
    expect(page.get_by_role("status")).to_have_text(f"Thank you: invoice {invoice} is paid.")
    screenshot(page, "payments-paypal-3-paid", viewport={"width": 1280, "height": 800})
    # the approval webhook and the capture's arrive; the return page or the approval webhook captured and recorded
    assert wait_for(lambda: set(GatewayEvent.objects.exclude(outcome="pending").values_list("type", flat=True))
                    >= {"CHECKOUT.ORDER.APPROVED", "PAYMENT.CAPTURE.COMPLETED"})
    outcomes = list(GatewayEvent.objects.values_list("outcome", flat=True))
    assert outcomes.count("paid") <= 1 and set(outcomes) <= {"paid", "already"}
    assert len(paypal_sim.captures) == 1
    assert Payment.objects.get(invoice=invoice).gateway == "paypal"
    assert_paid_once_and_unsuspended(invoice, service, smartermail)


def test_a_bank_statement_staff_upload_pays_the_overdue_invoice_and_unsuspends_the_mail_domain(
        page, live_server, smartermail, sm_service, tmp_path):  # noqa: F811
    service, invoice = suspended_for_an_overdue_invoice(sm_service, smartermail, currency="EUR")
    statement = tmp_path / "december.xml"
    statement.write_bytes(camt053([{"ref": "BANK-0001", "amount": "30.00", "name": "Pat", "strd": rf_reference(invoice.pk)}]))

    login_admin(page, StaffFactory(is_superuser=True))
    page.goto("/admin/payments/bankstatement/upload/")
    page.set_input_files("input[name=file]", str(statement))
    page.select_option("select[name=format]", "camt053")
    screenshot(page, "payments-bank-1-upload", viewport={"width": 1280, "height": 800})
    screenshot(page, "payments-bank-1-upload-mobile", viewport={"width": 390, "height": 844})
    page.set_viewport_size({"width": 1280, "height": 800})
    with page.expect_navigation():
        page.get_by_role("button", name="Upload and match").click()
    expect(page.locator("ul.messagelist")).to_contain_text(
        "Statement december.xml: 1 new credit line(s), 1 paid, 0 waiting for staff, 0 already imported, 0 could not be read.")
    screenshot(page, "payments-bank-2-statement", viewport={"width": 1280, "height": 800})
    screenshot(page, "payments-bank-2-statement-mobile", viewport={"width": 390, "height": 844})
    assert_paid_once_and_unsuspended(invoice, service, smartermail)

    # the same file again records nothing twice
    page.set_viewport_size({"width": 1280, "height": 800})
    page.goto("/admin/payments/bankstatement/upload/")
    page.set_input_files("input[name=file]", str(statement))
    with page.expect_navigation():
        page.get_by_role("button", name="Upload and match").click()
    expect(page.locator("ul.messagelist")).to_contain_text("0 new credit line(s), 0 paid")
    assert Payment.objects.filter(invoice=invoice).count() == 1
