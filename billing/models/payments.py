"""Payments and refunds, and the credit ledger: money in and out, and a client's credit."""
from django.conf import settings
from django.db import models
from django.utils import timezone

from billing.models.fields import MONEY, ZERO
from billing.models.invoices import Invoice
from billing.models.services import Service
from portal.models import Client, currency_code


class Payment(models.Model):
    invoice = models.ForeignKey(Invoice, null=True, blank=True, on_delete=models.PROTECT, related_name="payments")
    client = models.ForeignKey(Client, on_delete=models.PROTECT, related_name="payments")
    amount = models.DecimalField(**MONEY, help_text="Money in.")
    amount_out = models.DecimalField(
        **MONEY, default=ZERO, help_text="Money out (a refund): a transaction has money in or money out, never both."
    )
    refund_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="refunds",
        help_text="For a refund: the payment it returns money from.",
    )
    fees = models.DecimalField(**MONEY, default=ZERO)
    currency = models.CharField(max_length=3, validators=[currency_code], default="USD")
    gateway = models.CharField(max_length=40, default="manual")
    transaction_id = models.CharField(max_length=120)
    received_at = models.DateTimeField(default=timezone.now)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    note = models.CharField(max_length=255, blank=True)

    class Meta:
        ordering = ["-received_at", "-id"]
        # A gateway repeating its notification must not pay twice.
        constraints = [
            models.UniqueConstraint(fields=["gateway", "transaction_id"], name="payment_transaction_unique")
        ]

    def __str__(self):
        return f"{self.amount} {self.currency} ({self.gateway} {self.transaction_id})"


class CreditLedgerEntry(models.Model):
    """One signed movement of a client's credit. The balance is the sum of the entries."""

    class Kind(models.TextChoices):
        TOPUP = "topup", "Top-up"
        OVERPAYMENT = "overpayment", "Overpayment"
        INVOICE_PAYMENT = "invoice_payment", "Invoice paid from credit"
        CDR_CHARGES = "cdr_charges", "Call charges"
        REFUND = "refund", "Refund"
        ADJUSTMENT = "adjustment", "Staff adjustment"
        PRORATION = "proration", "Downgrade credit"

    client = models.ForeignKey(Client, on_delete=models.PROTECT, related_name="credit_entries")
    created_at = models.DateTimeField(default=timezone.now)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    amount = models.DecimalField(max_digits=14, decimal_places=4)
    description = models.CharField(max_length=255)
    invoice = models.ForeignKey(Invoice, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    payment = models.ForeignKey(Payment, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    service = models.ForeignKey(Service, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    # What caused the entry, unique so that retrying the same event (a CDR batch, a payment) writes it once.
    idempotency_key = models.CharField(max_length=120, unique=True, null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["client", "created_at"])]
        verbose_name = "credit ledger entry"
        verbose_name_plural = "credit ledger"

    def __str__(self):
        return f"{self.amount:+} {self.get_kind_display()}"
