"""Products and prices, services, invoices, payments, the credit ledger, automation settings and e-mail
templates. Money is Decimal everywhere (DecimalField); amounts are quantized where the billing rules say."""
from datetime import time
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone

from portal.encryption import EncryptedTextField
from portal.models import Client, Contact, SingletonSettings, country_code, currency_code

MONEY = {"max_digits": 12, "decimal_places": 2}
ZERO = Decimal("0.00")


class BillingCycle(models.TextChoices):
    MONTHLY = "monthly", "Monthly"
    QUARTERLY = "quarterly", "Quarterly"
    SEMIANNUALLY = "semiannually", "Semi-annually"
    ANNUALLY = "annually", "Annually"
    ONETIME = "onetime", "One time"


CYCLE_MONTHS = {
    BillingCycle.MONTHLY: 1,
    BillingCycle.QUARTERLY: 3,
    BillingCycle.SEMIANNUALLY: 6,
    BillingCycle.ANNUALLY: 12,
    BillingCycle.ONETIME: None,
}


class ProductGroup(models.Model):
    name = models.CharField(max_length=120, unique=True)
    description = models.TextField(blank=True)
    sort_order = models.PositiveIntegerField(default=0)
    hidden = models.BooleanField(default=False, help_text="Hidden groups are not offered in the client area.")

    class Meta:
        ordering = ["sort_order", "name"]

    def __str__(self):
        return self.name


class Product(models.Model):
    class Type(models.TextChoices):
        MAIL = "mail", "Email hosting"
        VOIP = "voip", "VoIP"
        OTHER = "other", "Other"

    group = models.ForeignKey(ProductGroup, on_delete=models.PROTECT, related_name="products")
    name = models.CharField(max_length=120)
    type = models.CharField(max_length=10, choices=Type.choices, default=Type.OTHER, db_index=True)
    description = models.TextField(blank=True)
    module = models.CharField(
        "provisioning module", max_length=40, blank=True, help_text="Blank: no module; state changes only."
    )
    server_group = models.ForeignKey(
        "provisioning.ServerGroup", null=True, blank=True, on_delete=models.PROTECT, related_name="products"
    )
    module_options = models.JSONField(
        default=dict, blank=True, help_text="The module's product options, validated against its option schema."
    )
    auto_accept_on_payment = models.BooleanField(
        default=True, help_text="Accept the order and run Create as soon as its first invoice is paid."
    )
    changes_take_effect_at_once = models.BooleanField(
        "upgrades take effect at once", default=False,
        help_text="Off (the default, as WHMCS): an upgrade/downgrade of this product's services takes effect when its "
                  "invoice is paid. On: it takes effect as soon as the client confirms, and the invoice is collected "
                  "as usual. A change that costs nothing or is credited always takes effect at once.",
    )
    hidden = models.BooleanField(default=False)
    retired = models.BooleanField(default=False, help_text="Retired products keep their services but take no orders.")
    sort_order = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["group__sort_order", "sort_order", "name"]
        constraints = [models.UniqueConstraint(fields=["group", "name"], name="product_name_unique_in_group")]

    def __str__(self):
        return self.name


class ProductPrice(models.Model):
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="prices")
    currency = models.CharField(max_length=3, validators=[currency_code], default="USD")
    cycle = models.CharField(max_length=12, choices=BillingCycle.choices)
    price = models.DecimalField(**MONEY, validators=[MinValueValidator(0)])
    setup_fee = models.DecimalField(**MONEY, default=ZERO, validators=[MinValueValidator(0)])

    class Meta:
        ordering = ["product", "currency", "cycle"]
        constraints = [
            models.UniqueConstraint(fields=["product", "currency", "cycle"], name="one_price_per_product_cycle")
        ]

    def __str__(self):
        return f"{self.product} {self.get_cycle_display()} {self.price} {self.currency}"


