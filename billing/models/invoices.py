"""Invoices and their items, and the gap-free counter that numbers them (tax rules: billing/models/tax.py)."""
from decimal import Decimal

from django.db import models
from django.utils import timezone

from billing.models.fields import MONEY, ZERO
from billing.models.services import Service
from portal.models import Client, country_code, currency_code


class TaxRounding(models.TextChoices):
    INVOICE = "invoice", "Once on the invoice total, per rate"
    LINE = "line", "On each line, then added up"


class TaxTreatment(models.TextChoices):
    STANDARD = "standard", "Taxed at the rules of the client's address"
    EXEMPT = "exempt", "Tax-exempt client"
    REVERSE_CHARGE = "reverse_charge", "EU reverse charge (B2B, valid VAT number)"
    VIES_UNAVAILABLE = "vies_unavailable", "Taxed as B2C: VIES could not confirm the VAT number"


class Invoice(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        UNPAID = "unpaid", "Unpaid"
        PAID = "paid", "Paid"
        CANCELLED = "cancelled", "Cancelled"
        REFUNDED = "refunded", "Refunded"

    class Kind(models.TextChoices):
        STANDARD = "standard", "Standard"
        ADD_FUNDS = "add_funds", "Add funds"

    client = models.ForeignKey(Client, on_delete=models.PROTECT, related_name="invoices")
    number = models.CharField(
        max_length=40, unique=True, null=True, blank=True,
        help_text="The legal number, from a gap-free locked sequence: given when issued, or in proforma numbering "
                  "when paid.",
    )
    proforma_number = models.CharField(
        max_length=40, unique=True, null=True, blank=True,
        help_text="Proforma numbering only: the number an invoice carries while unpaid, kept as a reference.",
    )
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.STANDARD)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.UNPAID)
    currency = models.CharField(max_length=3, validators=[currency_code], default="USD")
    date = models.DateField(default=timezone.localdate)
    due_date = models.DateField()
    paid_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    subtotal = models.DecimalField(**MONEY, default=ZERO)
    tax_rate = models.DecimalField(
        max_digits=6, decimal_places=3, default=Decimal("0.000"), help_text="The level 1 rate (the breakdown: tax lines)."
    )
    tax_rate2 = models.DecimalField(max_digits=6, decimal_places=3, default=Decimal("0.000"), help_text="The level 2 rate.")
    tax = models.DecimalField(**MONEY, default=ZERO, help_text="All levels' tax: subtotal (net) + tax = total (gross).")
    total = models.DecimalField(**MONEY, default=ZERO)
    credit_applied = models.DecimalField(**MONEY, default=ZERO)
    amount_paid = models.DecimalField(**MONEY, default=ZERO)
    prices_include_tax = models.BooleanField(
        default=False, help_text="Its line amounts include tax (the TAX_PRICES_INCLUDE_TAX setting when issued)."
    )
    tax_rounding = models.CharField(max_length=7, choices=TaxRounding.choices, default=TaxRounding.INVOICE)
    tax_treatment = models.CharField(max_length=20, choices=TaxTreatment.choices, default=TaxTreatment.STANDARD)
    tax_note = models.TextField(blank=True, help_text="Printed on the invoice, e.g. the reverse-charge legal note.")
    tax_evidence = models.JSONField(
        default=dict, blank=True, help_text="What the tax was decided on: address country, VAT number, VIES result and time."
    )
    notes = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-date", "-id"]
        indexes = [
            models.Index(fields=["status", "due_date"]), models.Index(fields=["client", "status"]),
            models.Index(fields=["date"], name="invoice_date"),  # the staff list, newest first (Meta.ordering)
        ]

    def __str__(self):
        return self.display_number

    @property
    def display_number(self):
        """The legal number; while a proforma is unpaid, its proforma number."""
        return self.number or self.proforma_number or f"Draft #{self.pk}"

    @property
    def is_proforma(self):
        """Not yet a legal invoice: it has only its proforma number (proforma numbering, unpaid)."""
        return not self.number and bool(self.proforma_number)

    @property
    def balance(self):
        """What is still owed: total less payments and credit applied."""
        return self.total - self.amount_paid - self.credit_applied


class InvoiceItem(models.Model):
    class Kind(models.TextChoices):
        SERVICE = "service", "Service period"
        SETUP = "setup", "Setup fee"
        UPGRADE = "upgrade", "Upgrade/downgrade"
        DISK = "disk", "Disk usage tranche"
        ADD_FUNDS = "add_funds", "Add funds"
        VOIP_USAGE = "voip_usage", "VoIP call usage"
        ITEM = "item", "Billable item"
        DISCOUNT = "discount", "Promotion discount"

    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="items")
    service = models.ForeignKey(Service, null=True, blank=True, on_delete=models.PROTECT, related_name="invoice_items")
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.ITEM)
    description = models.CharField(max_length=500)
    amount = models.DecimalField(**MONEY)
    taxable = models.BooleanField(default=True)
    period_start = models.DateField(null=True, blank=True)
    period_end = models.DateField(null=True, blank=True)
    # "service:<id>:<period start>" for recurring periods: unique, so a period is billed once even when two
    # generators race. NULL for other items (a nullable unique column allows many NULLs on every database).
    period_key = models.CharField(max_length=80, unique=True, null=True, blank=True, editable=False)
    sort_order = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["invoice", "sort_order", "id"]

    def __str__(self):
        return self.description


class NumberSequence(models.Model):
    """A gap-free counter (invoice numbers), advanced under a row lock."""

    name = models.CharField(max_length=40, primary_key=True)
    next_value = models.PositiveBigIntegerField(default=1)

    def __str__(self):
        return f"{self.name}: next {self.next_value}"
