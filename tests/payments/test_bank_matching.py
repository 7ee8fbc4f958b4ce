"""Matching a statement's credit lines to invoices and recording them through billing: by RF reference, else by
exact amount and payer name (a unique match only); the same statement twice records nothing new; partial and
overpayments follow billing's rules; an overdue suspended service is unsuspended by billing's payment follow-up;
the matching costs the same number of queries whatever the number of lines; staff resolve what is left."""
import gc
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from billing.models import CreditLedgerEntry, Invoice, Payment, Service
from billing.payment_reference import invoice_reference_display, rf_reference
from payments.bank.camt053 import parse_camt053
from payments.bank.lines import ParsedLine, StatementError
from payments.bank.matching import (
    fewer_gc_passes,
    import_file,
    import_statement,
    line_assign,
    line_ignore,
    line_to_credit,
    match_lines,
)
from payments.models import BankStatement, StatementLine
from portal.models import ActivityLog, Client
from provisioning.modules.fake import FakeModule
from tests.billing.test_payments import suspended_overdue
from tests.factories import ClientFactory, InvoiceFactory
from tests.payments.camt import camt053

pytestmark = pytest.mark.django_db


def euro_client(name="Acme Corp", **kwargs):
    return ClientFactory(company_name=name, currency="EUR", **kwargs)


def invoice_of(client, total="119.00", **kwargs):
    return InvoiceFactory(client=client, currency=client.currency, subtotal=Decimal(total), total=Decimal(total), **kwargs)


def upload(entries, actor, **kwargs):
    return import_statement(parsed=parse_camt053(camt053(entries, **kwargs)), format="camt053", actor=actor,
                            filename="statement.xml")


def actions():
    return sorted(ActivityLog.objects.values_list("action", flat=True))


def test_the_structured_reference_pays_its_invoice(staff_actor):
    invoice = invoice_of(euro_client())
    statement = upload([{"ref": "E1", "amount": "119.00", "name": "Someone Else", "strd": rf_reference(invoice.pk)}],
                       staff_actor)
    invoice.refresh_from_db()
    assert (invoice.status, invoice.amount_paid) == ("paid", Decimal("119.00"))
    payment = Payment.objects.get()
    assert (payment.gateway, payment.transaction_id, payment.amount, payment.invoice_id) == (
        "bank_transfer", "E1", Decimal("119.00"), invoice.pk)
    assert payment.received_at.date().isoformat() == "2026-12-04" and payment.recorded_by == staff_actor.user
    line = StatementLine.objects.get()
    assert (line.state, line.matched_by, line.invoice_id, line.payment_id, line.reason) == (
        "paid", "reference", invoice.pk, payment.pk, "")
    assert (statement.line_count, statement.paid_count, statement.unmatched_count, statement.duplicate_count) == (1, 1, 0, 0)
    assert actions() == ["bank.statement_import", "invoice.paid", "payment.record"]
    assert "(bank_transfer E1)" in ActivityLog.objects.get(action="payment.record").message


def test_a_reference_typed_into_the_free_text_pays_its_invoice(staff_actor):
    invoice = invoice_of(euro_client())
    text = f"payment {invoice_reference_display(invoice).lower()} inv {invoice.number}"
    upload([{"ref": "E1", "amount": "119.00", "ustrd": text}], staff_actor)
    invoice.refresh_from_db()
    assert invoice.status == "paid"
    assert StatementLine.objects.get().matched_by == "reference"


