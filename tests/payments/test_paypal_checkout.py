"""Paying an invoice with PayPal (Orders v2) on the simulator: the portal creates the order for the balance in
PayPal's format, the client approves it on PayPal's page, and the portal captures it on the return page or on the
CHECKOUT.ORDER.APPROVED webhook, whichever comes first — one capture, one payment."""
from decimal import Decimal

import pytest
from django.test import Client as HttpClient
from django.urls import reverse

from billing.models import Invoice, Payment
from payments import services
from payments.gateways.base import GatewayError
from payments.gateways.paypal.api import amount_of, money
from payments.models import ChargeAttempt, GatewayEvent
from payments.registry import get_gateway
from portal.activity import Actor
from tests.payments.conftest import deliver_paypal, return_to_portal, start_paypal_checkout, unpaid_invoice

pytestmark = pytest.mark.django_db


@pytest.fixture
def http():
    return HttpClient(enforce_csrf_checks=True)


def test_invoice_page_shows_pay_with_paypal_beside_the_card_button(signed_in, owner, stripe_enabled, paypal_enabled):
    invoice = unpaid_invoice(owner)
    page = signed_in.get(reverse("clientarea:invoice", args=[invoice.pk])).content.decode()
    assert 'data-gateway="stripe"' in page and "Pay now 25.00 USD — Card" in page
    assert 'data-gateway="paypal"' in page and "Pay with PayPal 25.00 USD" in page
    paypal_enabled.enabled = False
    paypal_enabled.save()
    assert 'data-gateway="paypal"' not in signed_in.get(reverse("clientarea:invoice", args=[invoice.pk])).content.decode()


def test_the_order_asks_paypal_for_the_balance_with_the_attempt_key(signed_in, owner, paypal_enabled, paypal_sim):
    invoice = unpaid_invoice(owner, "25.00")
    order_id = start_paypal_checkout(signed_in, invoice)
    order = paypal_sim.orders[order_id]
    attempt = ChargeAttempt.objects.get()
    unit = order["purchase_units"][0]
    assert unit["amount"] == {"currency_code": "USD", "value": "25.00"}
    assert (unit["custom_id"], unit["reference_id"]) == (attempt.idempotency_key, str(invoice.pk))
    assert unit["invoice_id"] == f"{invoice}-{attempt.idempotency_key[-8:]}"
    assert order["return_url"].endswith("/payments/return/?gateway=paypal")
    assert order["cancel_url"].endswith(f"/invoices/{invoice.pk}/?payment=cancelled")
    assert (attempt.gateway, attempt.reference, attempt.status) == ("paypal", order_id, "pending")


def test_return_page_captures_and_the_webhooks_find_the_payment_recorded(signed_in, http, owner, paypal_enabled,
                                                                          paypal_sim):
    invoice = unpaid_invoice(owner, "25.00")
    order_id = start_paypal_checkout(signed_in, invoice)
    approved = paypal_sim.approve(order_id)
    assert "token=" + order_id in approved["redirect"] and "PayerID=" in approved["redirect"]
    back = return_to_portal(signed_in, approved["redirect"])
    assert f"Thank you: invoice {invoice} is paid.".encode() in back.content
    (capture_id, capture), = paypal_sim.captures.items()
    payment = Payment.objects.get()
    # 3.49 % of 25.00 + 0.49 = 1.3625 → 1.36, as the capture's seller_receivable_breakdown says
    assert (payment.gateway, payment.transaction_id, payment.amount, payment.fees) == (
        "paypal", capture_id, Decimal("25.00"), Decimal("1.36"))
    answers = [deliver_paypal(http, payload, headers) for _, payload, headers in paypal_sim.outbox]
    assert [event["event_type"] for event, _, _ in paypal_sim.outbox] == ["CHECKOUT.ORDER.APPROVED",
                                                                           "PAYMENT.CAPTURE.COMPLETED"]
    assert [(a.status_code, a.content) for a in answers] == [(200, b"Payment already recorded")] * 2
    assert Payment.objects.count() == 1 and len(paypal_sim.captures) == 1
    invoice.refresh_from_db()
    assert (invoice.status, invoice.amount_paid) == (Invoice.Status.PAID, Decimal("25.00"))


