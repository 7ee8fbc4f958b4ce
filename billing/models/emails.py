"""E-mail templates and the log of e-mails queued and sent."""
from django.db import models
from django.utils import timezone

from billing.models.invoices import Invoice
from billing.models.services import Service
from portal.models import Client, Contact


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