def test_without_a_reference_the_exact_amount_and_the_payer_name_match(staff_actor):
    acme = euro_client("Acme Corp")
    invoice = invoice_of(acme, "43.85")
    other_amount = invoice_of(acme, "43.86")
    same_amount_other_client = invoice_of(euro_client("Globex Inc"), "43.85")
    person = invoice_of(euro_client("", first_name="Jürgen", last_name="Müller"), "10.00")
    upload([
        {"ref": "E1", "amount": "43.85", "name": "ACME CORP.", "ustrd": "November"},
        {"ref": "E2", "amount": "10.00", "name": "MUELLER JUERGEN"},  # transliterated: no match
        {"ref": "E3", "amount": "10.00", "name": "muller, jurgen"},  # accents and order differ: a match
    ], staff_actor)
    assert Invoice.objects.get(pk=invoice.pk).status == "paid"
    assert {i.status for i in Invoice.objects.filter(pk__in=[other_amount.pk, same_amount_other_client.pk])} == {"unpaid"}
    assert Invoice.objects.get(pk=person.pk).status == "paid"
    lines = {l.entry_reference: l for l in StatementLine.objects.all()}
    assert (lines["E1"].state, lines["E1"].matched_by, lines["E1"].invoice_id) == ("paid", "amount_name", invoice.pk)
    assert (lines["E2"].state, lines["E2"].invoice_id) == ("unmatched", None)
    assert lines["E2"].reason == "no payment reference, and no unpaid invoice of this amount for this payer"
    assert (lines["E3"].state, lines["E3"].invoice_id) == ("paid", person.pk)
    assert Payment.objects.count() == 2


def test_two_invoices_of_the_same_amount_for_the_payer_leave_the_line_for_staff(staff_actor):
    acme = euro_client("Acme Corp")
    first, second = invoice_of(acme, "20.00"), invoice_of(acme, "20.00")
    statement = upload([{"ref": "E1", "amount": "20.00", "name": "Acme Corp"}], staff_actor)
    line = StatementLine.objects.get()
    assert (line.state, line.invoice_id) == ("unmatched", None)
    assert line.reason == f"2 unpaid invoices of 20.00 EUR for this payer ({first}, {second}): choose one"
    assert Payment.objects.count() == 0 and set(Invoice.objects.values_list("status", flat=True)) == {"unpaid"}
    assert (statement.paid_count, statement.unmatched_count) == (0, 1)
    assert actions() == ["bank.statement_import"]


def test_an_invoice_is_matched_by_amount_once_per_statement(staff_actor):
    invoice = invoice_of(euro_client("Acme Corp"), "20.00")
    upload([{"ref": "E1", "amount": "20.00", "name": "Acme Corp"}, {"ref": "E2", "amount": "20.00", "name": "Acme Corp"}],
           staff_actor)
    assert list(StatementLine.objects.order_by("entry_reference").values_list("state", "invoice_id")) == [
        ("paid", invoice.pk), ("unmatched", None)]
    assert Payment.objects.count() == 1 and Client.objects.get().credit_balance == 0


def test_uploading_the_same_statement_twice_records_nothing_new(staff_actor):
    acme = euro_client()
    first, second = invoice_of(acme, "10.00"), invoice_of(acme, "99.00")
    entries = [{"ref": "E1", "amount": "10.00", "strd": rf_reference(first.pk)},
               {"ref": "E2", "amount": "5.00", "name": "Unknown"}]
    upload(entries, staff_actor)
    before = (Payment.objects.count(), ActivityLog.objects.exclude(action="bank.statement_import").count(),
              StatementLine.objects.count())
    again = upload(entries + [{"ref": "E3", "amount": "99.00", "strd": rf_reference(second.pk)}], staff_actor)
    assert (again.line_count, again.duplicate_count, again.paid_count, again.unmatched_count) == (1, 2, 1, 0)
    assert [d["entry_reference"] for d in again.duplicates] == ["E1", "E2"]
    assert Payment.objects.count() == before[0] + 1  # only E3
    assert StatementLine.objects.count() == before[2] + 1
    assert Payment.objects.filter(transaction_id="E1").count() == 1
    assert Invoice.objects.get(pk=first.pk).amount_paid == Decimal("10.00")
    assert BankStatement.objects.count() == 2
    # The same line twice in one file counts once too.
    third = upload([{"ref": "E9", "amount": "1.00"}, {"ref": "E9", "amount": "1.00"}], staff_actor)
    assert (third.line_count, third.duplicate_count) == (1, 1)


