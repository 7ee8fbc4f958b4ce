"""Services (one ordered product for one domain), their chosen option values, and their upgrades/downgrades."""
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone

from billing.models.catalogue import BillingCycle, ConfigurableOption, ConfigurableOptionChoice, Product
from billing.models.fields import MONEY, ZERO
from portal.encryption import EncryptedTextField
from portal.models import Client, currency_code


class Service(models.Model):
    """One ordered product for one domain. Its status changes only through provisioning.lifecycle."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        ACTIVE = "active", "Active"
        SUSPENDED = "suspended", "Suspended"
        TERMINATED = "terminated", "Terminated"
        CANCELLED = "cancelled", "Cancelled"

    # Not yet ended: may still be provisioned, billed, cancelled or closed.
    LIVE_STATUSES = (Status.PENDING, Status.ACTIVE, Status.SUSPENDED)

    class SuspendReason(models.TextChoices):
        OVERDUE = "overdue", "Overdue on payment"
        VOIP_CREDIT = "voip_credit", "No VoIP credit"
        MANUAL = "manual", "Suspended by staff"

    class CancellationType(models.TextChoices):
        IMMEDIATE = "immediate", "Immediate"
        END_OF_PERIOD = "end_of_period", "End of billing period"

    client = models.ForeignKey(Client, on_delete=models.PROTECT, related_name="services")
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="services")
    domain = models.CharField(max_length=253, db_index=True)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.PENDING)
    billing_cycle = models.CharField(max_length=12, choices=BillingCycle.choices, default=BillingCycle.MONTHLY)
    currency = models.CharField(max_length=3, validators=[currency_code], default="USD")
    first_payment_amount = models.DecimalField(**MONEY, default=ZERO)
    recurring_amount = models.DecimalField(**MONEY, default=ZERO)
    registration_date = models.DateField(default=timezone.localdate)
    next_due_date = models.DateField(null=True, blank=True)
    next_invoice_date = models.DateField(null=True, blank=True)
    suspend_reason = models.CharField(max_length=12, choices=SuspendReason.choices, blank=True)
    suspend_reason_text = models.CharField(max_length=255, blank=True)
    suspend_mode = models.CharField(
        max_length=20, blank=True, help_text="How it was suspended (e.g. FusionPBX gateway/extension), to undo exactly that."
    )
    suspended_at = models.DateTimeField(null=True, blank=True)
    terminated_at = models.DateTimeField(null=True, blank=True)
    server = models.ForeignKey(
        "provisioning.Server", null=True, blank=True, on_delete=models.PROTECT, related_name="services"
    )
    username = models.CharField(max_length=120, blank=True)
    password = EncryptedTextField(blank=True)
    module_data = models.JSONField(default=dict, blank=True, help_text="Tenant, DIDs, extensions, peer id, ...")
    disk_usage_mb = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    disk_limit_mb = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    usage_updated_at = models.DateTimeField(null=True, blank=True)
    cancellation_requested_at = models.DateTimeField(null=True, blank=True)
    cancellation_type = models.CharField(max_length=14, choices=CancellationType.choices, blank=True)
    cancellation_reason = models.TextField(blank=True)
    notes = models.TextField(blank=True)
    order = models.ForeignKey(
        "billing.Order", null=True, blank=True, on_delete=models.SET_NULL, related_name="services",
        help_text="The order that made it; an order on hold keeps it from being created on payment.",
    )
    promotion = models.ForeignKey(
        "billing.Promotion", null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        help_text="A recurring promotion keeps discounting its renewals (the recurring amount is already discounted).",
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-id"]
        indexes = [
            # The automation engine's selections: status plus a date, over hundreds of thousands of rows.
            models.Index(fields=["status", "next_due_date"]),
            models.Index(fields=["status", "next_invoice_date"]),
            models.Index(fields=["client", "status"]),
            models.Index(fields=["product", "status"]),
            models.Index(fields=["server", "status"]),
        ]

    def __str__(self):
        return f"{self.product} – {self.domain}"

    @property
    def pending_change(self):
        """The upgrade/downgrade that waits for its invoice to be paid (billing.services.changes), or None."""
        return (self.changes.filter(status=ServiceChange.Status.PENDING)
                .select_related("invoice", "new_product").order_by("pk").first())


class ServiceConfigOption(models.Model):
    """A service's chosen value for one configurable option."""

    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="config_options")
    option = models.ForeignKey(ConfigurableOption, on_delete=models.PROTECT, related_name="+")
    choice = models.ForeignKey(ConfigurableOptionChoice, on_delete=models.PROTECT, related_name="+")
    quantity = models.PositiveIntegerField(default=1)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["service", "option"], name="one_value_per_service_option")]

    def clean(self):
        if self.choice_id and self.option_id and self.choice.option_id != self.option_id:
            raise ValidationError({"choice": "This choice belongs to another option."})


class ServiceChange(models.Model):
    """One upgrade/downgrade of a service (billing.services.changes): what it changes from and to, and what it
    costs. Pending until its invoice is paid (unless the product applies changes at once), then applied;
    cancelled with its invoice. At most one is pending per service (the service row lock keeps it so)."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending payment"
        APPLIED = "applied", "Applied"
        CANCELLED = "cancelled", "Cancelled"

    service = models.ForeignKey(Service, on_delete=models.PROTECT, related_name="changes")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING, db_index=True)
    old_product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="+")
    new_product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="+")
    old_options = models.JSONField(default=dict, blank=True, help_text="Option values before: code → value.")
    new_options = models.JSONField(default=dict, blank=True, help_text="Option values after: code → value.")
    new_selections = models.JSONField(
        default=list, blank=True, help_text="The priced option rows to store on applying: option, choice, quantity."
    )
    old_recurring = models.DecimalField(**MONEY)
    new_recurring = models.DecimalField(**MONEY)
    amount = models.DecimalField(**MONEY, help_text="The prorated charge (positive) or credit (negative).")
    description = models.CharField(max_length=500)
    invoice = models.ForeignKey(
        "billing.Invoice", null=True, blank=True, on_delete=models.PROTECT, related_name="service_changes",
        help_text="The invoice of the prorated charge; paying it applies a pending change.",
    )
    created_at = models.DateTimeField(default=timezone.now)
    applied_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["service", "status"])]

    def __str__(self):
        return f"Change of {self.service.domain} ({self.get_status_display().lower()})"
