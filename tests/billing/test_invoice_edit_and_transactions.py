"""Editing an unpaid invoice's lines and dates (totals recalculated, excess to credit, settling when nothing is
left to pay), and transactions beyond invoice payments: money into credit, refunds of a paid invoice or of
credit, and corrections of a transaction's description (its amounts never change)."""
from datetime import date, datetime, timezone as dt_timezone
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from billing.models import CreditLedgerEntry, Invoice, InvoiceItem, Payment, TaxRule
from billing.services.invoice_edit import LineChange, invoice_update, new_line
from billing.services.invoices import Line, invoice_create
from billing.services.payments import payment_record
from billing.services.transactions import payment_to_credit, refund_record, transaction_update
from portal.models import ActivityLog, Client
from tests.factories import ClientFactory, InvoiceItemFactory, ServiceFactory

pytestmark = pytest.mark.django_db


def invoice_for(client, actor, *amounts):
    lines = [Line(InvoiceItem.Kind.ITEM, f"Line {n}", Decimal(a)) for n, a in enumerate(amounts, start=1)]
    return invoice_create(client=client, lines=lines, actor=actor)


def test_edit_lines_add_and_delete_recalculates_totals_with_the_invoice_tax(staff_actor):
    TaxRule.objects.create(country="CA", name="HST", rate=Decimal("13.000"))
    client = ClientFactory(country="CA")
    invoice = invoice_for(client, staff_actor, "10.00", "20.00", "5.00")
    first, second, third = invoice.items.order_by("sort_order")
    updated = invoice_update(
        invoice=invoice, actor=staff_actor,
        line_changes={first.pk: LineChange(description="Consulting", amount=Decimal("15.00")),
                      second.pk: LineChange(taxable=False)},
        new_lines=[new_line("Extra", Decimal("2.50"), taxable=True)], delete_ids=[third.pk],
        due_date=date(2030, 1, 31), notes="Adjusted",
    )
    assert list(updated.items.order_by("sort_order").values_list("description", "amount", "taxable")) == [
        ("Consulting", Decimal("15.00"), True), ("Line 2", Decimal("20.00"), False), ("Extra", Decimal("2.50"), True)]
    assert (updated.subtotal, updated.tax, updated.total) == (Decimal("37.50"), Decimal("2.28"), Decimal("39.78"))
    assert (updated.due_date, updated.notes, updated.status) == (date(2030, 1, 31), "Adjusted", "unpaid")
    entry = ActivityLog.objects.get(action="invoice.update")
    assert entry.data["changes"]["total"] == ["39.55", "39.78"]
    assert set(entry.data["changes"]) == {"line %d" % first.pk, "line %d" % second.pk, "new lines", "deleted lines",
                                          "due_date", "notes", "total"}


def test_lowering_the_total_below_what_was_received_returns_it_and_settles(staff_actor):
    client = ClientFactory()
    invoice = invoice_for(client, staff_actor, "10.00", "20.00")
    payment_record(invoice=invoice, amount="25.00", transaction_id="t1", actor=staff_actor)
    second = invoice.items.order_by("sort_order")[1]
    updated = invoice_update(invoice=invoice, actor=staff_actor, line_changes={second.pk: LineChange(amount=Decimal("5.00"))})
    assert (updated.total, updated.amount_paid, updated.status) == (Decimal("15.00"), Decimal("15.00"), "paid")
    assert Client.objects.get(pk=client.pk).credit_balance == Decimal("10.00")
    assert CreditLedgerEntry.objects.get(kind="refund").amount == Decimal("10.00")


@pytest.mark.parametrize("status", ["paid", "cancelled", "refunded"])
def test_only_an_unpaid_invoice_has_its_lines_changed(staff_actor, status):
    invoice = invoice_for(ClientFactory(), staff_actor, "10.00")
    Invoice.objects.filter(pk=invoice.pk).update(status=status)
    item = invoice.items.get()
    with pytest.raises(ValidationError, match=f"is {status}: only an unpaid invoice's lines and dates"):
        invoice_update(invoice=invoice, actor=staff_actor, line_changes={item.pk: LineChange(amount=Decimal("1.00"))})
    # Notes are not money: they may be corrected on any invoice.
    invoice_update(invoice=invoice, actor=staff_actor, notes="PO 1234")
    invoice.refresh_from_db()
    item.refresh_from_db()
    assert (invoice.notes, invoice.total, item.amount) == ("PO 1234", Decimal("10.00"), Decimal("10.00"))


@pytest.mark.parametrize("edit, message", [
    (lambda inv, other: {"delete_ids": [other.pk]}, "are not on invoice"),
    (lambda inv, other: {"delete_ids": [i.pk for i in inv.items.all()]}, "cancel the invoice instead"),
    (lambda inv, other: {"line_changes": {inv.items.first().pk: LineChange(amount=Decimal("1.005"))}}, "two decimal"),
    (lambda inv, other: {"line_changes": {inv.items.first().pk: LineChange(description=" ")}}, "cannot be empty"),
    (lambda inv, other: {"due_date": date(2000, 1, 1)}, "due date cannot be before"),
    (lambda inv, other: {"new_lines": [new_line("x", Decimal("0.001"))]}, "two decimal"),
])
def test_bad_edits_are_refused_and_change_nothing(staff_actor, edit, message):
    invoice = invoice_for(ClientFactory(), staff_actor, "10.00", "5.00")
    other = invoice_for(ClientFactory(), staff_actor, "1.00").items.get()
    before = list(InvoiceItem.objects.order_by("pk").values_list("pk", "description", "amount"))
    with pytest.raises(ValidationError, match=message):
        invoice_update(invoice=invoice, actor=staff_actor, **edit(invoice, other))
    assert list(InvoiceItem.objects.order_by("pk").values_list("pk", "description", "amount")) == before
    assert Invoice.objects.get(pk=invoice.pk).total == Decimal("15.00")
    assert not ActivityLog.objects.filter(action="invoice.update").exists()


