"""Issuing and cancelling invoices. `issue_invoices` is set-based: it issues any number of invoices with a
fixed number of queries per batch (one block of numbers, bulk inserts, bulk credit application), and serves
orders, upgrades, add-funds and the recurring generator alike."""
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from billing import emails, hooks
from billing.models import CreditLedgerEntry, CreditNote, Invoice, InvoiceItem, InvoiceTaxLine
from billing.numbering import issue_numbers
from billing.services.credit_notes import credit_note_issue, credited_total
from billing.services.ledger import ledger_post, lock_client
from billing.services.payments import _clean_amount, settle_invoices
from billing.tax.documents import copy_tax_setup, invoice_tax_fields, retotal, tax_for_clients, tax_line_rows
from portal.activity import build_entry, log_activities, log_activity
from portal.models import Client
from portal.money import ZERO, spendable


@dataclass
class Line:
    """One invoice line before it is saved. `amount` is already quantized by the rule that made it."""

    kind: str
    description: str
    amount: Decimal
    service_id: int | None = None
    period_start: date | None = None
    period_end: date | None = None
    period_key: str | None = None
    taxable: bool = True


@dataclass
class Draft:
    """An invoice to issue for a client whose row the caller has locked (its credit balance is current)."""

    client: Client
    lines: list
    due_date: date
    kind: str = Invoice.Kind.STANDARD
    notes: str = ""
    apply_credit: bool = True
    invoice: Invoice | None = field(default=None, repr=False)


def issue_invoices(*, drafts, on_date, actor):
    """Issue invoices for drafts whose clients the caller has locked in the open transaction. Applies credit
    where the client opted in, settles invoices that need no payment, audits, and queues 'Invoice Created'."""
    if not drafts:
        return []
    taxes = tax_for_clients((d.client, [(line.amount, line.taxable) for line in d.lines]) for d in drafts)  # one query for the whole batch's rules
    numbers = issue_numbers(len(drafts), on_date=on_date)
    for draft, (number, proforma_number), (decision, result) in zip(drafts, numbers, taxes):
        draft.invoice = Invoice(
            client_id=draft.client.pk, number=number, proforma_number=proforma_number, kind=draft.kind,
            status=Invoice.Status.UNPAID, currency=draft.client.currency, date=on_date, due_date=draft.due_date,
            notes=draft.notes, **invoice_tax_fields(decision, result),
        )
    invoices = Invoice.objects.bulk_create([d.invoice for d in drafts], batch_size=500)
    if invoices and invoices[0].pk is None:  # a database that cannot return ids from a bulk insert
        key = "number" if invoices[0].number else "proforma_number"  # each invoice has one of the two, unique
        values = [getattr(invoice, key) for invoice in invoices]
        ids = dict(Invoice.objects.filter(**{f"{key}__in": values}).values_list(key, "pk"))
        for invoice in invoices:
            invoice.pk = ids[getattr(invoice, key)]
    InvoiceItem.objects.bulk_create(
        [
            InvoiceItem(
                invoice_id=d.invoice.pk, service_id=line.service_id, kind=line.kind, description=line.description[:500],
                amount=line.amount, taxable=line.taxable, period_start=line.period_start, period_end=line.period_end,
                period_key=line.period_key, sort_order=position,
            )
            for d in drafts
            for position, line in enumerate(d.lines)
        ],
        batch_size=1000,
    )
    InvoiceTaxLine.objects.bulk_create(
        [row for d, (_, result) in zip(drafts, taxes) for row in tax_line_rows(d.invoice.pk, result)], batch_size=1000
    )
    _apply_credit(drafts)
    log_activities(
        [
            build_entry(
                actor=actor, action="invoice.create", target=d.invoice, client=d.client,
                message=f"Invoice {d.invoice} issued for {d.invoice.total} {d.invoice.currency}",
                data={"total": str(d.invoice.total), "credit_applied": str(d.invoice.credit_applied), "kind": d.kind},
            )
            for d in drafts
        ]
    )
    settle_invoices(invoices=[inv for inv in invoices if inv.balance <= 0], actor=actor)
    emails.queue_emails(
        [
            emails.EmailRequest(emails.INVOICE_CREATED, inv.client_id, f"invoice.created:{inv.pk}", invoice_id=inv.pk)
            for inv in invoices
            if inv.status == Invoice.Status.UNPAID
        ]
    )
    return invoices