def test_a_partial_payment_leaves_the_balance_and_an_overpayment_goes_to_credit(staff_actor):
    acme = euro_client()
    partial, over = invoice_of(acme, "100.00"), invoice_of(acme, "50.00")
    upload([{"ref": "E1", "amount": "40.00", "strd": rf_reference(partial.pk)},
            {"ref": "E2", "amount": "75.00", "strd": rf_reference(over.pk)}], staff_actor)
    partial.refresh_from_db()
    over.refresh_from_db()
    assert (partial.status, partial.balance) == ("unpaid", Decimal("60.00"))
    assert (over.status, over.balance) == ("paid", Decimal("0.00"))
    acme.refresh_from_db()
    assert acme.credit_balance == Decimal("25.00")
    assert list(CreditLedgerEntry.objects.values_list("kind", "amount")) == [("overpayment", Decimal("25.0000"))]
    assert set(StatementLine.objects.values_list("state", flat=True)) == {"paid"}
    # The rest of the partial payment by amount and name: its balance is what is matched.
    upload([{"ref": "E3", "amount": "60.00", "name": "Acme Corp"}], staff_actor)
    partial.refresh_from_db()
    assert partial.status == "paid"


def test_another_currency_or_a_draft_is_not_matched(staff_actor):
    acme = euro_client()
    invoice, draft = invoice_of(acme, "10.00"), invoice_of(acme, "10.00", status="draft")
    upload([{"ref": "E1", "amount": "10.00", "currency": "USD", "strd": rf_reference(invoice.pk), "name": "Acme Corp"},
            {"ref": "E2", "amount": "10.00", "strd": rf_reference(draft.pk)},
            {"ref": "E3", "amount": "10.00", "strd": rf_reference(999999)}], staff_actor)
    lines = {l.entry_reference: l for l in StatementLine.objects.all()}
    assert lines["E1"].reason == f"the payment is in USD but invoice {invoice} is in EUR"
    assert lines["E2"].reason.startswith(f"its reference names invoice {draft}, which is a draft")
    assert lines["E3"].reason == "its payment reference names no invoice; no payer name to match by amount"
    assert {l.state for l in lines.values()} == {"unmatched"} and Payment.objects.count() == 0


def test_a_reference_billing_refuses_leaves_the_line_unmatched_with_its_reason(staff_actor):
    acme = euro_client()
    invoice, other = invoice_of(acme, "10.00"), invoice_of(acme, "10.00")
    Payment.objects.create(invoice=other, client=acme, amount=Decimal("10.00"), currency="EUR", gateway="bank_transfer",
                           transaction_id="E1")
    upload([{"ref": "E1", "amount": "10.00", "strd": rf_reference(invoice.pk)}], staff_actor)
    line = StatementLine.objects.get()
    assert (line.state, line.invoice_id, line.payment_id) == ("unmatched", None, None)
    assert line.reason.startswith("The bank_transfer transaction E1 is already recorded")
    assert Invoice.objects.get(pk=invoice.pk).status == "unpaid"


def test_a_bank_transfer_pays_an_overdue_invoice_and_the_service_is_unsuspended(staff_actor,
                                                                                  django_capture_on_commit_callbacks):
    service, invoice = suspended_overdue()
    assert service.status == Service.Status.SUSPENDED
    with django_capture_on_commit_callbacks(execute=True):
        upload([{"ref": "E1", "amount": "10.00", "currency": invoice.currency,
                 "strd": rf_reference(invoice.pk)}], staff_actor)
    invoice.refresh_from_db()
    service.refresh_from_db()
    assert invoice.status == "paid" and service.status == Service.Status.ACTIVE
    assert FakeModule.domains[service.domain].status == "active"
    assert Payment.objects.filter(invoice=invoice).count() == 1
    assert ActivityLog.objects.filter(action="invoice.paid", target_id=str(invoice.pk)).count() == 1
    # Uploading it again changes nothing.
    with django_capture_on_commit_callbacks(execute=True):
        upload([{"ref": "E1", "amount": "10.00", "currency": invoice.currency, "strd": rf_reference(invoice.pk)}],
               staff_actor)
    assert Payment.objects.filter(invoice=invoice).count() == 1
    assert ActivityLog.objects.filter(action="invoice.paid").count() == 1


