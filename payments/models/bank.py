"""Bank transfer: uploaded bank statements and their credit lines (docs/payments.md "Bank transfer").

A StatementLine is one credit on the seller's account. Its bank entry reference is unique: it is also the
transaction id of the payment it records (gateway `bank_transfer`), so the same statement uploaded twice records
nothing new — the second upload lists its lines as duplicates of the first (BankStatement.duplicates)."""
from django.conf import settings
from django.db import models
from django.utils import timezone

from billing.models import Invoice, Payment

MONEY = {"max_digits": 12, "decimal_places": 2}
BANK_TRANSFER = "bank_transfer"


class BankStatement(models.Model):
    class Format(models.TextChoices):
        CAMT053 = "camt053", "ISO 20022 camt.053 (XML)"
        CSV = "csv", "CSV with a column mapping"

    format = models.CharField(max_length=10, choices=Format.choices)
    filename = models.CharField(max_length=255, blank=True)
    statement_id = models.CharField(max_length=140, blank=True, help_text="The bank's statement id (camt.053 Stmt/Id).")
    account = models.CharField(max_length=60, blank=True, help_text="The account the statement is of (IBAN).")
    uploaded_at = models.DateTimeField(default=timezone.now)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    line_count = models.PositiveIntegerField(default=0, help_text="Credit lines kept (new ones).")
    paid_count = models.PositiveIntegerField(default=0)
    unmatched_count = models.PositiveIntegerField(default=0)
    duplicate_count = models.PositiveIntegerField(default=0)
    skipped_count = models.PositiveIntegerField(default=0, help_text="Debits, reversals and pending entries: not payments.")
    errors = models.JSONField(default=list, blank=True, help_text="Lines that could not be read, each naming its place.")
    mapping = models.JSONField(
        default=dict, blank=True, help_text="The CSV column mapping used (offered again for the next CSV upload)."
    )
    duplicates = models.JSONField(
        default=list, blank=True, help_text="Lines already imported from an earlier statement: nothing recorded again."
    )

    class Meta:
        ordering = ["-uploaded_at", "-id"]

    def __str__(self):
        return f"Statement {self.statement_id or self.filename or self.pk} ({self.uploaded_at:%Y-%m-%d})"


class StatementLine(models.Model):
    class State(models.TextChoices):
        MATCHED = "matched", "Matched: payment being recorded"
        PAID = "paid", "Matched and recorded"
        ASSIGNED = "assigned", "Assigned by staff and recorded"
        UNMATCHED = "unmatched", "Unmatched: waiting for staff"
        CREDITED = "credited", "Added to a client's credit by staff"
        IGNORED = "ignored", "Ignored by staff (not a client payment)"

    class MatchedBy(models.TextChoices):
        REFERENCE = "reference", "Payment reference"
        AMOUNT_NAME = "amount_name", "Amount and payer name"
        STAFF = "staff", "Staff"

    statement = models.ForeignKey(BankStatement, on_delete=models.PROTECT, related_name="lines")
    position = models.PositiveIntegerField(help_text="The line's place in its file (entry number or CSV line).")
    entry_reference = models.CharField(
        max_length=120, unique=True, help_text="The bank's reference of the entry; the payment's transaction id."
    )
    booking_date = models.DateField(null=True, blank=True)
    amount = models.DecimalField(**MONEY)
    currency = models.CharField(max_length=3)
    reference = models.CharField(max_length=40, blank=True, help_text="The RF reference found on the line, if any.")
    reference_text = models.TextField(blank=True, help_text="What the payer wrote (structured and free text).")
    payer_name = models.CharField(max_length=200, blank=True)
    state = models.CharField(max_length=10, choices=State.choices, default=State.UNMATCHED, db_index=True)
    reason = models.CharField(max_length=255, blank=True, help_text="Why the line is unmatched or ignored.")
    matched_by = models.CharField(max_length=12, choices=MatchedBy.choices, blank=True)
    invoice = models.ForeignKey(Invoice, null=True, blank=True, on_delete=models.PROTECT, related_name="statement_lines")
    payment = models.ForeignKey(Payment, null=True, blank=True, on_delete=models.PROTECT, related_name="statement_lines")
    resolved_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["statement_id", "position"]
        indexes = [models.Index(fields=["state", "statement"])]

    def __str__(self):
        return f"{self.amount} {self.currency} on {self.booking_date} ({self.entry_reference})"