def _apply_credit(drafts):
    """Pay new invoices from credit for clients who opted in, in bulk: one ledger entry per invoice."""
    entries, touched_invoices, touched_clients = [], [], {}
    for draft in drafts:
        client, invoice = draft.client, draft.invoice
        if not (draft.apply_credit and client.apply_credit_to_invoices and draft.kind == Invoice.Kind.STANDARD):
            continue
        use = min(spendable(client.credit_balance, invoice.currency), invoice.total)
        if use <= 0:
            continue
        invoice.credit_applied = use
        client.credit_balance -= use
        touched_invoices.append(invoice)
        touched_clients[client.pk] = client
        entries.append(
            CreditLedgerEntry(
                client_id=client.pk, kind=CreditLedgerEntry.Kind.INVOICE_PAYMENT, amount=-use, invoice_id=invoice.pk,
                description=f"Credit applied to invoice {invoice}", idempotency_key=f"invoice:{invoice.pk}:auto-credit",
            )
        )
    if entries:
        CreditLedgerEntry.objects.bulk_create(entries, batch_size=1000)
        Invoice.objects.bulk_update(touched_invoices, ["credit_applied"], batch_size=500)
        Client.objects.bulk_update(list(touched_clients.values()), ["credit_balance"], batch_size=500)


@transaction.atomic
def invoice_create(*, client, lines, actor, due_date=None, kind=Invoice.Kind.STANDARD, notes="", apply_credit=True,
                   date=None):
    """One invoice for one client (orders, upgrades, add-funds, staff). `date`: the invoice date when it is not
    today (staff recording an invoice of another day; WHMCS's CreateInvoice `date`); the due date defaults to it."""
    if not lines:
        raise ValidationError("An invoice needs at least one line.")
    client = lock_client(client)
    on_date = date or timezone.localdate()
    draft = Draft(client, lines, due_date or on_date, kind=kind, notes=notes, apply_credit=apply_credit)
    return issue_invoices(drafts=[draft], on_date=on_date, actor=actor)[0]


def take_back_excess(invoice):
    """After an invoice's total was lowered: what it received beyond the new total is taken off it (credit
    applied first, then payments) and returned, for the caller to post to the client's credit (ZERO if none)."""
    excess = -invoice.balance
    if excess <= 0:
        return ZERO
    from_credit = min(excess, invoice.credit_applied)
    invoice.credit_applied -= from_credit
    invoice.amount_paid -= excess - from_credit
    return excess


def refund_to_credit(*, invoice, amount, actor, reason):
    """Money received on an invoice that no longer needs it goes back to the client's credit, once per reason."""
    if amount <= 0:
        return None
    entry, _ = ledger_post(
        client=Client.objects.get(pk=invoice.client_id), kind=CreditLedgerEntry.Kind.REFUND, amount=amount,
        description=f"Returned from invoice {invoice.number or invoice.pk}: {reason}", invoice=invoice, actor=actor,
        idempotency_key=f"invoice:{invoice.pk}:refund:{reason}"[:120],
    )
    return entry


@transaction.atomic
def invoice_cancel(*, invoice, actor, reason="cancelled by staff"):
    """Cancel an invoice; what it received (less refunds) goes to the client's credit. An unpaid (or draft)
    invoice simply becomes Cancelled; a paid or refunded one is never edited: a credit note takes back what
    earlier credit notes have not (docs/tax.md, *Credit notes*)."""
    lock_client(invoice.client_id)
    invoice = Invoice.objects.select_for_update().get(pk=invoice.pk)
    if invoice.status == Invoice.Status.CANCELLED:
        raise ValidationError(f"Invoice {invoice} is already cancelled.")
    after_payment = invoice.status in (Invoice.Status.PAID, Invoice.Status.REFUNDED)
    refunded = (invoice.payments.aggregate(out=Sum("amount_out"))["out"] or ZERO) if after_payment else ZERO
    received = invoice.amount_paid + invoice.credit_applied - refunded
    credit_note = None
    if after_payment and invoice.total - credited_total(invoice) > 0:
        credit_note = credit_note_issue(invoice=invoice, amount=invoice.total - credited_total(invoice), actor=actor,
                                        kind=CreditNote.Kind.CANCELLATION, reason=f"Invoice cancelled: {reason}")
    invoice.status, invoice.cancelled_at = Invoice.Status.CANCELLED, timezone.now()
    invoice.save(update_fields=["status", "cancelled_at", "updated_at"])
    refund_to_credit(invoice=invoice, amount=received, actor=actor, reason="invoice cancelled")
    log_activity(
        actor=actor, action="invoice.cancel", target=invoice, message=f"Invoice {invoice} cancelled: {reason}"
        + (f"; credit note {credit_note}" if credit_note else ""),
        data={"returned_to_credit": str(received), "credit_note": getattr(credit_note, "number", None)},
    )
    hooks.cancel_pending_changes(invoice_ids=[invoice.pk], actor=actor, reason=f"invoice {invoice} cancelled")
    return invoice


