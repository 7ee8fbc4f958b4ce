"""The periodic automatic-charge run at scale: a set-based selection (its query count does not grow with the
number of due invoices), the gateway calls on a thread pool, every invoice charged exactly once, and a second run
that selected the same invoices at the same time charging none of them."""
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from billing.models import EmailLog, Invoice, Payment
from payments import services
from payments.models import ChargeAttempt, PaymentMethod
from portal.models import ActivityLog
from tests.factories import ClientFactory
from tests.payments.conftest import unpaid_invoice

pytestmark = pytest.mark.django_db


def due_with_card(sim, count, card="4242424242424242"):
    invoices = []
    for _ in range(count):
        client = ClientFactory()
        customer, method = sim.attach_card(card)
        PaymentMethod.objects.create(client=client, gateway="stripe", customer_id=customer, method_id=method,
                                     brand="visa", last4=card[-4:], is_default=True)
        invoice = unpaid_invoice(client, "12.50")
        Invoice.objects.filter(pk=invoice.pk).update(due_date=timezone.localdate())
        invoices.append(invoice)
    return invoices


def selection_queries(now):
    with CaptureQueriesContext(connection) as queries:
        rows = list(services.due_for_charge(now))
    return len(rows), len(queries)


def test_the_selection_takes_the_same_queries_for_3_or_30_invoices(stripe_enabled, stripe_sim):
    now = timezone.now()
    due_with_card(stripe_sim, 3)
    few, few_queries = selection_queries(now)
    due_with_card(stripe_sim, 27)
    many, many_queries = selection_queries(now)
    assert (few, many) == (3, 30)
    assert few_queries == many_queries == 2  # the enabled gateways, then the invoices with everything needed


def test_the_selection_skips_what_is_not_due(owner, stripe_enabled, stripe_sim):
    now = timezone.now()
    paid, tried, retry_due = due_with_card(stripe_sim, 3)
    Invoice.objects.filter(pk=paid.pk).update(amount_paid=Decimal("12.50"))
    services.charge_saved_method(invoice=tried, actor=services.Actor.system("test"), now=now)
    ChargeAttempt.objects.create(invoice=retry_due, gateway="stripe", kind=ChargeAttempt.Kind.OFF_SESSION,
                                 idempotency_key=f"stripe:invoice:{retry_due.pk}:auto:1", amount=Decimal("12.50"),
                                 currency="USD", status=ChargeAttempt.Status.FAILED, next_retry_at=now)
    unpaid_invoice(owner)  # no saved card
    rows = list(services.due_for_charge(now))
    assert [(row.pk, row.tries, row.pending_pk) for row in rows] == [(retry_due.pk, 1, None)]


def test_every_due_invoice_is_charged_exactly_once_on_threads(stripe_enabled, stripe_sim):
    stripe_sim.latency_ms = 20
    invoices = due_with_card(stripe_sim, 40)
    assert services.charge_due_invoices(threads=8) == {"succeeded": 40}
    assert len(stripe_sim.intents) == 40 and stripe_sim.calls_to("/v1/payment_intents") == 40
    charged = sorted(int(intent["metadata"]["invoice_id"]) for intent in stripe_sim.intents.values())
    assert charged == sorted(invoice.pk for invoice in invoices)
    assert set(Invoice.objects.values_list("status", flat=True)) == {Invoice.Status.PAID}
    assert Payment.objects.count() == 40
    assert sorted(ChargeAttempt.objects.values_list("idempotency_key", flat=True)) == sorted(
        f"stripe:invoice:{invoice.pk}:auto:1" for invoice in invoices)
    assert services.charge_due_invoices(threads=8) == {}  # all paid: nothing more
    assert len(stripe_sim.intents) == 40


def test_a_run_that_selected_the_same_invoices_claims_none_of_them(stripe_enabled, stripe_sim):
    now = timezone.now()
    due_with_card(stripe_sim, 5)
    first, second = list(services.due_for_charge(now)), list(services.due_for_charge(now))
    claimed = services._claim(first, PaymentMethod.objects.in_bulk(), {}, now)
    assert len(claimed) == 5
    assert services._claim(second, PaymentMethod.objects.in_bulk(), {}, now) == []  # the keys are taken
    assert services.charge_due_invoices(now=now) == {}  # claimed tries are not due again for an hour
    assert not stripe_sim.intents


def test_a_claimed_pending_try_is_not_claimed_again(owner, stripe_enabled, stripe_sim):
    due_with_card(stripe_sim, 1)
    stripe_sim.fail("status", path="/v1/payment_intents", status=500, times=3)  # the library's 2 retries too
    now = timezone.now()
    assert services.charge_due_invoices(now=now) == {"pending": 1}
    later = now + services.TEMPORARY_RETRY
    first, second = list(services.due_for_charge(later)), list(services.due_for_charge(later))
    pendings = ChargeAttempt.objects.select_related("method").in_bulk()
    assert len(services._claim(first, {}, pendings, later)) == 1
    assert services._claim(second, {}, pendings, later) == []  # the conditional UPDATE found it taken
    assert services.charge_due_invoices(now=later + services.TEMPORARY_RETRY) == {"succeeded": 1}
    assert len(stripe_sim.intents) == 1  # the same key: one charge
    assert ChargeAttempt.objects.count() == 1


