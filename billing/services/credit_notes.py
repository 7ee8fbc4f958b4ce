"""Issuing credit notes (docs/tax.md, *Credit notes*). A paid invoice is never edited: a refund of its payments
(staff, gateway, API: transactions.refund_record) or its cancellation after payment (invoices.invoice_cancel)
issues a credit note here, numbered from its own gap-free sequence, with the invoice's lines and tax breakdown in
negative (a share of them for a partial refund). Audited, and e-mailed to the client ('Credit Note Issued')."""
from collections import defaultdict

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db.models import Sum
from django.urls import reverse

from billing import emails
from billing.models import CreditNote, CreditNoteItem, CreditNoteTaxLine, InvoiceItem, InvoiceTaxLine
from billing.numbering import allocate_credit_note_number
from billing.tax.credit import credit_share
from portal.activity import log_activity
from portal.money import ZERO, format_money

CREDIT_NOTE_ISSUED = "Credit Note Issued"


def credited_total(invoice):
    """What credit notes have taken back of the invoice so far (positive)."""
    return -(CreditNote.objects.filter(invoice_id=invoice.pk).aggregate(total=Sum("total"))["total"] or ZERO)


def _left_of(invoice):
    """(items with what is left of each, tax lines with what is left of each): three queries."""
    items = list(InvoiceItem.objects.filter(invoice_id=invoice.pk).order_by("sort_order", "pk"))
    lines = list(InvoiceTaxLine.objects.filter(invoice_id=invoice.pk).order_by("level"))
    taken_items = defaultdict(lambda: ZERO, CreditNoteItem.objects.filter(credit_note__invoice_id=invoice.pk)
                              .values("invoice_item_id").annotate(s=Sum("amount")).values_list("invoice_item_id", "s"))
    taken_lines = {row["level"]: row for row in CreditNoteTaxLine.objects.filter(credit_note__invoice_id=invoice.pk)
                   .values("level").annotate(base=Sum("base"), tax=Sum("tax")).order_by("level")}
    empty = {"base": ZERO, "tax": ZERO}
    return (
        [(item, item.amount + taken_items[item.pk]) for item in items],
        [(line, line.base + taken_lines.get(line.level, empty)["base"], line.tax + taken_lines.get(line.level, empty)["tax"])
         for line in lines],
    )


def credit_note_issue(*, invoice, amount, kind, reason, actor, payment=None, on_date=None):
    """A credit note taking back `amount` (gross, positive) of `invoice`, whose row the caller has locked.
    At most what credit notes have not yet taken back of the invoice; returns the CreditNote."""
    left = invoice.total - credited_total(invoice)
    if amount <= 0 or amount > left:
        raise ValidationError(f"A credit note of invoice {invoice} takes back between 0.01 and {left} {invoice.currency}.")
    items, tax_lines = _left_of(invoice)
    share = credit_share(items=items, tax_lines=tax_lines, gross=amount, left=left, inclusive=invoice.prices_include_tax)
    note = CreditNote.objects.create(
        number=allocate_credit_note_number(on_date=on_date), invoice=invoice, client_id=invoice.client_id, kind=kind,
        payment=payment, currency=invoice.currency, reason=(reason or "")[:255], subtotal=-share.net, tax=-share.tax,
        total=-share.gross, prices_include_tax=invoice.prices_include_tax, tax_note=invoice.tax_note,
        **({"date": on_date} if on_date else {}),
    )
    CreditNoteItem.objects.bulk_create([
        CreditNoteItem(credit_note=note, invoice_item=item, description=item.description, amount=-share_amount,
                       taxable=item.taxable, sort_order=position)
        for position, (item, share_amount) in enumerate(share.items)
    ])
    CreditNoteTaxLine.objects.bulk_create([
        CreditNoteTaxLine(credit_note=note, level=line.level, name=line.name, rate=line.rate, compound=line.compound,
                          country=line.country, region=line.region, base=-base, tax=-tax)
        for line, base, tax in share.tax_lines
    ])
    log_activity(
        actor=actor, action="credit_note.issue", target=note, client=invoice.client,
        message=f"Credit note {note} issued for invoice {invoice}: {note.total} {note.currency} ({note.get_kind_display()})",
        data={"invoice": invoice.pk, "kind": kind, "net": str(note.subtotal), "tax": str(note.tax),
              "total": str(note.total), "payment": getattr(payment, "pk", None), "reason": note.reason},
    )
    emails.queue_email(template_name=CREDIT_NOTE_ISSUED, client=invoice.client,
                       event_key=f"{emails.CREDIT_NOTE_EVENT}{note.pk}", invoice=invoice,
                       extra=credit_note_merge_fields(note))
    return note


def credit_note_merge_fields(note):
    """The e-mail merge fields of a credit note (beside the invoice's and the client's)."""
    money = lambda amount: format_money(amount, note.currency)  # noqa: E731
    return {
        "credit_note_number": note.number, "credit_note_date": note.date.isoformat(), "credit_note_reason": note.reason,
        "credit_note_subtotal": money(note.subtotal), "credit_note_tax": money(note.tax),
        "credit_note_total": money(note.total), "credit_note_kind": note.get_kind_display(),
        "credit_note_link": settings.PORTAL_BASE_URL.rstrip("/") + reverse("clientarea:credit_note", args=[note.pk]),
    }