def test_the_approved_webhook_captures_before_the_client_returns(signed_in, http, owner, paypal_enabled, paypal_sim):
    invoice = unpaid_invoice(owner, "25.00")
    order_id = start_paypal_checkout(signed_in, invoice)
    redirect = paypal_sim.approve(order_id)["redirect"]
    (_, payload, headers), = paypal_sim.events_of("CHECKOUT.ORDER.APPROVED")
    answer = deliver_paypal(http, payload, headers)
    assert (answer.status_code, answer.content) == (200, b"Payment recorded")
    assert paypal_sim.orders[order_id]["status"] == "COMPLETED"
    back = return_to_portal(signed_in, redirect)
    assert f"Thank you: invoice {invoice} is paid.".encode() in back.content
    assert Payment.objects.count() == 1 and len(paypal_sim.captures) == 1
    assert GatewayEvent.objects.get().outcome == GatewayEvent.Outcome.PAID


def test_a_declined_funding_source_fails_the_attempt_and_records_nothing(signed_in, owner, paypal_enabled, paypal_sim):
    invoice = unpaid_invoice(owner, "25.00")
    order_id = start_paypal_checkout(signed_in, invoice)
    back = return_to_portal(signed_in, paypal_sim.approve(order_id, funding="declined")["redirect"])
    assert b"The payment is not complete yet." in back.content
    attempt = ChargeAttempt.objects.get()
    assert (attempt.status, attempt.reason) == (ChargeAttempt.Status.FAILED, "INSTRUMENT_DECLINED")
    assert not Payment.objects.exists() and paypal_sim.captures == {}


def test_a_pending_capture_is_recorded_when_paypal_completes_it(signed_in, http, owner, paypal_enabled, paypal_sim):
    invoice = unpaid_invoice(owner, "25.00")
    order_id = start_paypal_checkout(signed_in, invoice)
    return_to_portal(signed_in, paypal_sim.approve(order_id, funding="pending")["redirect"])
    assert ChargeAttempt.objects.get().status == ChargeAttempt.Status.PENDING and not Payment.objects.exists()
    (capture_id, _), = paypal_sim.captures.items()
    paypal_sim.settle(capture_id)
    (_, payload, headers), = paypal_sim.events_of("PAYMENT.CAPTURE.COMPLETED")
    assert deliver_paypal(http, payload, headers).content == b"Payment recorded"
    assert Payment.objects.get().transaction_id == capture_id


def test_a_denied_pending_capture_fails_the_attempt(signed_in, http, owner, paypal_enabled, paypal_sim):
    invoice = unpaid_invoice(owner, "25.00")
    order_id = start_paypal_checkout(signed_in, invoice)
    return_to_portal(signed_in, paypal_sim.approve(order_id, funding="pending")["redirect"])
    (capture_id, _), = paypal_sim.captures.items()
    paypal_sim.settle(capture_id, completed=False)
    (_, payload, headers), = paypal_sim.events_of("PAYMENT.CAPTURE.DENIED")
    assert deliver_paypal(http, payload, headers).content == b"Charge failed"
    attempt = ChargeAttempt.objects.get()
    assert (attempt.status, attempt.reason) == (ChargeAttempt.Status.FAILED, "Capture declined")
    assert not Payment.objects.exists()


def test_cancelling_on_paypal_returns_to_the_invoice_and_records_nothing(signed_in, owner, paypal_enabled, paypal_sim):
    invoice = unpaid_invoice(owner, "25.00")
    order_id = start_paypal_checkout(signed_in, invoice)
    cancelled = paypal_sim.cancel(order_id)["redirect"]
    assert cancelled.endswith(f"/invoices/{invoice.pk}/?payment=cancelled&token={order_id}")
    assert not Payment.objects.exists() and ChargeAttempt.objects.get().status == ChargeAttempt.Status.PENDING


@pytest.mark.parametrize(("currency", "total", "value"), [
    ("USD", "25.00", "25.00"), ("EUR", "0.10", "0.10"), ("JPY", "1500.00", "1500"), ("HUF", "1500.00", "1500"),
    ("TWD", "300.00", "300"), ("KWD", "1.250", "1.250")])
