"""Billable items: charges waiting to be invoiced, once or recurring."""
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.utils import timezone

from billing.models.fields import MONEY
from billing.models.invoices import Invoice
from portal.models import Client


class BillableItem(models.Model):
    """A charge waiting to be invoiced (WHMCS's billable item): once, or recurring every `recur_every`
    `recur_cycle`s for `recur_for` invoices (0: until stopped). The recurring invoice generator
    (billing.services.generation) bills open items with the client's other lines; `invoice` is the last
    invoice that billed it."""

    class InvoiceAction(models.TextChoices):
        NO_INVOICE = "noinvoice", "Don't invoice (staff invoice it by hand)"
        NEXT_CRON = "nextcron", "Invoice on the next automation run"
        NEXT_INVOICE = "nextinvoice", "Add to the client's next invoice"
        DUE_DATE = "duedate", "Invoice as normal for the due date"

    class RecurCycle(models.TextChoices):
        DAYS = "days", "Days"
        WEEKS = "weeks", "Weeks"
        MONTHS = "months", "Months"
        YEARS = "years", "Years"

    client = models.ForeignKey(Client, on_delete=models.PROTECT, related_name="billable_items")
    description = models.CharField(max_length=500)
    amount = models.DecimalField(**MONEY, validators=[MinValueValidator(0)])
    taxable = models.BooleanField(default=True)
    invoice_action = models.CharField(max_length=12, choices=InvoiceAction.choices, default=InvoiceAction.DUE_DATE)
    due_date = models.DateField(default=timezone.localdate)
    recur_every = models.PositiveIntegerField(
        default=0, help_text="Invoice again every this many cycles; 0: a one-off item."
    )
    recur_cycle = models.CharField(max_length=6, choices=RecurCycle.choices, blank=True)
    recur_for = models.PositiveIntegerField(default=0, help_text="How many times in all; 0: until stopped.")
    invoice_count = models.PositiveIntegerField(default=0, editable=False)
    awaiting_invoice = models.BooleanField(
        default=True, db_index=True, editable=False, help_text="Cleared once the item has nothing more to invoice."
    )
    invoice = models.ForeignKey(
        Invoice, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", editable=False,
        help_text="The last invoice that billed this item.",
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-due_date", "-id"]
        indexes = [models.Index(fields=["awaiting_invoice", "invoice_action", "due_date"])]

    def __str__(self):
        return f"{self.description} ({self.amount})"

    @property
    def recurring(self):
        return self.recur_every > 0

    def clean(self):
        if self.recur_every and not self.recur_cycle:
            raise ValidationError({"recur_cycle": "Say in which unit the item recurs (days, weeks, months or years)."})
        if not self.recur_every and self.recur_for:
            raise ValidationError({"recur_for": "Only a recurring item is invoiced more than once."})