def test_matching_costs_the_same_queries_for_3_or_60_lines(staff_actor):
    def lines(n):
        clients = [euro_client(f"Client {n}-{i}") for i in range(n)]
        invoices = [invoice_of(c, f"{10 + i}.00") for i, c in enumerate(clients)]
        return [
            ParsedLine(position=i, entry_reference=f"{n}-{i}", amount=inv.total, currency="EUR",
                       reference=rf_reference(inv.pk) if i % 2 else "", payer_name=c.company_name)
            for i, (c, inv) in enumerate(zip(clients, invoices))
        ]

    small, large = lines(3), lines(60)
    with CaptureQueriesContext(connection) as few:
        decided = match_lines(small)
    with CaptureQueriesContext(connection) as many:
        decided_large = match_lines(large)
    assert all(d.invoice for d in decided) and all(d.invoice for d in decided_large)
    assert len(few) == len(many) == 2


def test_staff_assign_an_unmatched_line_to_an_invoice(staff_actor):
    acme = euro_client()
    invoice = invoice_of(acme, "30.00")
    statement = upload([{"ref": "E1", "amount": "30.00", "name": "A. Person"}], staff_actor)
    line = StatementLine.objects.get()
    assert line.state == "unmatched"
    with pytest.raises(ValidationError, match="is in EUR"):
        line_assign(line=line, invoice=InvoiceFactory(currency="USD"), actor=staff_actor)
    line_assign(line=line, invoice=invoice, actor=staff_actor)
    line.refresh_from_db()
    invoice.refresh_from_db()
    statement.refresh_from_db()
    assert (line.state, line.matched_by, line.invoice_id, line.resolved_by) == ("assigned", "staff", invoice.pk, staff_actor.user)
    assert invoice.status == "paid" and Payment.objects.get().transaction_id == "E1"
    assert (statement.paid_count, statement.unmatched_count) == (1, 0)
    entry = ActivityLog.objects.get(action="bank.line_assigned")
    assert entry.actor_user == staff_actor.user and entry.data["from"] == "unmatched"
    with pytest.raises(ValidationError, match="only an unmatched line"):
        line_assign(line=line, invoice=invoice, actor=staff_actor)
    assert Payment.objects.count() == 1


def test_staff_put_a_line_to_credit_or_ignore_it(staff_actor):
    acme = euro_client()
    upload([{"ref": "E1", "amount": "30.00"}, {"ref": "E2", "amount": "0.35", "name": "Bank interest"}], staff_actor)
    first, second = StatementLine.objects.order_by("entry_reference")
    line_to_credit(line=first, client=acme, actor=staff_actor)
    acme.refresh_from_db()
    assert acme.credit_balance == Decimal("30.00") and Payment.objects.get().invoice is None
    with pytest.raises(ValidationError) as exc:
        line_ignore(line=second, reason=" ", actor=staff_actor)
    assert "reason" in exc.value.message_dict
    line_ignore(line=second, reason="Interest", actor=staff_actor)
    assert list(StatementLine.objects.order_by("entry_reference").values_list("state", "reason")) == [
        ("credited", ""), ("ignored", "Interest")]
    assert Payment.objects.count() == 1
    assert {"bank.line_credited", "bank.line_ignored", "payment.to_credit"} <= set(actions())


def test_the_import_restores_the_garbage_collector_threshold(staff_actor):
    before = gc.get_threshold()
    with fewer_gc_passes():
        with fewer_gc_passes():
            assert gc.get_threshold()[0] >= 1_000_000
        assert gc.get_threshold()[0] >= 1_000_000
    assert gc.get_threshold() == before
    with pytest.raises(StatementError):
        import_file(data=b"<html/>", format="camt053", actor=staff_actor)
    assert gc.get_threshold() == before
