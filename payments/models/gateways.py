"""What the online gateways keep: their settings (secrets encrypted), the charges the portal started, the events
they sent, and the clients' saved payment methods (never card numbers: the gateway keeps those)."""
import json

from django.db import models
from django.utils import timezone

from billing.models import MONEY, Invoice, Payment
from portal.encryption import EncryptedTextField
from portal.models import Client


class GatewaySettings(models.Model):
    """One row per installed gateway: whether clients may use it, how it is named to them, and its credentials.
    `secrets` is a JSON object kept encrypted at rest and never rendered back into a form."""

    gateway = models.CharField(max_length=40, unique=True)
    enabled = models.BooleanField(default=False)
    display_name = models.CharField(max_length=80, blank=True, help_text="What clients see on the Pay button.")
    test_mode = models.BooleanField(default=True, help_text="Use the gateway's test keys (no real money).")
    options = models.JSONField(default=dict, blank=True, help_text="Settings that are not secret (e.g. API base).")
    secrets = EncryptedTextField(blank=True, help_text="JSON of the secret credentials, encrypted at rest.")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "gateway settings"
        verbose_name_plural = "gateway settings"

    def __str__(self):
        return self.display_name or self.gateway

    def secret_values(self):
        return json.loads(self.secrets) if self.secrets else {}

    def set_secret_values(self, values):
        self.secrets = json.dumps(values, sort_keys=True) if values else ""


class PaymentMethod(models.Model):
    """A card (or other method) the client saved at a gateway: only the gateway's ids and what identifies it."""

    client = models.ForeignKey(Client, on_delete=models.CASCADE, related_name="payment_methods")
    gateway = models.CharField(max_length=40)
    customer_id = models.CharField(max_length=120)
    method_id = models.CharField(max_length=120)
    brand = models.CharField(max_length=40, blank=True)
    last4 = models.CharField(max_length=4, blank=True)
    exp_month = models.PositiveSmallIntegerField(null=True, blank=True)
    exp_year = models.PositiveSmallIntegerField(null=True, blank=True)
    is_default = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["gateway", "method_id"], name="payment_method_unique")]

    def __str__(self):
        return f"{self.brand or 'card'} •••• {self.last4}"


class ChargeAttempt(models.Model):
    """One attempt to take money for an invoice at a gateway: a hosted checkout the client was sent to, or an
    off-session charge of a saved method. The idempotency key makes a retry of the same attempt one charge."""

    class Kind(models.TextChoices):
        CHECKOUT = "checkout", "Hosted checkout"
        OFF_SESSION = "off_session", "Saved method charge"

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"
        EXPIRED = "expired", "Expired"
        UNAPPLIED = "unapplied", "Received, not applied (amount or currency mismatch)"

    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="charge_attempts")
    gateway = models.CharField(max_length=40)
    kind = models.CharField(max_length=12, choices=Kind.choices, default=Kind.CHECKOUT)
    idempotency_key = models.CharField(max_length=120, unique=True)
    reference = models.CharField(max_length=120, blank=True, db_index=True,
                                 help_text="The gateway's id (Checkout Session, PaymentIntent).")
    amount = models.DecimalField(**MONEY)
    currency = models.CharField(max_length=3)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    reason = models.CharField(max_length=255, blank=True, help_text="The gateway's reason for a failure.")
    received_amount = models.DecimalField(**MONEY, null=True, blank=True)
    received_currency = models.CharField(max_length=3, blank=True)
    received_transaction_id = models.CharField(max_length=120, blank=True,
                                               help_text="The gateway's id of money received (PaymentIntent).")
    payment = models.ForeignKey(Payment, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    save_method = models.BooleanField(default=False, help_text="The client asked to save the card for automatic payments.")
    method = models.ForeignKey(PaymentMethod, null=True, blank=True, on_delete=models.SET_NULL, related_name="attempts")
    next_retry_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["status", "gateway"])]

    def __str__(self):
        return f"{self.get_kind_display()} {self.reference or self.idempotency_key} ({self.get_status_display()})"


class GatewayEvent(models.Model):
    """A notification a gateway sent (webhook). Unique per gateway and event id: each is processed once."""

    class Outcome(models.TextChoices):
        PENDING = "pending", "Not processed yet"
        PAID = "paid", "Payment recorded"
        ALREADY = "already", "Payment already recorded"
        MISMATCH = "mismatch", "Amount or currency mismatch: left for staff"
        FAILED_CHARGE = "failed_charge", "Charge failed"
        IGNORED = "ignored", "Not a payment event for the portal"
        ERROR = "error", "Processing error (the gateway retries)"

    gateway = models.CharField(max_length=40)
    event_id = models.CharField(max_length=120)
    type = models.CharField(max_length=80)
    received_at = models.DateTimeField(default=timezone.now)
    processed_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(max_length=15, choices=Outcome.choices, default=Outcome.PENDING)
    message = models.CharField(max_length=255, blank=True)
    payload = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-received_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["gateway", "event_id"], name="gateway_event_unique")]

    def __str__(self):
        return f"{self.gateway} {self.type} {self.event_id}"