def test_amounts_go_to_paypal_with_its_decimals_and_come_back_exactly(currency, total, value):
    sent = money(Decimal(total), currency)
    assert sent == {"currency_code": currency, "value": value}
    assert amount_of(sent) == (Decimal(total), currency)


@pytest.mark.parametrize(("currency", "total"), [("HUF", "1500.50"), ("JPY", "10.01"), ("USD", "1.001")])
def test_an_amount_paypal_cannot_take_exactly_is_refused_never_rounded(currency, total):
    with pytest.raises(ValueError, match="decimals"):
        money(Decimal(total), currency)


@pytest.mark.parametrize("value", ["12.345", "1e3", "-5.00", "", None, 12.5])
def test_a_malformed_amount_from_paypal_is_read_as_no_amount(value):
    assert amount_of({"currency_code": "USD", "value": value}) == (None, "USD")


def test_a_huf_invoice_with_fillér_is_refused_before_paypal_is_asked(owner, paypal_enabled, paypal_sim):
    invoice = unpaid_invoice(owner, "1500.50", currency="HUF")
    with pytest.raises(ValueError, match="more than the 0 decimals"):
        services.checkout_start(invoice=invoice, gateway_key="paypal", actor=Actor.system("test"),
                                success_url="http://portal/return", cancel_url="http://portal/invoice")
    assert ChargeAttempt.objects.get().status == ChargeAttempt.Status.FAILED
    assert paypal_sim.orders == {}


def test_jpy_is_paid_in_whole_yen(signed_in, owner, paypal_enabled, paypal_sim):
    invoice = unpaid_invoice(owner, "1500.00", currency="JPY")
    order_id = start_paypal_checkout(signed_in, invoice)
    assert paypal_sim.orders[order_id]["purchase_units"][0]["amount"] == {"currency_code": "JPY", "value": "1500"}
    return_to_portal(signed_in, paypal_sim.approve(order_id)["redirect"])
    payment = Payment.objects.get()
    assert (payment.amount, payment.currency, payment.fees) == (Decimal("1500.00"), "JPY", Decimal("53.00"))


def test_the_access_token_is_reused_and_renewed_once_it_expired(signed_in, owner, paypal_enabled, paypal_sim):
    for _ in range(2):
        start_paypal_checkout(signed_in, unpaid_invoice(owner))
    assert paypal_sim.calls_to("/v1/oauth2/token") == 1
    paypal_sim.advance(paypal_sim.token_lifetime + 1)  # PayPal's clock says the cached token expired
    start_paypal_checkout(signed_in, unpaid_invoice(owner))
    assert paypal_sim.calls_to("/v1/oauth2/token") == 2
    assert paypal_sim.calls_to("/v2/checkout/orders") == 4  # the refused call, then again with the new token


def test_wrong_credentials_are_a_permanent_error_the_client_is_told_of(signed_in, owner, paypal_enabled, paypal_sim):
    paypal_sim.client_secret = "another-secret"
    invoice = unpaid_invoice(owner)
    answer = signed_in.post(reverse("clientarea:invoice_pay", args=[invoice.pk, "paypal"]), follow=True)
    assert b"The payment could not be started: PayPal refused the client id and secret" in answer.content
    attempt = ChargeAttempt.objects.get()
    assert (attempt.status, attempt.reason) == (
        ChargeAttempt.Status.FAILED, "PayPal refused the client id and secret (Client Authentication failed).")


def test_paypal_down_is_a_temporary_error(signed_in, owner, paypal_enabled, paypal_sim):
    paypal_sim.fail("status", path="/v2/checkout/orders", status=503, times=3)
    invoice = unpaid_invoice(owner)
    answer = signed_in.post(reverse("clientarea:invoice_pay", args=[invoice.pk, "paypal"]), follow=True)
    assert b"the payment provider did not answer; try again shortly." in answer.content
    assert not Payment.objects.exists()


def test_paypal_keeps_no_saved_methods_so_it_is_never_charged_automatically(owner, paypal_enabled):
    gateway = get_gateway("paypal")
    assert (gateway.supports_saved_methods, gateway.supports_refunds) == (False, True)
    with pytest.raises(GatewayError, match="PayPal cannot charge saved payment methods."):
        gateway.charge(unpaid_invoice(owner), None, "key", amount=Decimal("25.00"))
