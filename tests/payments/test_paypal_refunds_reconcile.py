"""PayPal from the staff side: refunds of captures from the transaction page, reconciliation of orders the portal
never heard back about (approved but not captured → captured and recorded; captured → recorded once; gone →
expired), and the settings page (its option schema, the secret never shown back)."""
from datetime import timedelta
from decimal import Decimal

import pytest
from django.test import Client as HttpClient
from django.urls import reverse
from django.utils import timezone

from billing.models import Invoice, Payment
from payments import reconcile
from payments.models import ChargeAttempt, GatewaySettings
from payments.registry import get_gateway
from portal.models import ActivityLog
from tests.payments.conftest import (
    PAYPAL_CLIENT_ID,
    PAYPAL_SECRET,
    PAYPAL_WEBHOOK_ID,
    deliver_paypal,
    return_to_portal,
    start_paypal_checkout,
    unpaid_invoice,
)

pytestmark = pytest.mark.django_db


def later(minutes=20):
    return timezone.now() + timedelta(minutes=minutes)


def paid_with_paypal(signed_in, owner, sim, total="25.00"):
    invoice = unpaid_invoice(owner, total)
    return_to_portal(signed_in, sim.approve(start_paypal_checkout(signed_in, invoice))["redirect"])
    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.PAID
    return invoice, Payment.objects.get(invoice=invoice, amount__gt=0)


def test_partial_then_full_refund_through_paypal(signed_in, owner, staff_user, paypal_enabled, paypal_sim):
    invoice, payment = paid_with_paypal(signed_in, owner, paypal_sim)
    signed_in.force_login(staff_user)
    url = reverse("admin:payments_gateway_refund", args=[payment.pk])
    page = signed_in.get(reverse("admin:billing_payment_change", args=[payment.pk]))
    assert url.encode() in page.content and b"Refund through PayPal" in page.content
    assert signed_in.post(url, {"amount": "10.00"}).status_code == 302
    refunds = list(paypal_sim.refunds.values())
    assert [(r["amount"], r["capture_id"]) for r in refunds] == [({"currency_code": "USD", "value": "10.00"},
                                                                  payment.transaction_id)]
    refund = Payment.objects.get(amount_out=Decimal("10.00"))
    assert (refund.gateway, refund.transaction_id, refund.refund_of) == ("paypal", refunds[0]["id"], payment)
    too_much = signed_in.post(url, {"amount": "15.01"})
    assert too_much.status_code == 200 and b"Refund between 0.01 and 15.00 USD" in too_much.content
    assert signed_in.post(url, {"amount": "15.00"}).status_code == 302
    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.REFUNDED
    assert paypal_sim.captures[payment.transaction_id]["status"] == "REFUNDED"
    assert [e["event_type"] for e, _, _ in paypal_sim.outbox].count("PAYMENT.CAPTURE.REFUNDED") == 2


def test_a_refund_paypal_refuses_records_nothing(signed_in, owner, staff_user, paypal_enabled, paypal_sim):
    invoice, payment = paid_with_paypal(signed_in, owner, paypal_sim)
    paypal_sim.captures[payment.transaction_id]["status"] = "REFUNDED"  # refunded on PayPal's site already
    signed_in.force_login(staff_user)
    answer = signed_in.post(reverse("admin:payments_gateway_refund", args=[payment.pk]), {"amount": "5.00"})
    assert answer.status_code == 200 and b"The gateway refused the refund" in answer.content
    assert not Payment.objects.filter(amount_out__gt=0).exists()
    entry = ActivityLog.objects.get(action="payment.refund_failed")
    assert entry.data["code"] == "CAPTURE_FULLY_REFUNDED"


def test_an_approved_order_nobody_captured_is_captured_and_recorded_once(signed_in, owner, paypal_enabled, paypal_sim):
    """The client approved on PayPal, closed the tab before the return page, and the webhook was lost."""
    invoice = unpaid_invoice(owner, "25.00")
    order_id = start_paypal_checkout(signed_in, invoice)
    paypal_sim.lose_webhooks = 1
    paypal_sim.approve(order_id)
    assert reconcile.reconcile_charges(now=later()) == {"recorded": 1}
    (capture_id, _), = paypal_sim.captures.items()
    payment = Payment.objects.get()
    assert (payment.transaction_id, payment.amount, payment.fees) == (capture_id, Decimal("25.00"), Decimal("1.36"))
    entry = ActivityLog.objects.get(action="payment.reconciled")
    assert entry.data == {"attempt": ChargeAttempt.objects.get().pk, "gateway": "paypal", "outcome": "recorded",
                          "transaction_id": capture_id}
    assert reconcile.reconcile_charges(now=later(40)) == {}
    (_, payload, headers), = paypal_sim.events_of("PAYMENT.CAPTURE.COMPLETED")
    assert deliver_paypal(HttpClient(), payload, headers).content == b"Payment already recorded"
    assert Payment.objects.count() == 1


def test_a_captured_order_whose_answers_were_lost_is_recorded_once(signed_in, owner, paypal_enabled, paypal_sim):
    invoice = unpaid_invoice(owner, "25.00")
    order_id = start_paypal_checkout(signed_in, invoice)
    paypal_sim.lose_webhooks = 2
    paypal_sim.approve(order_id)
    # captured at PayPal, then the worker of the return page died before recording it
    get_gateway("paypal").confirm(order_id)
    assert paypal_sim.orders[order_id]["status"] == "COMPLETED" and not Payment.objects.exists()
    assert reconcile.reconcile_charges(now=later()) == {"recorded": 1}
    assert reconcile.reconcile_charges(now=later(40)) == {}
    assert Payment.objects.count() == 1 and len(paypal_sim.captures) == 1