class ConfigurableOption(models.Model):
    """An orderable option of a product, e.g. the number of mailboxes or a mailbox type."""

    class Kind(models.TextChoices):
        QUANTITY = "quantity", "Quantity (price per unit)"
        SELECT = "select", "Choice from a list"

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="config_options")
    code = models.SlugField(max_length=60, help_text="Stable name used by modules and billing, e.g. 'mailboxes'.")
    name = models.CharField(max_length=120)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    min_quantity = models.PositiveIntegerField(default=0)
    max_quantity = models.PositiveIntegerField(null=True, blank=True)
    included_quantity = models.PositiveIntegerField(default=0, help_text="Units included in the base price.")
    sort_order = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["product", "sort_order", "id"]
        constraints = [models.UniqueConstraint(fields=["product", "code"], name="option_code_unique_per_product")]

    def __str__(self):
        return f"{self.product}: {self.name}"

    def clean(self):
        if self.max_quantity is not None and self.max_quantity < self.min_quantity:
            raise ValidationError({"max_quantity": "The maximum must be at least the minimum."})


class ConfigurableOptionChoice(models.Model):
    """One choice of a select option (e.g. 'Enhanced'); a quantity option has one choice: its unit."""

    option = models.ForeignKey(ConfigurableOption, on_delete=models.CASCADE, related_name="choices")
    code = models.SlugField(max_length=60)
    label = models.CharField(max_length=120)
    sort_order = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["option", "sort_order", "id"]
        constraints = [models.UniqueConstraint(fields=["option", "code"], name="choice_code_unique_per_option")]

    def __str__(self):
        return self.label


class ConfigurableOptionPrice(models.Model):
    choice = models.ForeignKey(ConfigurableOptionChoice, on_delete=models.CASCADE, related_name="prices")
    currency = models.CharField(max_length=3, validators=[currency_code], default="USD")
    cycle = models.CharField(max_length=12, choices=BillingCycle.choices)
    price = models.DecimalField(**MONEY, validators=[MinValueValidator(0)])
    setup_fee = models.DecimalField(**MONEY, default=ZERO, validators=[MinValueValidator(0)])

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["choice", "currency", "cycle"], name="one_price_per_choice_cycle")
        ]


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
        "Invoice", null=True, blank=True, on_delete=models.PROTECT, related_name="service_changes",
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
        max_length=40, unique=True, null=True, blank=True, help_text="Given from a locked sequence when issued."
    )
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.STANDARD)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.UNPAID)
    currency = models.CharField(max_length=3, validators=[currency_code], default="USD")
    date = models.DateField(default=timezone.localdate)
    due_date = models.DateField()
    paid_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    subtotal = models.DecimalField(**MONEY, default=ZERO)
    tax_rate = models.DecimalField(max_digits=6, decimal_places=3, default=Decimal("0.000"))
    tax = models.DecimalField(**MONEY, default=ZERO)
    total = models.DecimalField(**MONEY, default=ZERO)
    credit_applied = models.DecimalField(**MONEY, default=ZERO)
    amount_paid = models.DecimalField(**MONEY, default=ZERO)
    notes = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-date", "-id"]
        indexes = [models.Index(fields=["status", "due_date"]), models.Index(fields=["client", "status"])]

    def __str__(self):
        return self.number or f"Draft #{self.pk}"

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


class AutomationSettings(SingletonSettings):
    """The single row of automation settings (seeds 001 and 004), edited in the staff area."""

    class ClientStatusUpdate(models.TextChoices):
        OFF = "off", "Off"
        PRODUCTS = "products", "Change client status based on active/inactive products"
        PRODUCTS_OR_LOGIN = (
            "products_login",
            "Change client status based on active/inactive products and not logged in for longer than 3 months",
        )

    class OverrideType(models.TextChoices):
        PRODUCT = "product", "Per product"
        GROUP = "group", "Per product group"

    class OverrideCronMode(models.TextChoices):
        EVERY_RUN = "every_run", "Every run"
        DAILY = "daily", "Daily"

    singleton = models.BooleanField(default=True, unique=True, editable=False)
    suspension_enabled = models.BooleanField(default=True)
    suspend_days = models.PositiveIntegerField(default=5, help_text="Days after the next due date.")
    send_suspension_email = models.BooleanField(default=True)
    unsuspend_on_payment = models.BooleanField(default=True)
    send_unsuspension_email = models.BooleanField(default=True)
    termination_enabled = models.BooleanField(default=False)
    terminate_days = models.PositiveIntegerField(default=30, help_text="Days after the next due date.")
    client_status_update = models.CharField(
        max_length=14, choices=ClientStatusUpdate.choices, default=ClientStatusUpdate.PRODUCTS
    )
    override_type = models.CharField(max_length=8, choices=OverrideType.choices, default=OverrideType.PRODUCT)
    override_cron_mode = models.CharField(
        max_length=10, choices=OverrideCronMode.choices, default=OverrideCronMode.DAILY
    )
    override_send_suspension_email = models.BooleanField(default=True)
    daily_run_time = models.TimeField(default=time(9, 0), help_text="In the business time zone.")
    invoice_days_before_due = models.PositiveIntegerField(default=14)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = verbose_name_plural = "automation settings"
        constraints = [models.CheckConstraint(condition=models.Q(singleton=True), name="automation_settings_single_row")]

    def __str__(self):
        return "Automation settings"

    def clean(self):
        if self.termination_enabled and self.suspension_enabled and self.terminate_days <= self.suspend_days:
            raise ValidationError({"terminate_days": "Termination days must be more than suspend days."})


