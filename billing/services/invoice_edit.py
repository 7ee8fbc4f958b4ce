"""Editing an issued invoice (WHMCS's UpdateInvoice, the staff invoice page).

Only an unpaid invoice's lines and dates change: a paid, cancelled or refunded invoice is a record of money and
stays as it is (its notes may still be edited). Totals and the tax breakdown are recalculated by the tax engine
(billing.tax.documents.retotal) at the invoice's own rates and mode (those it was issued with, not today's). When the new total is less than what the invoice has received, the
difference goes to the client's credit; when nothing is left to pay, the invoice is settled (paid) as by a
payment. Lines that bill a service period or a billable item (they carry a period key) can be re-described and
re-priced but not removed: removing one would leave that period unbilled for good; cancel the service instead.
"""
from dataclasses import dataclass
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction

from billing.models import CreditLedgerEntry, Invoice, InvoiceItem
from billing.services.invoices import Line, take_back_excess
from billing.services.ledger import ledger_post, lock_client
from billing.services.payments import settle_invoices
from billing.tax.documents import retotal
from portal.activity import log_activity
from portal.money import quantize

EDITABLE = (Invoice.Status.UNPAID, Invoice.Status.DRAFT)
_UNSET = object()


@dataclass
class LineChange:
    """New values for one existing line; None leaves a value as it is."""

    description: str | None = None
    amount: Decimal | None = None
    taxable: bool | None = None


def _clean_amount(amount, where):
    if amount != quantize(amount):
        raise ValidationError(f"{where}: use at most two decimal places.")
    return amount


@transaction.atomic
def invoice_update(*, invoice, actor, line_changes=None, new_lines=(), delete_ids=(), date=None, due_date=None,
                   notes=_UNSET):
    """Apply the changes given (see the module's rules) and return the invoice. Nothing is saved on an error."""
    line_changes, new_lines, delete_ids = dict(line_changes or {}), list(new_lines), set(delete_ids)
    lock_client(invoice.client_id)
    invoice = Invoice.objects.select_for_update().select_related("client").get(pk=invoice.pk)
    edits_money = bool(line_changes or new_lines or delete_ids or date or due_date)
    if edits_money and invoice.status not in EDITABLE:
        raise ValidationError(
            f"Invoice {invoice} is {invoice.get_status_display().lower()}: only an unpaid invoice's lines and dates "
            "can be changed."
        )
    if edits_money and invoice.kind == Invoice.Kind.ADD_FUNDS:
        raise ValidationError("An add-funds invoice cannot be edited: cancel it and create another.")
    items = {item.pk: item for item in invoice.items.all()}
    unknown = sorted((set(line_changes) | delete_ids) - set(items))
    if unknown:
        raise ValidationError(f"Line(s) {', '.join(map(str, unknown))} are not on invoice {invoice}.")
    kept_keys = [pk for pk in sorted(delete_ids) if items[pk].period_key]
    if kept_keys:
        raise ValidationError(
            f"Line {kept_keys[0]} bills a service period or a billable item and cannot be removed "
            "(change its amount, or cancel the service)."
        )
    diff = {}
    changed_items = []
    for pk, change in sorted(line_changes.items()):
        if pk in delete_ids:
            continue
        item, before = items[pk], (items[pk].description, items[pk].amount, items[pk].taxable)
        if change.description is not None:
            if not change.description.strip():
                raise ValidationError(f"Line {pk}: the description cannot be empty.")
            item.description = change.description.strip()[:500]
        if change.amount is not None:
            item.amount = _clean_amount(change.amount, f"Line {pk}")
        if change.taxable is not None:
            item.taxable = change.taxable
        after = (item.description, item.amount, item.taxable)
        if after != before:
            changed_items.append(item)
            diff[f"line {pk}"] = [[before[0], str(before[1]), before[2]], [after[0], str(after[1]), after[2]]]
    for position, line in enumerate(new_lines, start=1):
        if not line.description.strip():
            raise ValidationError(f"New line {position}: the description cannot be empty.")
        _clean_amount(line.amount, f"New line {position}")
    staying = [item for pk, item in items.items() if pk not in delete_ids]
    if edits_money and not staying and not new_lines:
        raise ValidationError("An invoice needs at least one line: cancel the invoice instead.")
    new_date, new_due = date or invoice.date, due_date or invoice.due_date
    if new_due < new_date:
        raise ValidationError("The due date cannot be before the invoice date.")
    for name, value in (("date", new_date), ("due_date", new_due)):
        if getattr(invoice, name) != value:
            diff[name] = [str(getattr(invoice, name)), str(value)]
            setattr(invoice, name, value)
    if notes is not _UNSET and notes != invoice.notes:
        diff["notes"] = [invoice.notes, notes]
        invoice.notes = notes
    if delete_ids:
        diff["deleted lines"] = [[pk, items[pk].description, str(items[pk].amount)] for pk in sorted(delete_ids)]
    if new_lines:
        diff["new lines"] = [[line.description, str(line.amount), line.taxable] for line in new_lines]
    if not diff:
        return invoice
    InvoiceItem.objects.filter(pk__in=delete_ids).delete()
    InvoiceItem.objects.bulk_update(changed_items, ["description", "amount", "taxable"])
    last = max((item.sort_order for item in staying), default=-1)
    added = InvoiceItem.objects.bulk_create([
        InvoiceItem(invoice=invoice, kind=line.kind, description=line.description.strip()[:500], amount=line.amount,
                    taxable=line.taxable, sort_order=last + position)
        for position, line in enumerate(new_lines, start=1)
    ])
    before_total = invoice.total
    retotal(invoice, [*staying, *added])
    returned = _return_excess(invoice, actor)
    invoice.save(update_fields=["date", "due_date", "notes", "subtotal", "tax", "total", "credit_applied",
                                "amount_paid", "updated_at"])
    if invoice.total != before_total:
        diff["total"] = [str(before_total), str(invoice.total)]
    log_activity(
        actor=actor, action="invoice.update", target=invoice,
        message=f"Invoice {invoice} edited: {', '.join(sorted(diff))}"
        + (f"; {returned} returned to credit" if returned else ""),
        data={"changes": diff, "returned_to_credit": str(returned)},
    )
    if invoice.status == Invoice.Status.UNPAID and invoice.balance <= 0:
        settle_invoices(invoices=[invoice], actor=actor)
    return invoice


def _return_excess(invoice, actor):
    """Money received beyond the new total goes back to credit: credit applied first, then payments."""
    excess = take_back_excess(invoice)
    if excess <= 0:
        return excess
    # No idempotency key: each edit is its own event (two edits may well reach the same total).
    ledger_post(
        client=invoice.client, kind=CreditLedgerEntry.Kind.REFUND, amount=excess, invoice=invoice, actor=actor,
        description=f"Returned from invoice {invoice.number or invoice.pk}: edited to {invoice.total}",
    )
    return excess


def new_line(description, amount, taxable=True):
    return Line(InvoiceItem.Kind.ITEM, description, amount, taxable=taxable)
