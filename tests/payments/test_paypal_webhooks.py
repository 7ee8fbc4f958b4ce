"""PayPal webhooks: every signature header present, the transmission time within the tolerance and PayPal's
verify-webhook-signature saying SUCCESS, or refused (400, nothing recorded, audited); each event id processed
once; the capture's amount and currency checked against the invoice; unrelated events 200 and logged."""
import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from unittest import mock

import pytest
from django.test import Client as HttpClient

from billing.models import Invoice, Payment
from payments import services
from payments.models import ChargeAttempt, GatewayEvent
from portal.models import ActivityLog
from tests.payments.conftest import deliver_paypal, start_paypal_checkout, unpaid_invoice

pytestmark = pytest.mark.django_db


@pytest.fixture
def http():
    return HttpClient(enforce_csrf_checks=True)  # as PayPal: no session, no CSRF token


def capture(invoice, *, value="25.00", currency="USD", capture_id="5AB12345CD678901E", status="COMPLETED"):
    key = f"paypal:invoice:{invoice.pk}:checkout:0123456789abcdef0123456789abcdef"
    return {"id": capture_id, "status": status, "amount": {"currency_code": currency, "value": value},
            "custom_id": key, "invoice_id": f"{invoice}-89abcdef",
            "seller_receivable_breakdown": {"paypal_fee": {"currency_code": currency, "value": "0.50"}},
            "supplementary_data": {"related_ids": {"order_id": "1AB23456CD789012E"}}}


def completed(sim, invoice, *, event_id="WH-TEST-1", **fields):
    return sim.event("PAYMENT.CAPTURE.COMPLETED", "capture", capture(invoice, **fields), event_id=event_id)


