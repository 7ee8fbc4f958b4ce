"""Stripe webhooks: the signature and its timestamp are checked, each event id is processed once, the amount and
currency are checked against the invoice, unrelated events answer 200 and a processing error 500."""
import time
from decimal import Decimal
from unittest import mock

import pytest
from django.test import Client as HttpClient
from django.urls import get_resolver

from billing.models import Invoice, Payment
from payments import services
from payments.models import ChargeAttempt, GatewayEvent
from portal.models import ActivityLog
from tests.payments.conftest import deliver, signed_event, start_checkout, unpaid_invoice

pytestmark = pytest.mark.django_db


@pytest.fixture
def http():
    return HttpClient(enforce_csrf_checks=True)  # as a gateway: no session, no CSRF token


def completed(invoice, *, amount=2500, currency="usd", intent="pi_test_1", attempt="", session="cs_test_1"):
    return {"id": session, "object": "checkout.session", "payment_status": "paid", "status": "complete",
            "amount_total": amount, "currency": currency, "payment_intent": intent, "client_reference_id": str(invoice.pk),
            "metadata": {"invoice_id": str(invoice.pk), "attempt": attempt}}


def refused(answer):
    return answer.status_code == 400 and not Payment.objects.exists() and not GatewayEvent.objects.exists()


def test_signed_event_pays_the_invoice_once_and_a_replayed_event_id_changes_nothing(http, owner, stripe_enabled):
    invoice = unpaid_invoice(owner, "25.00")
    payload, header = signed_event("checkout.session.completed", completed(invoice))
    first = deliver(http, payload, header)
    again = deliver(http, payload, header)
    assert (first.status_code, first.content) == (200, b"Payment recorded")
    assert (again.status_code, again.content) == (200, b"Already processed.")
    assert Payment.objects.get().amount == Decimal("25.00")
    assert GatewayEvent.objects.get().outcome == GatewayEvent.Outcome.PAID
    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.PAID


def test_a_second_event_id_for_the_same_payment_pays_once(http, owner, stripe_enabled):
    invoice = unpaid_invoice(owner, "25.00")
    for event_id in ("evt_a", "evt_b"):
        deliver(http, *signed_event("checkout.session.completed", completed(invoice), event_id=event_id))
    assert Payment.objects.count() == 1
    assert list(GatewayEvent.objects.order_by("event_id").values_list("outcome", flat=True)) == ["paid", "already"]


def test_bad_signature_is_refused_with_an_audit_entry(http, owner, stripe_enabled):
    invoice = unpaid_invoice(owner)
    payload, header = signed_event("checkout.session.completed", completed(invoice), secret="whsec_attacker")
    assert refused(deliver(http, payload, header))
    entry = ActivityLog.objects.get(action="payment.webhook_refused")
    assert entry.actor_label == "webhook:stripe"
    assert entry.data["reason"] == "No signatures found matching the expected signature for payload"


def test_tampered_body_is_refused(http, owner, stripe_enabled):
    invoice = unpaid_invoice(owner)
    payload, header = signed_event("checkout.session.completed", completed(invoice, amount=100))
    tampered = payload.replace(b'"amount_total": 100', b'"amount_total": 2500')
    assert tampered != payload
    assert refused(deliver(http, tampered, header))


def test_stale_and_future_timestamps_are_refused(http, owner, stripe_enabled):
    invoice = unpaid_invoice(owner)
    stale = signed_event("checkout.session.completed", completed(invoice), timestamp=time.time() - 400)
    future = signed_event("checkout.session.completed", completed(invoice), timestamp=time.time() + 400)
    assert refused(deliver(http, *stale))
    assert refused(deliver(http, *future))
    reasons = sorted(ActivityLog.objects.filter(action="payment.webhook_refused").values_list("data__reason", flat=True))
    assert reasons == ["Timestamp in the future, outside the tolerance zone",
                       f"Timestamp outside the tolerance zone ({int(stale[1].split(',')[0][2:])})"]


def test_unsigned_webhook_is_refused(http, owner, stripe_enabled):
    invoice = unpaid_invoice(owner)
    payload, _ = signed_event("checkout.session.completed", completed(invoice))
    answer = http.post("/payments/webhook/stripe/", data=payload, content_type="application/json")
    assert refused(answer)
    assert ActivityLog.objects.filter(action="payment.webhook_refused").count() == 1


def test_webhook_only_accepts_post_and_known_gateways(http, stripe_enabled):
    assert http.get("/payments/webhook/stripe/").status_code == 405
    assert http.post("/payments/webhook/adyen/", data=b"{}", content_type="application/json").status_code == 404


