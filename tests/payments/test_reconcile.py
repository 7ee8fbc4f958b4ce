"""Reconciliation (payments/reconcile.py): charges the portal started but never heard back about are asked about
at the gateway and recorded once, through the webhook's code path; open sessions are left alone, expired ones
closed; every outcome is audited."""
import threading
from datetime import timedelta
from unittest import mock

import pytest
from django.test import Client as HttpClient
from django.utils import timezone

from billing.models import CreditLedgerEntry, EmailLog, Invoice, Payment
from payments import reconcile, services, tasks
from payments.gateways.stripe import StripeGateway
from payments.jobs import PERIODIC_JOBS
from payments.models import ChargeAttempt
from portal.jobs import all_jobs
from portal.models import ActivityLog, JobRun
from tests.payments.conftest import deliver, start_checkout, unpaid_invoice
from tests.payments.test_saved_cards import at, due_today, saved_card

pytestmark = pytest.mark.django_db


def later(minutes=20):
    return timezone.now() + timedelta(minutes=minutes)


def paid_checkout_with_lost_webhooks(signed_in, owner, stripe_sim, total="25.00"):
    """The client paid at Stripe, closed the tab before the return page, and Stripe's webhooks never arrived."""
    invoice = unpaid_invoice(owner, total)
    session = start_checkout(signed_in, invoice)
    stripe_sim.lose_webhooks = 2  # checkout.session.completed and payment_intent.succeeded
    assert stripe_sim.pay(session)["error"] == ""
    assert len(stripe_sim.lost) == 2 and stripe_sim.outbox == []
    return invoice, session


def test_a_paid_checkout_whose_webhooks_were_lost_is_recorded_once(signed_in, owner, stripe_enabled, stripe_sim):
    invoice, session = paid_checkout_with_lost_webhooks(signed_in, owner, stripe_sim)
    assert reconcile.reconcile_charges(now=later()) == {"recorded": 1}
    payment = Payment.objects.get()
    assert payment.transaction_id == stripe_sim.sessions[session]["payment_intent"] and payment.gateway == "stripe"
    assert str(payment.amount) == "25.00" and str(payment.fees) == "1.03"
    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.PAID
    attempt = ChargeAttempt.objects.get()
    assert (attempt.status, attempt.payment) == (ChargeAttempt.Status.SUCCEEDED, payment)
    entry = ActivityLog.objects.get(action="payment.reconciled")
    assert entry.actor_label == "system:payments.reconcile_charges"
    assert entry.data == {"attempt": attempt.pk, "gateway": "stripe", "outcome": "recorded",
                          "transaction_id": payment.transaction_id}
    assert ActivityLog.objects.filter(action="payment.record").count() == 1

    # A second run records nothing new; the lost webhooks arriving at last find the payment.
    assert reconcile.reconcile_charges(now=later(40)) == {}
    http = HttpClient(enforce_csrf_checks=True)
    for _event, payload, header in stripe_sim.lost:
        assert deliver(http, payload, header).content == b"Payment already recorded"
    assert Payment.objects.count() == 1 and ActivityLog.objects.filter(action="payment.reconciled").count() == 1
    assert not CreditLedgerEntry.objects.exists()


def test_a_young_attempt_is_left_to_the_webhook(signed_in, owner, stripe_enabled, stripe_sim):
    paid_checkout_with_lost_webhooks(signed_in, owner, stripe_sim)
    assert reconcile.reconcile_charges(now=later(5)) == {}
    assert not Payment.objects.exists()


def test_an_abandoned_session_is_left_alone_until_stripe_expires_it(signed_in, owner, stripe_enabled, stripe_sim):
    invoice = unpaid_invoice(owner)
    session = start_checkout(signed_in, invoice)
    assert reconcile.reconcile_charges(now=later()) == {"left": 1}
    attempt = ChargeAttempt.objects.get()
    assert attempt.status == ChargeAttempt.Status.PENDING and not ActivityLog.objects.filter(
        action="payment.reconciled").exists()

    stripe_sim.sessions[session]["status"] = "expired"  # Stripe expires an unpaid session after 24 hours
    assert reconcile.reconcile_charges(now=later(24 * 60)) == {"expired": 1}
    attempt.refresh_from_db()
    assert (attempt.status, attempt.reason) == (ChargeAttempt.Status.EXPIRED, "Reconciliation: the session expired")
    entry = ActivityLog.objects.get(action="payment.reconciled")
    assert (entry.data["outcome"], entry.data["attempt"], entry.target_id) == ("expired", attempt.pk, str(invoice.pk))
    assert reconcile.reconcile_charges(now=later(25 * 60)) == {}
    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.UNPAID and not Payment.objects.exists()


