"""The catalogue: product groups, products and their prices, configurable options and their choices and
prices, and the billing cycles they are sold in."""
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.utils import timezone

from billing.models.fields import MONEY, ZERO
from portal.models import currency_code


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
    default_cycle = models.CharField(
        max_length=12, choices=BillingCycle.choices, blank=True,
        help_text="The billing cycle the order form shows first. Blank: the shortest priced cycle.",
    )
    hidden = models.BooleanField(default=False)
    retired = models.BooleanField(default=False, help_text="Retired products keep their services but take no orders.")
    sort_order = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["group__sort_order", "sort_order", "name"]
        # No unique name per group: WHMCS allows two products of the same name in a group (a retired plan and its
        # successor, a test copy), and integrations that create products through its API rely on that.

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