def test_an_invoice_paid_after_the_selection_is_not_charged(stripe_enabled, stripe_sim):
    now = timezone.now()
    (invoice,) = due_with_card(stripe_sim, 1)
    rows = list(services.due_for_charge(now))
    Invoice.objects.filter(pk=invoice.pk).update(status=Invoice.Status.PAID, amount_paid=Decimal("12.50"))
    assert services._claim(rows, PaymentMethod.objects.in_bulk(), {}, now) == []


def charging_queries(**kwargs):
    with CaptureQueriesContext(connection) as queries:
        counts = services.charge_due_invoices(threads=8, **kwargs)
    return counts, len(queries)


def test_the_charging_pass_takes_the_same_queries_for_n_or_2n_invoices(stripe_enabled, stripe_sim):
    # 8 threads claim 32 invoices a chunk and 200 are recorded a batch: both sizes fit one chunk and one batch
    due_with_card(stripe_sim, 6)
    few = charging_queries()
    due_with_card(stripe_sim, 12)
    many = charging_queries()
    assert (few[0], many[0]) == ({"succeeded": 6}, {"succeeded": 12})
    assert few[1] == many[1]
    assert Payment.objects.count() == 18 and set(Invoice.objects.values_list("status", flat=True)) == {"paid"}


def test_retrying_pending_tries_takes_the_same_queries_for_n_or_2n_invoices(stripe_enabled, stripe_sim):
    now = timezone.now()
    later = now + services.TEMPORARY_RETRY

    def pending(count):
        due_with_card(stripe_sim, count)
        stripe_sim.fail("status", path="/v1/payment_intents", status=500, times=3 * count)  # and the 2 retries
        assert services.charge_due_invoices(now=now, threads=8) == {"pending": count}
        stripe_sim.clear_failures()

    pending(5)
    few = charging_queries(now=later)
    pending(10)
    many = charging_queries(now=later)
    assert (few[0], many[0]) == ({"succeeded": 5}, {"succeeded": 10})
    assert few[1] == many[1]
    assert len(stripe_sim.intents) == 15 and ChargeAttempt.objects.count() == 15  # each try kept its key


def test_a_batch_records_payment_fee_audit_and_paid_email_as_one_payment_would(stripe_enabled, stripe_sim):
    invoices = due_with_card(stripe_sim, 3)
    assert services.charge_due_invoices() == {"succeeded": 3}
    for invoice in invoices:
        payment = Payment.objects.get(invoice=invoice)
        attempt = ChargeAttempt.objects.get(invoice=invoice)
        assert (payment.amount, payment.fees, payment.gateway) == (Decimal("12.50"), Decimal("0.66"), "stripe")
        assert (attempt.status, attempt.payment, attempt.received_amount, attempt.next_retry_at) == (
            ChargeAttempt.Status.SUCCEEDED, payment, Decimal("12.50"), None)
        assert ActivityLog.objects.filter(action="payment.record", target_id=str(invoice.pk)).count() == 1
        assert ActivityLog.objects.filter(action="invoice.paid", target_id=str(invoice.pk)).count() == 1
        assert EmailLog.objects.filter(event_key=f"invoice.paid:{invoice.pk}").count() == 1


def test_a_batch_billing_cannot_record_is_recorded_one_by_one(stripe_enabled, stripe_sim, monkeypatch):
    due_with_card(stripe_sim, 3)

    def broken(*args, **kwargs):
        raise RuntimeError("the batch failed")

    monkeypatch.setattr(services, "record_paid", broken)
    assert services.charge_due_invoices() == {"succeeded": 3}
    assert Payment.objects.count() == 3 and len(stripe_sim.intents) == 3
    assert set(Invoice.objects.values_list("status", flat=True)) == {"paid"}


def test_declines_in_a_run_fail_their_try_and_email_the_pay_link_while_the_others_are_paid(stripe_enabled,
                                                                                          stripe_sim):
    paid = due_with_card(stripe_sim, 2)
    (declined,) = due_with_card(stripe_sim, 1, card="4000000000000002")
    (needs_auth,) = due_with_card(stripe_sim, 1, card="4000002500003155")
    assert services.charge_due_invoices() == {"succeeded": 2, "failed": 2}
    assert set(Invoice.objects.filter(pk__in=[i.pk for i in paid]).values_list("status", flat=True)) == {"paid"}
    reasons = dict(ChargeAttempt.objects.filter(status="failed").values_list("invoice_id", "reason"))
    assert reasons == {declined.pk: "generic_decline", needs_auth.pk: "authentication_required"}
    assert EmailLog.objects.filter(template_name="Automatic Payment Failed").count() == 2