def test_a_declined_card_on_an_open_session_is_left_for_the_client_to_try_again(signed_in, owner, stripe_enabled,
                                                                                 stripe_sim):
    session = start_checkout(signed_in, unpaid_invoice(owner))
    stripe_sim.lose_webhooks = 1
    assert stripe_sim.pay(session, card="4000000000000002")["error"]
    assert reconcile.reconcile_charges(now=later()) == {"left": 1}
    assert ChargeAttempt.objects.get().status == ChargeAttempt.Status.PENDING


def test_a_checkout_that_never_reached_stripe_expires(owner, stripe_enabled, stripe_sim):
    invoice = unpaid_invoice(owner)
    ChargeAttempt.objects.create(invoice=invoice, gateway="stripe", amount=invoice.balance, currency="USD",
                                 idempotency_key="stripe:invoice:1:checkout:dead", created_at=later(-30))
    assert reconcile.reconcile_charges() == {"expired": 1}
    assert ChargeAttempt.objects.get().reason == "Reconciliation: the gateway has no such session"


def test_an_off_session_charge_whose_worker_died_is_found_by_its_idempotency_key(owner, stripe_enabled, stripe_sim):
    saved_card(owner, stripe_sim, "4242424242424242")
    invoice = due_today(owner)
    stripe_sim.lose_webhooks = 1
    with mock.patch.object(services, "report_record", side_effect=SystemExit("worker killed")), \
            pytest.raises(SystemExit):
        services.charge_saved_method(invoice=invoice, actor=services.Actor.system("test"))
    attempt = ChargeAttempt.objects.get()
    assert attempt.status == ChargeAttempt.Status.PENDING and attempt.reference == ""
    assert len(stripe_sim.intents) == 1 and not Payment.objects.exists()

    assert reconcile.reconcile_charges(now=later(90)) == {"recorded": 1}
    intent_id = next(iter(stripe_sim.intents))
    assert Payment.objects.get().transaction_id == intent_id
    attempt.refresh_from_db()
    assert attempt.status == ChargeAttempt.Status.SUCCEEDED
    assert reconcile.reconcile_charges(now=later(120)) == {}
    assert services.charge_due_invoices(now=later(120)) == {}  # paid: the dunning job charges nothing more
    assert len(stripe_sim.intents) == 1 and Payment.objects.count() == 1


def test_an_off_session_decline_whose_answer_was_lost_fails_the_attempt(owner, stripe_enabled, stripe_sim):
    method = saved_card(owner, stripe_sim, "4000000000009995")
    invoice = due_today(owner)
    attempt = ChargeAttempt.objects.create(invoice=invoice, gateway="stripe", kind=ChargeAttempt.Kind.OFF_SESSION,
                                           method=method, amount=invoice.balance, currency="USD",
                                           idempotency_key=f"stripe:invoice:{invoice.pk}:auto:1")
    stripe_sim.lose_webhooks = 1
    with pytest.raises(services.GatewayError):  # Stripe declined; the worker died before it saved the answer
        services.get_gateway("stripe").charge(invoice, method, attempt.idempotency_key, amount=attempt.amount)
    assert reconcile.reconcile_charges(now=later()) == {"failed": 1}
    attempt.refresh_from_db()
    assert (attempt.status, attempt.reason) == (ChargeAttempt.Status.FAILED, "insufficient_funds")
    assert attempt.next_retry_at == at(invoice.due_date + timedelta(days=1), 6)  # the first dunning day
    assert EmailLog.objects.get(event_key=f"payment.charge_failed:{attempt.pk}").client == owner
    assert ActivityLog.objects.filter(action="payment.charge_failed").count() == 1
    assert not Payment.objects.exists()


