"""Servers, server groups and the log of calls to providers."""
from django.db import models
from django.db.models import Count, Q
from django.utils import timezone

from portal.encryption import EncryptedTextField


class Server(models.Model):
    name = models.CharField(max_length=120, unique=True)
    module = models.CharField(max_length=40, help_text="The provisioning module that talks to this server.")
    hostname = models.CharField(max_length=253)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    port = models.PositiveIntegerField(null=True, blank=True, help_text="Blank: the module's default port.")
    use_tls = models.BooleanField("use TLS", default=True)
    verify_tls = models.BooleanField("verify TLS certificate", default=True)
    username = models.CharField(max_length=120, blank=True)
    password = EncryptedTextField(blank=True)
    api_token = EncryptedTextField("API token", blank=True)
    capacity = models.PositiveIntegerField(default=0, help_text="Most services on this server; 0 = no limit.")
    enabled = models.BooleanField(default=True)
    settings = models.JSONField(default=dict, blank=True, help_text="Module server settings (validated).")
    notes = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # The last usage update of this server (provisioning.usage): when it last succeeded, and its last error.
    usage_updated_at = models.DateTimeField(null=True, blank=True, editable=False)
    usage_error = models.TextField(blank=True, editable=False)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name

    @property
    def base_url(self):
        scheme = "https" if self.use_tls else "http"
        port = f":{self.port}" if self.port else ""
        return f"{scheme}://{self.hostname}{port}"


class ServerGroup(models.Model):
    name = models.CharField(max_length=120, unique=True)
    servers = models.ManyToManyField(Server, related_name="groups", blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name

    def least_full_server(self):
        """The enabled server with the fewest live services that still has room, or None."""
        live = Q(services__status__in=["pending", "active", "suspended"])
        candidates = (
            self.servers.filter(enabled=True)
            .annotate(load=Count("services", filter=live))
            .filter(Q(capacity=0) | Q(load__lt=models.F("capacity")))
            .order_by("load", "id")
        )
        return candidates.first()


class ModuleCall(models.Model):
    """One call to a provider: what was asked (secrets redacted), what came back, how long it took."""

    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    service = models.ForeignKey(
        "billing.Service", null=True, blank=True, on_delete=models.SET_NULL, related_name="module_calls"
    )
    server = models.ForeignKey(Server, null=True, blank=True, on_delete=models.SET_NULL, related_name="module_calls")
    module = models.CharField(max_length=40)
    action = models.CharField(max_length=40)
    request = models.JSONField(default=dict, blank=True)
    response_summary = models.TextField(blank=True)
    success = models.BooleanField()
    error = models.TextField(blank=True)
    permanent_error = models.BooleanField(default=False)
    duration_ms = models.PositiveIntegerField(default=0)
    # A failed lifecycle action stays in the retry queue until a later attempt succeeds or staff dismiss it.
    awaiting_retry = models.BooleanField(default=False, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["service", "-created_at"])]
        # Staff permissions per provisioning action, beyond billing's change_service (which covers create,
        # suspend, unsuspend and change password).
        permissions = [
            ("terminate_service", "Can terminate services (provider data may be deleted)"),
            ("change_package_service", "Can apply a service's product and options on the provider (change package)"),
            ("control_panel_login", "Can log in to a service's control panel (single sign-on)"),
            ("retry_modulecall", "Can retry or dismiss failed provider calls"),
            ("test_server_connection", "Can test the connection to a server"),
        ]

    def __str__(self):
        return f"{self.module}.{self.action} {'ok' if self.success else 'failed'}"


class UsageSample(models.Model):
    """One reading of a service's disk usage per business day, for the usage charts. The latest reading is
    also on the Service (disk_usage_mb), which is what billing reads."""

    service = models.ForeignKey("billing.Service", on_delete=models.CASCADE, related_name="usage_samples")
    date = models.DateField(help_text="Business day of the reading.")
    disk_mb = models.DecimalField(max_digits=14, decimal_places=2)
    disk_limit_mb = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    taken_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["service", "date"]
        constraints = [models.UniqueConstraint(fields=["service", "date"], name="one_usage_sample_per_service_day")]

    def __str__(self):
        return f"{self.service_id} {self.date}: {self.disk_mb} MB"


class RetryQueueEntry(ModuleCall):
    """The failed lifecycle calls waiting for a retry (ModuleCall.awaiting_retry), as their own admin page."""

    class Meta:
        proxy = True
        verbose_name = "retry queue entry"
        verbose_name_plural = "retry queue"


# The mail client area's records live with its code (provisioning/mail/); imported here so Django finds them.
from provisioning.mail.models import MailboxRecord  # noqa: E402, F401