def moment(seconds=0):
    return (datetime.now(UTC) + timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%SZ")


def refused(answer):
    return answer.status_code == 400 and not Payment.objects.exists() and not GatewayEvent.objects.exists()


def reasons():
    return sorted(ActivityLog.objects.filter(action="payment.webhook_refused").values_list("data__reason", flat=True))


def test_a_verified_capture_pays_the_invoice_once_and_a_replayed_event_id_changes_nothing(http, owner, paypal_enabled,
                                                                                         paypal_sim):
    invoice = unpaid_invoice(owner, "25.00")
    payload, headers = paypal_sim.signed(completed(paypal_sim, invoice))
    first, again = deliver_paypal(http, payload, headers), deliver_paypal(http, payload, headers)
    assert (first.status_code, first.content) == (200, b"Payment recorded")
    assert (again.status_code, again.content) == (200, b"Already processed.")
    payment = Payment.objects.get()
    assert (payment.transaction_id, payment.amount, payment.fees) == ("5AB12345CD678901E", Decimal("25.00"),
                                                                       Decimal("0.50"))
    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.PAID
    assert paypal_sim.calls_to("/v1/notifications/verify-webhook-signature") == 2


def test_a_signature_paypal_does_not_verify_is_refused_with_an_audit_entry(http, owner, paypal_enabled, paypal_sim):
    invoice = unpaid_invoice(owner)
    payload, headers = paypal_sim.signed(completed(paypal_sim, invoice), webhook_id="WH-SOMEONE-ELSE")
    assert refused(deliver_paypal(http, payload, headers))
    entry = ActivityLog.objects.get(action="payment.webhook_refused")
    assert entry.actor_label == "webhook:paypal"
    assert entry.data["reason"] == "PayPal did not verify the signature (FAILURE)"


def test_a_tampered_body_or_header_is_refused(http, owner, paypal_enabled, paypal_sim):
    invoice = unpaid_invoice(owner)
    payload, headers = paypal_sim.signed(completed(paypal_sim, invoice, value="1.00"))
    tampered = payload.replace(b'"value": "1.00"', b'"value": "25.00"')
    assert tampered != payload
    assert refused(deliver_paypal(http, tampered, headers))
    assert refused(deliver_paypal(http, payload, {**headers, "PAYPAL-TRANSMISSION-ID": "another-id"}))
    assert reasons() == ["PayPal did not verify the signature (FAILURE)"] * 2


def test_stale_and_future_transmission_times_are_refused_without_asking_paypal(http, owner, paypal_enabled,
                                                                              paypal_sim):
    invoice = unpaid_invoice(owner)
    stale = paypal_sim.signed(completed(paypal_sim, invoice), transmission_time=moment(-400))
    future = paypal_sim.signed(completed(paypal_sim, invoice), transmission_time=moment(400))
    assert refused(deliver_paypal(http, *stale)) and refused(deliver_paypal(http, *future))
    assert reasons() == ["Transmission time outside the tolerance zone"] * 2
    assert paypal_sim.calls_to("/v1/notifications/verify-webhook-signature") == 0


def test_an_unsigned_webhook_or_one_missing_a_header_is_refused(http, owner, paypal_enabled, paypal_sim):
    invoice = unpaid_invoice(owner)
    payload, headers = paypal_sim.signed(completed(paypal_sim, invoice))
    assert refused(http.post("/payments/webhook/paypal/", data=payload, content_type="application/json"))
    assert refused(deliver_paypal(http, payload, {k: v for k, v in headers.items() if k != "PAYPAL-CERT-URL"}))
    assert reasons() == [
        "Missing PAYPAL-AUTH-ALGO, PAYPAL-CERT-URL, PAYPAL-TRANSMISSION-ID, PAYPAL-TRANSMISSION-SIG, "
        "PAYPAL-TRANSMISSION-TIME", "Missing PAYPAL-CERT-URL"]


def test_a_certificate_that_is_not_paypals_is_refused(http, owner, paypal_enabled, paypal_sim):
    invoice = unpaid_invoice(owner)
    payload, headers = paypal_sim.signed(completed(paypal_sim, invoice))
    answer = deliver_paypal(http, payload, {**headers, "PAYPAL-CERT-URL": "https://paypal.com.evil.example/cert"})
    assert refused(answer) and reasons() == ["The certificate URL is not PayPal's"]


def test_without_a_webhook_id_every_webhook_is_refused(http, owner, paypal_enabled, paypal_sim):
    paypal_enabled.options = {k: v for k, v in paypal_enabled.options.items() if k != "webhook_id"}
    paypal_enabled.save()
    payload, headers = paypal_sim.signed(completed(paypal_sim, unpaid_invoice(owner)))
    assert refused(deliver_paypal(http, payload, headers))
    assert reasons() == ["PayPal has no webhook id configured"]


def test_a_wrong_amount_is_left_unapplied_for_staff_never_paid(http, owner, paypal_enabled, paypal_sim):
    invoice = unpaid_invoice(owner, "25.00")
    answer = deliver_paypal(http, *paypal_sim.signed(completed(paypal_sim, invoice, value="24.00")))
    assert (answer.status_code, answer.content) == (200, b"Amount or currency mismatch: left for staff")
    assert not Payment.objects.exists()
    invoice.refresh_from_db()
    assert (invoice.status, invoice.amount_paid) == (Invoice.Status.UNPAID, Decimal("0.00"))
    attempt = ChargeAttempt.objects.get()
    assert (attempt.status, attempt.received_amount, attempt.received_currency, attempt.received_transaction_id) == (
        "unapplied", Decimal("24.00"), "USD", "5AB12345CD678901E")
    assert ActivityLog.objects.filter(action="payment.unapplied", data__amount="24.00").count() == 1


def test_a_wrong_currency_is_left_unapplied(http, owner, paypal_enabled, paypal_sim):
    invoice = unpaid_invoice(owner, "25.00")
    answer = deliver_paypal(http, *paypal_sim.signed(completed(paypal_sim, invoice, currency="EUR")))
    assert answer.status_code == 200
    assert not Payment.objects.exists()
    assert ChargeAttempt.objects.get().received_currency == "EUR"
    assert GatewayEvent.objects.get().outcome == GatewayEvent.Outcome.MISMATCH


def test_a_capture_for_less_than_the_attempt_the_portal_opened_is_unapplied(signed_in, http, owner, paypal_enabled,
                                                                          paypal_sim):
    invoice = unpaid_invoice(owner, "25.00")
    start_paypal_checkout(signed_in, invoice)
    attempt = ChargeAttempt.objects.get()
    resource = {**capture(invoice, value="24.99"), "custom_id": attempt.idempotency_key}
    event = paypal_sim.event("PAYMENT.CAPTURE.COMPLETED", "capture", resource)
    deliver_paypal(http, *paypal_sim.signed(event))
    attempt.refresh_from_db()
    assert attempt.status == ChargeAttempt.Status.UNAPPLIED and not Payment.objects.exists()


def test_unknown_and_unrelated_events_answer_200_and_are_logged(http, owner, paypal_enabled, paypal_sim):
    other = paypal_sim.event("CUSTOMER.DISPUTE.CREATED", "dispute", {"dispute_id": "PP-D-1"}, event_id="WH-X")
    refund = paypal_sim.event("PAYMENT.CAPTURE.REFUNDED", "refund", {"id": "RF1", "status": "COMPLETED"},
                              event_id="WH-Y")
    foreign = {**capture(unpaid_invoice(owner)), "custom_id": "shop-order-77"}
    foreign = paypal_sim.event("PAYMENT.CAPTURE.COMPLETED", "capture", foreign, event_id="WH-Z")
    answers = [deliver_paypal(http, *paypal_sim.signed(event)) for event in (other, refund, foreign)]
    assert [a.status_code for a in answers] == [200, 200, 200]
    assert list(GatewayEvent.objects.order_by("event_id").values_list("outcome", flat=True)) == ["ignored"] * 3
    assert not Payment.objects.exists()


def test_an_approved_order_the_portal_did_not_start_is_not_captured(http, owner, paypal_enabled, paypal_sim):
    order = {"id": "9XY12345AB678901C", "status": "APPROVED",
             "purchase_units": [{"custom_id": "shop-order-77", "amount": {"currency_code": "USD", "value": "5.00"}}]}
    event = paypal_sim.event("CHECKOUT.ORDER.APPROVED", "checkout-order", order)
    answer = deliver_paypal(http, *paypal_sim.signed(event))
    assert (answer.status_code, answer.content) == (200, b"Not a payment event for the portal")
    assert paypal_sim.calls_to("/capture") == 0


def test_a_processing_error_answers_500_and_the_retry_is_processed(http, owner, paypal_enabled, paypal_sim):
    invoice = unpaid_invoice(owner, "25.00")
    payload, headers = paypal_sim.signed(completed(paypal_sim, invoice))
    with mock.patch.object(services, "payment_record", side_effect=RuntimeError("database went away")):
        failed = deliver_paypal(http, payload, headers)
    assert failed.status_code == 500
    event = GatewayEvent.objects.get()
    assert (event.outcome, event.message) == ("error", "RuntimeError: database went away")
    assert deliver_paypal(http, payload, headers).status_code == 200
    assert Payment.objects.count() == 1


def test_paypal_unreachable_for_the_verification_answers_500_and_records_nothing(http, owner, paypal_enabled,
                                                                                paypal_sim):
    payload, headers = paypal_sim.signed(completed(paypal_sim, unpaid_invoice(owner)))
    paypal_sim.fail("status", path="verify-webhook-signature", status=503, times=3)
    answer = deliver_paypal(http, payload, headers)
    assert (answer.status_code, answer.content) == (500, b"The signature could not be verified now; send it again.")
    assert not GatewayEvent.objects.exists() and not Payment.objects.exists()
    assert deliver_paypal(http, payload, headers).content == b"Payment recorded"  # PayPal's retry


def test_the_body_paypal_verifies_is_the_event_as_received(http, owner, paypal_enabled, paypal_sim):
    event = completed(paypal_sim, unpaid_invoice(owner))
    payload, headers = paypal_sim.signed(event)
    reordered = json.dumps(dict(reversed(list(event.items())))).encode()  # same event, other key order
    assert reordered != payload
    assert deliver_paypal(http, reordered, headers).content == b"Payment recorded"