def test_an_off_session_charge_stripe_never_saw_is_left_to_the_dunning_job(owner, stripe_enabled, stripe_sim):
    saved_card(owner, stripe_sim, "4242424242424242")
    invoice = due_today(owner)
    ChargeAttempt.objects.create(invoice=invoice, gateway="stripe", kind=ChargeAttempt.Kind.OFF_SESSION,
                                 amount=invoice.balance, currency="USD", created_at=later(-30),
                                 idempotency_key=f"stripe:invoice:{invoice.pk}:auto:1")
    assert reconcile.reconcile_charges() == {"left": 1}
    assert ChargeAttempt.objects.get().status == ChargeAttempt.Status.PENDING


def test_a_stripe_outage_is_counted_and_tried_again(signed_in, owner, stripe_enabled, stripe_sim):
    paid_checkout_with_lost_webhooks(signed_in, owner, stripe_sim)
    with mock.patch("payments.gateways.stripe.StripeGateway.lookup",
                    side_effect=services.GatewayError("down", code="temporary")):
        assert reconcile.reconcile_charges(now=later()) == {"error": 1}
    assert reconcile.reconcile_charges(now=later()) == {"recorded": 1}


def test_the_job_is_scheduled_and_its_task_records_the_run(signed_in, owner, stripe_enabled, stripe_sim):
    job = next(job for job in PERIODIC_JOBS if job.name == "payments_reconcile_charges")
    assert job.task == "payments.tasks.reconcile_charges" and job in all_jobs()
    assert tasks.reconcile_charges() == "{}"
    assert JobRun.objects.filter(name="payments_reconcile_charges").exists()


def test_a_payment_that_differs_from_the_attempt_is_left_for_staff_not_recorded(signed_in, owner, stripe_enabled,
                                                                                stripe_sim):
    paid_checkout_with_lost_webhooks(signed_in, owner, stripe_sim)
    ChargeAttempt.objects.update(amount="30.00")  # the portal asked for 30.00; Stripe took 25.00
    assert reconcile.reconcile_charges(now=later()) == {"mismatch": 1}
    attempt = ChargeAttempt.objects.get()
    assert (attempt.status, str(attempt.received_amount)) == (ChargeAttempt.Status.UNAPPLIED, "25.00")
    assert not Payment.objects.exists()
    assert ActivityLog.objects.get(action="payment.reconciled").data["outcome"] == "mismatch"
    assert reconcile.reconcile_charges(now=later(40)) == {}


def test_open_sessions_do_not_keep_a_small_batch_from_the_others(signed_in, owner, stripe_enabled, stripe_sim):
    start_checkout(signed_in, unpaid_invoice(owner))  # abandoned: open at Stripe
    paid_checkout_with_lost_webhooks(signed_in, owner, stripe_sim)
    ChargeAttempt.objects.update(updated_at=later(-60))
    first = ChargeAttempt.objects.order_by("pk").first()
    ChargeAttempt.objects.filter(pk=first.pk).update(updated_at=later(-90))  # asked about longest ago
    assert reconcile.reconcile_charges(now=later(), limit=1) == {"left": 1}
    assert reconcile.reconcile_charges(now=later(), limit=1) == {"recorded": 1}
    assert Payment.objects.count() == 1


def test_the_gateway_is_asked_about_the_stale_attempts_at_once(owner, stripe_enabled, stripe_sim):
    saved_card(owner, stripe_sim, "4242424242424242")
    for _ in range(3):
        invoice = due_today(owner)
        ChargeAttempt.objects.create(invoice=invoice, gateway="stripe", kind=ChargeAttempt.Kind.OFF_SESSION,
                                     amount=invoice.balance, currency="USD", created_at=later(-30),
                                     idempotency_key=f"stripe:invoice:{invoice.pk}:auto:1")
    # each lookup waits for the other two: one after the other, the first would wait in vain and fail the run
    together, lookup = threading.Barrier(3, timeout=10), StripeGateway.lookup

    def lookup_together(self, attempt):
        together.wait()
        return lookup(self, attempt)

    with mock.patch.object(StripeGateway, "lookup", lookup_together):
        assert reconcile.reconcile_charges(threads=3) == {"left": 3}
    assert stripe_sim.calls_to("/v1/payment_intents/search") == 3
