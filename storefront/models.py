"""The storefront's settings: one row edited by staff (Admin → Storefront → Storefront settings)."""
from django.core.validators import MinValueValidator
from django.db import models

from billing.models import MONEY
from portal.models import SingletonSettings


class StorefrontSettings(SingletonSettings):
    singleton = models.BooleanField(default=True, unique=True, editable=False)
    require_email_verification = models.BooleanField(
        default=True, help_text="Orders of a client who signed up in the storefront wait (accepted as pending, not "
        "created on payment) until the client confirms the e-mail address from the link sent to it.",
    )
    terms_version = models.CharField(
        max_length=40, default="1", help_text="The version of the terms a new client accepts; recorded with the time.",
    )
    terms_url = models.URLField(blank=True, help_text="Where the terms are published; linked from the sign-up form.")
    review_orders_above = models.DecimalField(
        **MONEY, null=True, blank=True, validators=[MinValueValidator(0)],
        help_text="Orders whose total (in the order's currency) is above this wait for staff review. Blank: none.",
    )
    review_new_client_orders = models.BooleanField(
        default=False, help_text="The first order of a client who signs up in the storefront waits for staff review.",
    )
    signups_per_hour = models.PositiveIntegerField(
        default=5, validators=[MinValueValidator(1)], help_text="Sign-ups allowed per IP address and hour.",
    )
    checkouts_per_hour = models.PositiveIntegerField(
        default=10, validators=[MinValueValidator(1)], help_text="Checkouts allowed per IP address and hour.",
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = verbose_name_plural = "storefront settings"
        constraints = [models.CheckConstraint(condition=models.Q(singleton=True), name="storefront_settings_single_row")]

    def __str__(self):
        return "Storefront settings"