def cancel_unpaid_items(*, service_ids, actor, reason, from_date=None):
    """Take a service's lines off unpaid invoices (those for periods starting on or after `from_date`, or all).

    An invoice left with no lines is cancelled. Otherwise the lines move to a new, unnumbered, cancelled
    invoice (seed 001) and the original is re-totalled; money it received beyond its new total goes to credit.
    The caller holds the client lock."""
    items = InvoiceItem.objects.filter(service_id__in=service_ids, invoice__status=Invoice.Status.UNPAID)
    if from_date is not None:
        items = items.filter(period_start__gte=from_date)
    removal = defaultdict(set)
    for invoice_id, item_id in items.values_list("invoice_id", "pk"):
        removal[invoice_id].add(item_id)
    if not removal:
        return []
    invoices = list(Invoice.objects.select_for_update().filter(pk__in=removal).order_by("pk"))
    all_items = defaultdict(list)
    for item in InvoiceItem.objects.filter(invoice_id__in=removal):
        all_items[item.invoice_id].append(item)
    now, touched, settled = timezone.now(), [], []
    for invoice in invoices:
        moving = [item for item in all_items[invoice.pk] if item.pk in removal[invoice.pk]]
        staying = [item for item in all_items[invoice.pk] if item.pk not in removal[invoice.pk]]
        if not staying:
            received = invoice.amount_paid + invoice.credit_applied
            invoice.status, invoice.cancelled_at = Invoice.Status.CANCELLED, now
            invoice.save(update_fields=["status", "cancelled_at", "updated_at"])
            refund_to_credit(invoice=invoice, amount=received, actor=actor, reason=reason)
        else:
            split = Invoice(
                client_id=invoice.client_id, number=None, kind=invoice.kind, status=Invoice.Status.CANCELLED,
                currency=invoice.currency, date=invoice.date, due_date=invoice.due_date, cancelled_at=now,
                notes=f"Lines moved from invoice {invoice}: {reason}",
            )
            split_tax = copy_tax_setup(invoice, split, moving)
            split.save()
            InvoiceTaxLine.objects.bulk_create(tax_line_rows(split.pk, split_tax))
            InvoiceItem.objects.filter(pk__in=[i.pk for i in moving]).update(invoice=split)
            retotal(invoice, staying)
            refund_to_credit(invoice=invoice, amount=take_back_excess(invoice), actor=actor, reason=reason)
            invoice.save(update_fields=["subtotal", "tax", "total", "credit_applied", "amount_paid", "updated_at"])
            if invoice.balance <= 0:
                settled.append(invoice)
        touched.append(invoice)
        log_activity(
            actor=actor, action="invoice.lines_cancelled", target=invoice,
            message=f"{len(moving)} line(s) of invoice {invoice} cancelled: {reason}",
            data={"items": [i.pk for i in moving], "invoice_status": invoice.status},
        )
        upgrades = {i.service_id for i in moving if i.kind == InvoiceItem.Kind.UPGRADE}
        if upgrades:
            hooks.cancel_pending_changes(invoice_ids=[invoice.pk], service_ids=upgrades, actor=actor,
                                         reason=f"its line on invoice {invoice} was cancelled: {reason}")
    settle_invoices(invoices=settled, actor=actor)
    return touched


def add_funds_limits():
    from django.conf import settings

    return Decimal(settings.BILLING_ADD_FUNDS_MIN), Decimal(settings.BILLING_ADD_FUNDS_MAX)


def add_funds_invoice_create(*, client, amount, actor):
    """An add-funds invoice: paying it adds its amount to the client's credit. Not taxed (tax is charged when
    the credit pays a taxable invoice) and never paid from credit itself."""
    amount = _clean_amount(amount)
    low, high = add_funds_limits()
    if not low <= amount <= high:
        raise ValidationError({"amount": f"Add between {low} and {high} {client.currency}."})
    line = Line(InvoiceItem.Kind.ADD_FUNDS, f"Add funds to account #{client.pk}", amount, taxable=False)
    return invoice_create(client=client, lines=[line], actor=actor, kind=Invoice.Kind.ADD_FUNDS, apply_credit=False)