def test_a_service_period_line_can_be_repriced_but_not_removed(staff_actor):
    service = ServiceFactory()
    invoice = invoice_for(service.client, staff_actor, "3.00")
    period = InvoiceItemFactory(invoice=invoice, service=service, kind="service", period_key=f"service:{service.pk}:2026-12-01")
    with pytest.raises(ValidationError, match="cannot be removed"):
        invoice_update(invoice=invoice, actor=staff_actor, delete_ids=[period.pk])
    invoice_update(invoice=invoice, actor=staff_actor, line_changes={period.pk: LineChange(amount=Decimal("8.00"))})
    assert Invoice.objects.get(pk=invoice.pk).total == Decimal("11.00")


def test_payment_to_credit_and_its_idempotency(staff_actor, owner):
    payment = payment_to_credit(client=owner, amount="30.00", transaction_id="w1", gateway="wire", actor=staff_actor)
    owner.refresh_from_db()
    assert (payment.invoice, payment.amount, owner.credit_balance) == (None, Decimal("30.00"), Decimal("30.00"))
    assert CreditLedgerEntry.objects.get(payment=payment).kind == "topup"
    with pytest.raises(ValidationError, match="already recorded"):
        payment_to_credit(client=owner, amount="30.00", transaction_id="w1", gateway="wire", actor=staff_actor)
    assert Client.objects.get(pk=owner.pk).credit_balance == Decimal("30.00")
    assert ActivityLog.objects.filter(action="payment.to_credit").count() == 1


def test_refunds_of_a_paid_invoice_up_to_what_it_received(staff_actor, owner):
    invoice = invoice_for(owner, staff_actor, "50.00")
    paid = payment_record(invoice=invoice, amount="50.00", transaction_id="in1", actor=staff_actor).payment
    part = refund_record(invoice=invoice, amount="20.00", transaction_id="out1", gateway="manual", actor=staff_actor)
    assert (part.amount, part.amount_out, part.refund_of, part.client) == (Decimal("0.00"), Decimal("20.00"), paid, owner)
    assert Invoice.objects.get(pk=invoice.pk).status == "paid"
    with pytest.raises(ValidationError, match="Refund at most 30.00"):
        refund_record(invoice=invoice, amount="30.01", transaction_id="out2", gateway="manual", actor=staff_actor)
    refund_record(invoice=invoice, amount="30.00", transaction_id="out3", gateway="manual", actor=staff_actor)
    assert Invoice.objects.get(pk=invoice.pk).status == "refunded"
    assert Client.objects.get(pk=owner.pk).credit_balance == 0  # a refund to the gateway does not touch credit
    assert ActivityLog.objects.filter(action="payment.refund").count() == 2


def test_an_unpaid_invoice_is_not_refunded(staff_actor, owner):
    invoice = invoice_for(owner, staff_actor, "50.00")
    payment_record(invoice=invoice, amount="10.00", transaction_id="in1", actor=staff_actor)
    with pytest.raises(ValidationError, match="only a paid invoice"):
        refund_record(invoice=invoice, amount="5.00", transaction_id="out", gateway="manual", actor=staff_actor)
    assert Payment.objects.count() == 1


def test_a_refund_of_credit_cannot_exceed_it(staff_actor, owner):
    payment_to_credit(client=owner, amount="10.00", transaction_id="in", gateway="wire", actor=staff_actor)
    with pytest.raises(ValidationError, match="Refund at most 10.00"):
        refund_record(client=owner, amount="10.01", transaction_id="out", gateway="wire", actor=staff_actor)
    refund = refund_record(client=owner, amount="4.00", transaction_id="out", gateway="wire", actor=staff_actor)
    assert Client.objects.get(pk=owner.pk).credit_balance == Decimal("6.00")
    assert CreditLedgerEntry.objects.get(payment=refund).amount == Decimal("-4.00")


def test_a_transaction_is_corrected_in_its_description_never_its_amounts(staff_actor, owner):
    invoice = invoice_for(owner, staff_actor, "50.00")
    payment = payment_record(invoice=invoice, amount="50.00", transaction_id="typo", actor=staff_actor).payment
    other = payment_to_credit(client=owner, amount="1.00", transaction_id="taken", gateway="wire", actor=staff_actor)
    when = datetime(2026, 11, 2, 12, tzinfo=dt_timezone.utc)
    transaction_update(payment=payment, actor=staff_actor, transaction_id="TX-1", gateway="wire", note="Bank wire",
                       received_at=when, fees=Decimal("1.25"))
    payment.refresh_from_db()
    assert (payment.transaction_id, payment.gateway, payment.note, payment.received_at, payment.fees, payment.amount) == (
        "TX-1", "wire", "Bank wire", when, Decimal("1.25"), Decimal("50.00"))
    entry = ActivityLog.objects.get(action="payment.update")
    assert entry.data["changes"]["transaction_id"] == ["typo", "TX-1"] and entry.client_id == owner.pk
    with pytest.raises(ValidationError, match="amount of a transaction cannot be changed"):
        transaction_update(payment=payment, actor=staff_actor, amount=Decimal("5.00"))
    with pytest.raises(ValidationError, match="already recorded"):
        transaction_update(payment=payment, actor=staff_actor, transaction_id=other.transaction_id)
    payment.refresh_from_db()
    assert (payment.transaction_id, payment.amount) == ("TX-1", Decimal("50.00"))
    assert ActivityLog.objects.filter(action="payment.update").count() == 1