def test_wrong_amount_is_left_unapplied_for_staff_never_paid(http, owner, stripe_enabled):
    invoice = unpaid_invoice(owner, "25.00")
    answer = deliver(http, *signed_event("checkout.session.completed", completed(invoice, amount=2400)))
    assert (answer.status_code, answer.content) == (200, b"Amount or currency mismatch: left for staff")
    assert not Payment.objects.exists()
    invoice.refresh_from_db()
    assert (invoice.status, invoice.amount_paid) == (Invoice.Status.UNPAID, Decimal("0.00"))
    attempt = ChargeAttempt.objects.get()
    assert (attempt.status, attempt.received_amount, attempt.received_currency) == ("unapplied", Decimal("24.00"), "USD")
    assert ActivityLog.objects.filter(action="payment.unapplied", data__amount="24.00").count() == 1


def test_wrong_currency_is_left_unapplied(http, owner, stripe_enabled):
    invoice = unpaid_invoice(owner, "25.00")
    answer = deliver(http, *signed_event("checkout.session.completed", completed(invoice, currency="eur")))
    assert answer.status_code == 200
    assert not Payment.objects.exists()
    assert ChargeAttempt.objects.get().received_currency == "EUR"
    assert GatewayEvent.objects.get().outcome == GatewayEvent.Outcome.MISMATCH


def test_mismatch_against_the_attempt_the_portal_opened(signed_in, http, owner, stripe_enabled, stripe_sim):
    invoice = unpaid_invoice(owner, "25.00")
    start_checkout(signed_in, invoice)
    attempt = ChargeAttempt.objects.get()
    deliver(http, *signed_event("checkout.session.completed",
                                completed(invoice, amount=2499, attempt=attempt.idempotency_key)))
    attempt.refresh_from_db()
    assert attempt.status == ChargeAttempt.Status.UNAPPLIED and not Payment.objects.exists()


def test_unknown_and_unrelated_events_answer_200_and_are_logged(http, owner, stripe_enabled):
    answer = deliver(http, *signed_event("customer.created", {"id": "cus_1", "object": "customer"}, event_id="evt_x"))
    unrelated = deliver(http, *signed_event("checkout.session.completed",
                                            {"id": "cs_other", "payment_status": "paid", "amount_total": 100,
                                             "currency": "usd", "payment_intent": "pi_other", "metadata": {}},
                                            event_id="evt_y"))
    assert [answer.status_code, unrelated.status_code] == [200, 200]
    assert list(GatewayEvent.objects.values_list("outcome", flat=True)) == ["ignored", "ignored"]
    assert not Payment.objects.exists()


def test_processing_error_answers_500_and_the_retry_is_processed(http, owner, stripe_enabled):
    invoice = unpaid_invoice(owner, "25.00")
    payload, header = signed_event("checkout.session.completed", completed(invoice))
    with mock.patch.object(services, "payment_record", side_effect=RuntimeError("database went away")):
        failed = deliver(http, payload, header)
    assert failed.status_code == 500
    event = GatewayEvent.objects.get()
    assert (event.outcome, event.message) == ("error", "RuntimeError: database went away")
    assert deliver(http, payload, header).status_code == 200
    assert Payment.objects.count() == 1


def test_the_webhook_is_the_only_csrf_exempt_payments_url():
    exempt = set()

    def walk(patterns, prefix=""):
        for pattern in patterns:
            if hasattr(pattern, "url_patterns"):
                walk(pattern.url_patterns, prefix + str(pattern.pattern))
            elif getattr(pattern.callback, "csrf_exempt", False):
                exempt.add(prefix + str(pattern.pattern))

    walk(get_resolver().url_patterns)
    assert {p for p in exempt if p.startswith("payments/")} == {"payments/webhook/<slug:gateway>/"}


def test_staff_apply_an_unapplied_amount_and_not_another_currency(http, client, owner, staff_user, stripe_enabled):
    invoice = unpaid_invoice(owner, "25.00")
    deliver(http, *signed_event("checkout.session.completed", completed(invoice, amount=2400)))
    other = unpaid_invoice(owner, "25.00")
    deliver(http, *signed_event("checkout.session.completed", completed(other, currency="eur", intent="pi_test_2", session="cs_test_2"),
                                event_id="evt_test_2"))
    client.force_login(staff_user)
    answer = client.post("/admin/payments/chargeattempt/", {
        "action": "apply_unapplied", "_selected_action": list(ChargeAttempt.objects.values_list("pk", flat=True))},
        follow=True)
    assert b"Applied 1 charge(s)." in answer.content and b"cannot pay an invoice in USD: refund it at the gateway." in answer.content
    payment = Payment.objects.get()
    assert (payment.invoice, payment.amount, payment.transaction_id) == (invoice, Decimal("24.00"), "pi_test_1")
    invoice.refresh_from_db()
    assert (invoice.status, invoice.balance) == (Invoice.Status.UNPAID, Decimal("1.00"))  # partial: still due
    assert ChargeAttempt.objects.get(invoice=other).status == ChargeAttempt.Status.UNAPPLIED
