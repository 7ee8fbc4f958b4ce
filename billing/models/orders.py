"""Orders and promotions. An order groups the services a client ordered at once with their first invoice; it
remembers where it came from (storefront, client area, staff), the promotion it used, and why it waits for
staff (its hold). Promotions live in billing because the invoice line of a discount and the order refer to
them, and billing may not import the storefront above it."""
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.utils import timezone

from billing.models.catalogue import BillingCycle, Product
from billing.models.fields import MONEY, ZERO
from billing.models.invoices import Invoice
from portal.models import Client


class Promotion(models.Model):
    """A promotion code (WHMCS: Promotions/Coupons)."""

    class Kind(models.TextChoices):
        PERCENT = "percent", "Percentage"
        FIXED = "fixed", "Fixed amount"

    code = models.CharField(max_length=40, unique=True, help_text="What the client types; matched case-insensitively.")
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.PERCENT)
    value = models.DecimalField(
        **MONEY, validators=[MinValueValidator(0)],
        help_text="Percent off (e.g. 20 for 20 %), or the amount off per item in the order's currency.",
    )
    recurring = models.BooleanField(
        default=False, help_text="Off: first payment only. On: the recurring price of the service is discounted too.",
    )
    applies_to_setup = models.BooleanField("discounts the setup fee", default=False)
    products = models.ManyToManyField(Product, blank=True, related_name="+", help_text="Blank: every product.")
    cycles = models.JSONField(default=list, blank=True, help_text="Billing cycles it applies to; empty: every cycle.")
    starts_at = models.DateTimeField(null=True, blank=True)
    ends_at = models.DateTimeField(null=True, blank=True)
    max_uses = models.PositiveIntegerField(null=True, blank=True, help_text="Orders in all; blank: unlimited.")
    max_uses_per_client = models.PositiveIntegerField(null=True, blank=True, help_text="Blank: unlimited.")
    new_clients_only = models.BooleanField(default=False, help_text="Only for clients without an earlier order.")
    uses = models.PositiveIntegerField(default=0, editable=False, help_text="Orders that used it.")
    active = models.BooleanField(default=True)
    notes = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["code"]

    def __str__(self):
        return self.code

    def clean(self):
        self.code = (self.code or "").strip().upper()
        if self.kind == self.Kind.PERCENT and self.value is not None and self.value > 100:
            raise ValidationError({"value": "A percentage is at most 100."})
        unknown = set(self.cycles or []) - set(BillingCycle.values)
        if unknown:
            raise ValidationError({"cycles": f"Unknown billing cycle(s): {', '.join(sorted(unknown))}."})
        if self.starts_at and self.ends_at and self.ends_at <= self.starts_at:
            raise ValidationError({"ends_at": "The end must be after the start."})


class Order(models.Model):
    class Source(models.TextChoices):
        STOREFRONT_SIGNUP = "storefront_signup", "Storefront, new sign-up"
        STOREFRONT = "storefront", "Storefront, existing client"
        CLIENT_AREA = "client_area", "Client area"
        STAFF = "staff", "Staff"
        API = "api", "API"

    class Hold(models.TextChoices):
        NONE = "", "None"
        EMAIL_UNVERIFIED = "email_unverified", "E-mail address not verified yet"
        REVIEW_AMOUNT = "review_amount", "Order above the review amount"
        REVIEW_NEW_CLIENT = "review_new_client", "First order of a new client"

    client = models.ForeignKey(Client, on_delete=models.PROTECT, related_name="orders")
    invoice = models.OneToOneField(Invoice, null=True, blank=True, on_delete=models.PROTECT, related_name="order")
    source = models.CharField(max_length=20, choices=Source.choices, default=Source.CLIENT_AREA)
    promotion = models.ForeignKey(Promotion, null=True, blank=True, on_delete=models.PROTECT, related_name="orders")
    discount = models.DecimalField(**MONEY, default=ZERO, help_text="The promotion's discount on the first invoice.")
    hold = models.CharField(
        max_length=20, choices=Hold.choices, blank=True, default=Hold.NONE, db_index=True,
        help_text="Why the order waits: its services are not created on payment until the hold is released.",
    )
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    released_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"Order #{self.pk}"