class OverwriteRule(models.Model):
    """Seed 001: per-product or per-group suspension/termination days that replace the global ones."""

    product = models.OneToOneField(
        Product, null=True, blank=True, on_delete=models.CASCADE, related_name="overwrite_rule"
    )
    product_group = models.OneToOneField(
        ProductGroup, null=True, blank=True, on_delete=models.CASCADE, related_name="overwrite_rule"
    )
    overwrite_suspension = models.BooleanField(default=False)
    suspend_days = models.PositiveIntegerField(default=0)
    overwrite_termination = models.BooleanField(default=False)
    terminate_days = models.PositiveIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(product__isnull=False, product_group__isnull=True)
                | models.Q(product__isnull=True, product_group__isnull=False),
                name="overwrite_rule_targets_product_or_group",
            )
        ]

    def __str__(self):
        return f"Overwrite rule for {self.product or self.product_group}"


class EmailTemplate(models.Model):
    """A staff-editable e-mail. Subject and body are Django templates with the WHMCS merge-field names."""

    class Category(models.TextChoices):
        GENERAL = "general", "General"
        INVOICE = "invoice", "Invoice"
        SERVICE = "service", "Product/service"

    name = models.CharField(max_length=120, unique=True)
    category = models.CharField(max_length=10, choices=Category.choices, default=Category.GENERAL)
    subject = models.CharField(max_length=255)
    body = models.TextField()
    disabled = models.BooleanField(default=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["category", "name"]

    def __str__(self):
        return self.name


class TaxRate(models.Model):
    """The tax charged to clients in one country (blank: none). Tax-exempt clients pay none anywhere."""

    country = models.CharField(max_length=2, unique=True, validators=[country_code])
    name = models.CharField(max_length=60, help_text="Shown on invoices, e.g. 'HST' or 'VAT'.")
    rate = models.DecimalField(
        max_digits=6,
        decimal_places=3,
        validators=[MinValueValidator(0), MaxValueValidator(100)],
        help_text="Percent, e.g. 13.000.",
    )

    class Meta:
        ordering = ["country"]

    def __str__(self):
        return f"{self.country}: {self.name} {self.rate}%"


class EmailLog(models.Model):
    """One e-mail event: queued once (its event key is unique), sent at most once, kept as sent."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"
        SKIPPED = "skipped", "Skipped"

    event_key = models.CharField(max_length=160, unique=True, help_text="What caused it, e.g. invoice.created:42.")
    template_name = models.CharField(max_length=120)
    client = models.ForeignKey(Client, on_delete=models.CASCADE, related_name="email_logs")
    invoice = models.ForeignKey(Invoice, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    service = models.ForeignKey(Service, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    contact = models.ForeignKey(
        Contact, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        help_text="Set when the copy goes to one of the client's contacts rather than the client.",
    )
    extra = models.JSONField(default=dict, blank=True, help_text="Further merge fields given by the sender.")
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.QUEUED)
    claim = models.CharField(max_length=32, blank=True, editable=False)
    to = models.CharField(max_length=254, blank=True)
    subject = models.CharField(max_length=255, blank=True)
    body = models.TextField(blank=True)
    error = models.TextField(blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["status", "created_at"])]
        verbose_name = "e-mail log entry"
        verbose_name_plural = "e-mail log"

    def __str__(self):
        return f"{self.template_name} → {self.to or self.client_id} ({self.get_status_display()})"


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
