"""Many payments at once (billing.services.payment_batch): the rules of payment_record — once per transaction id,
partial, overpayment to credit, settled once — with a fixed number of queries per batch."""
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from billing.models import CreditLedgerEntry, Invoice, Payment
from billing.services import payment_batch
from billing.services.payment_batch import PaymentRequest, payments_record_batch
from billing.services.payments import payment_record
from portal.models import ActivityLog, Client
from tests.factories import ClientFactory, InvoiceFactory

pytestmark = pytest.mark.django_db


def test_a_batch_follows_payment_records_rules(system):
    client = ClientFactory()
    partial, twice, over, draft, other = (InvoiceFactory(client=client) for _ in range(5))
    Invoice.objects.filter(pk=draft.pk).update(status="draft")
    payment_record(invoice=partial, amount="1.00", transaction_id="T0", gateway="bank", actor=system)
    payment_record(invoice=other, amount="1.00", transaction_id="T7", gateway="bank", actor=system)
    results = payments_record_batch(requests=[
        PaymentRequest(partial.pk, Decimal("4.00"), "T1"),
        PaymentRequest(twice.pk, Decimal("6.00"), "T2"),
        PaymentRequest(twice.pk, Decimal("4.00"), "T3"),  # pays the rest: settled once
        PaymentRequest(over.pk, Decimal("25.00"), "T4"),
        PaymentRequest(draft.pk, Decimal("1.00"), "T5"),
        PaymentRequest(over.pk, Decimal("25.00"), "T4"),
        PaymentRequest(partial.pk, Decimal("1.00"), "T0"),  # already recorded, same invoice and amount
        PaymentRequest(twice.pk, Decimal("1.00"), "T7"),  # already recorded for another invoice
        PaymentRequest(partial.pk, Decimal("0.001"), "T6"),
    ], gateway="bank", actor=system)
    assert [r if isinstance(r, str) else (r.created, r.applied, r.credited) for r in results] == [
        (True, Decimal("4.00"), Decimal("0.00")),
        (True, Decimal("6.00"), Decimal("0.00")),
        (True, Decimal("4.00"), Decimal("0.00")),
        (True, Decimal("10.00"), Decimal("15.00")),
        "This invoice is a draft: issue it before recording a payment.",
        "The bank transaction T4 is twice in this batch.",
        (False, Decimal("0.00"), Decimal("0.00")),
        f"The bank transaction T7 is already recorded (1.00 USD on invoice {other}).",
        "Use at most two decimal places.",
    ]
    statuses = dict(Invoice.objects.values_list("pk", "status"))
    assert [statuses[i.pk] for i in (partial, twice, over, draft)] == ["unpaid", "paid", "paid", "draft"]
    assert Invoice.objects.get(pk=partial.pk).balance == Decimal("5.00")
    assert Client.objects.get(pk=client.pk).credit_balance == Decimal("15.00")
    assert list(CreditLedgerEntry.objects.values_list("kind", flat=True)) == ["overpayment"]
    assert Payment.objects.count() == 6
    assert ActivityLog.objects.filter(action="payment.record").count() == 6
    assert ActivityLog.objects.filter(action="invoice.paid").count() == 2


def test_the_queries_of_a_batch_do_not_grow_with_its_payments(system):
    def batch(n, prefix):
        invoices = [InvoiceFactory(client=ClientFactory()) for _ in range(n)]
        with CaptureQueriesContext(connection) as queries:
            payments_record_batch(requests=[PaymentRequest(i.pk, Decimal("10.00"), f"{prefix}{i.pk}") for i in invoices],
                                  gateway="bank", actor=system)
        assert set(Invoice.objects.filter(pk__in=[i.pk for i in invoices]).values_list("status", flat=True)) == {"paid"}
        return len(queries)

    assert batch(2, "a") == batch(20, "b")


def test_a_concurrent_writer_makes_the_batch_record_one_by_one(system, monkeypatch):
    client = ClientFactory()
    raced, other = InvoiceFactory(client=client), InvoiceFactory(client=client)
    # Another request records T1 after the batch looked for it (simulated: the batch does not see it).
    payment_record(invoice=raced, amount="10.00", transaction_id="T1", gateway="bank", actor=system)
    monkeypatch.setattr(payment_batch, "_existing_payments", lambda gateway, ids: {})
    results = payments_record_batch(requests=[PaymentRequest(raced.pk, Decimal("10.00"), "T1"),
                                              PaymentRequest(other.pk, Decimal("10.00"), "T2")],
                                    gateway="bank", actor=system)
    assert [(r.created, r.payment.transaction_id) for r in results] == [(False, "T1"), (True, "T2")]
    assert Payment.objects.count() == 2
    assert set(Invoice.objects.values_list("status", flat=True)) == {"paid"}
    assert ActivityLog.objects.filter(action="invoice.paid").count() == 2


def test_a_batch_stores_each_gateways_fee_on_its_payment(system):
    first, second = InvoiceFactory(client=ClientFactory()), InvoiceFactory(client=ClientFactory())
    results = payments_record_batch(requests=[PaymentRequest(first.pk, Decimal("10.00"), "pi_1", fees=Decimal("0.59")),
                                              PaymentRequest(second.pk, Decimal("10.00"), "pi_2")],
                                    gateway="stripe", actor=system)
    assert [r.created for r in results] == [True, True]
    assert dict(Payment.objects.values_list("transaction_id", "fees")) == {"pi_1": Decimal("0.59"),
                                                                           "pi_2": Decimal("0.00")}