def test_an_order_left_unapproved_is_open_then_expired_when_paypal_forgets_it(signed_in, owner, paypal_enabled,
                                                                             paypal_sim):
    invoice = unpaid_invoice(owner)
    start_paypal_checkout(signed_in, invoice)
    assert reconcile.reconcile_charges(now=later()) == {"left": 1}
    paypal_sim.advance(3 * 3600 + 1)  # PayPal drops an order nobody approved after three hours
    assert reconcile.reconcile_charges(now=later(200)) == {"expired": 1}
    attempt = ChargeAttempt.objects.get()
    assert (attempt.status, attempt.reason) == (ChargeAttempt.Status.EXPIRED,
                                                "Reconciliation: the gateway has no such session")
    assert not Payment.objects.exists()


def test_a_voided_order_expires(signed_in, owner, paypal_enabled, paypal_sim):
    order_id = start_paypal_checkout(signed_in, unpaid_invoice(owner))
    paypal_sim.orders[order_id]["status"] = "VOIDED"
    assert reconcile.reconcile_charges(now=later()) == {"expired": 1}
    assert ChargeAttempt.objects.get().reason == "Reconciliation: the session expired"


def test_a_declined_capture_in_reconciliation_fails_the_attempt(signed_in, owner, paypal_enabled, paypal_sim):
    order_id = start_paypal_checkout(signed_in, unpaid_invoice(owner))
    paypal_sim.lose_webhooks = 1
    paypal_sim.approve(order_id, funding="declined")
    assert reconcile.reconcile_charges(now=later()) == {"failed": 1}
    attempt = ChargeAttempt.objects.get()
    assert (attempt.status, attempt.reason) == (ChargeAttempt.Status.FAILED, "INSTRUMENT_DECLINED")


def test_settings_page_renders_paypals_options_and_never_the_secret(client, staff_user, paypal_enabled):
    client.force_login(staff_user)
    url = reverse("admin:payments_gatewaysettings_change", args=[paypal_enabled.pk])
    page = client.get(url).content.decode()
    for name in ("option_client_id", "option_client_secret", "option_webhook_id", "option_api_base"):
        assert f'name="{name}"' in page
    assert PAYPAL_CLIENT_ID in page and PAYPAL_WEBHOOK_ID in page  # not secret: shown for checking
    assert PAYPAL_SECRET not in page and "A secret is stored; leave empty to keep it." in page
    form = {"enabled": "on", "display_name": "PayPal", "test_mode": "on", "option_client_id": "AbC-live_client-id",
            "option_client_secret": "", "option_webhook_id": "8PT597110X687430LKGECATA", "option_api_base": ""}
    assert client.post(url, form).status_code == 302
    row = GatewaySettings.objects.get(gateway="paypal")
    assert row.secret_values() == {"client_secret": PAYPAL_SECRET}
    assert row.options == {"client_id": "AbC-live_client-id", "webhook_id": "8PT597110X687430LKGECATA", "api_base": ""}


def test_the_webhook_id_help_shows_the_webhook_address_as_text(client, staff_user, paypal_enabled):
    client.force_login(staff_user)
    page = client.get(reverse("admin:payments_gatewaysettings_change", args=[paypal_enabled.pk])).content.decode()
    assert "https://&lt;portal&gt;/payments/webhook/paypal/." in page  # not a <portal> element the browser hides


@pytest.mark.parametrize(("field", "value", "error"), [
    ("option_client_id", "not a client id!", "A PayPal client id is letters, digits, - and _"),
    ("option_webhook_id", "WH id with spaces", "A PayPal webhook id is letters and digits"),
    ("option_api_base", "http://paypal.example", "Use https:// (plain http only for a simulator on this machine)."),
])
def test_settings_refuse_malformed_paypal_options(client, staff_user, paypal_enabled, field, value, error):
    client.force_login(staff_user)
    form = {"enabled": "on", "display_name": "PayPal", "test_mode": "on", "option_client_id": PAYPAL_CLIENT_ID,
            "option_client_secret": "", "option_webhook_id": PAYPAL_WEBHOOK_ID, "option_api_base": "", field: value}
    answer = client.post(reverse("admin:payments_gatewaysettings_change", args=[paypal_enabled.pk]), form)
    assert answer.status_code == 200 and error in answer.content.decode()
    assert GatewaySettings.objects.get(gateway="paypal").options == paypal_enabled.options


def test_test_mode_picks_paypals_sandbox_and_live_otherwise(paypal_enabled, settings):
    settings.PAYPAL_API_BASE = ""
    GatewaySettings.objects.filter(gateway="paypal").update(options={})
    assert get_gateway("paypal").base_url() == "https://api-m.sandbox.paypal.com"
    GatewaySettings.objects.filter(gateway="paypal").update(test_mode=False)
    assert get_gateway("paypal").base_url() == "https://api-m.paypal.com"
    settings.PAYPAL_API_BASE = "http://127.0.0.1:9/"
    assert get_gateway("paypal").base_url() == "http://127.0.0.1:9"
