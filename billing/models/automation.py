"""The automation settings and the per-product or per-group rules that overwrite their days."""
from datetime import time

from django.core.exceptions import ValidationError
from django.db import models

from billing.models.catalogue import Product, ProductGroup
from portal.models import SingletonSettings


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
