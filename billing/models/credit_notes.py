"""Credit notes: what undoes (part of) an issued invoice once it is paid. A paid invoice is never edited; a refund
or a cancellation after payment issues a credit note with its own gap-free number, referencing the invoice, whose
lines and tax breakdown are the invoice's in negative (docs/tax.md, *Credit notes*)."""
from django.db import models
from django.utils import timezone

from billing.models.fields import MONEY, ZERO
from billing.models.invoices import Invoice, InvoiceItem
from billing.models.payments import Payment
from billing.models.tax import TaxLine
from portal.models import Client, currency_code


class CreditNote(models.Model):
    class Kind(models.TextChoices):
        REFUND = "refund", "Refund"
        CANCELLATION = "cancellation", "Cancellation of a paid invoice"

    number = models.CharField(max_length=40, unique=True, help_text="From its own locked sequence (CREDIT_NOTE_NUMBER_FORMAT).")
    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="credit_notes")
    client = models.ForeignKey(Client, on_delete=models.PROTECT, related_name="credit_notes")
    kind = models.CharField(max_length=12, choices=Kind.choices)
    payment = models.OneToOneField(
        Payment, null=True, blank=True, on_delete=models.PROTECT, related_name="credit_note",
        help_text="The refund it documents (none for a cancellation).",
    )
    currency = models.CharField(max_length=3, validators=[currency_code])
    date = models.DateField(default=timezone.localdate)
    reason = models.CharField(max_length=255, blank=True)
    subtotal = models.DecimalField(**MONEY, default=ZERO, help_text="Net, negative.")
    tax = models.DecimalField(**MONEY, default=ZERO, help_text="Negative.")
    total = models.DecimalField(**MONEY, default=ZERO, help_text="Gross, negative: subtotal + tax.")
    prices_include_tax = models.BooleanField(default=False)
    tax_note = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-date", "-id"]
        indexes = [models.Index(fields=["date"])]

    def __str__(self):
        return self.number


class CreditNoteItem(models.Model):
    credit_note = models.ForeignKey(CreditNote, on_delete=models.CASCADE, related_name="items")
    invoice_item = models.ForeignKey(InvoiceItem, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    description = models.CharField(max_length=500)
    amount = models.DecimalField(**MONEY, help_text="Negative; as the invoice's lines, net or tax-inclusive.")
    taxable = models.BooleanField(default=True)
    sort_order = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["credit_note", "sort_order", "id"]

    def __str__(self):
        return self.description


class CreditNoteTaxLine(TaxLine):
    credit_note = models.ForeignKey(CreditNote, on_delete=models.CASCADE, related_name="tax_lines")

    class Meta(TaxLine.Meta):
        constraints = [models.UniqueConstraint(fields=["credit_note", "level"], name="credit_note_tax_line_one_per_level")]
