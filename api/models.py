"""API credentials. The secret is shown once when the key is made and only its SHA-256 is stored."""
import hashlib
import hmac
import secrets

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone

from api.scopes import ALL, EXPLICIT_SCOPES, owner_may
from portal.network import address_allowed, parse_networks


def hash_secret(secret):
    """SHA-256 of the secret. The secret is 256 random bits, so a slow password hash would add nothing but
    latency to every call (docs/api.md, "Secrets")."""
    return hashlib.sha256(secret.encode()).hexdigest()


class ApiKey(models.Model):
    """A staff API credential: `identifier` + secret (WHMCS API credentials), or `identifier.secret` as a
    bearer token for the REST API."""

    name = models.CharField(max_length=100, unique=True, help_text="Shown in the activity log as \"api:\" and the name.")
    identifier = models.CharField(max_length=64, unique=True, editable=False)
    secret_hash = models.CharField(max_length=64, editable=False)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_keys",
        limit_choices_to={"is_staff": True},
        help_text="A staff member; the key never does more than the owner's permissions allow.",
    )
    permissions = models.JSONField(
        default=list, blank=True,
        help_text='Scopes such as "clients.read", "*" for everything the owner may do, or WHMCS API roles '
                  'per action as "whmcs:addclient".',
    )
    allowed_ips = models.TextField(
        "allowed IP addresses", blank=True, help_text="CIDRs or addresses, one per line. Blank allows any address."
    )
    enabled = models.BooleanField(default=True)
    rate_limit = models.PositiveIntegerField(
        null=True, blank=True, help_text="Calls per minute; blank uses the API_RATE_LIMIT setting."
    )
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_used_ip = models.GenericIPAddressField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["name"]
        verbose_name = "API key"

    def __str__(self):
        return self.name

    def clean(self):
        try:
            parse_networks(self.allowed_ips)
        except ValueError as exc:
            raise ValidationError({"allowed_ips": f"Not an IP address or CIDR: {exc}"}) from None
        if self.owner_id and not self.owner.is_staff:
            raise ValidationError({"owner": "API keys belong to staff members."})

    def set_new_secret(self):
        """Give the key a new identifier and secret; returns the secret (shown once, never stored)."""
        if not self.identifier:
            self.identifier = secrets.token_hex(16)
        secret = secrets.token_urlsafe(32)
        self.secret_hash = hash_secret(secret)
        return secret

    def check_secret(self, secret):
        return hmac.compare_digest(self.secret_hash, hash_secret(secret or ""))

    def ip_allowed(self, ip):
        return address_allowed(ip, self.allowed_ips)

    def allows(self, scope, action=None):
        granted = set(self.permissions or [])
        if scope in EXPLICIT_SCOPES and scope not in granted:
            return False
        if not (ALL in granted or scope in granted or (action and f"whmcs:{action.lower()}" in granted)):
            return False
        return owner_may(self.owner, scope)


class ClientSsoToken(models.Model):
    """A one-time passwordless login into the client area for one ClientUser (WHMCS's CreateSsoToken with
    client_id), issued through the API and redeemed at /sso/<token>/ (api.client_sso). Only the token's SHA-256
    is stored; it lasts 60 seconds and is used at most once. Kept as the audit record of who issued it (key,
    address) and when and from where it was used."""

    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    client = models.ForeignKey("portal.Client", on_delete=models.CASCADE, related_name="sso_tokens")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="client_sso_tokens")
    destination = models.CharField(max_length=500, help_text="Client-area path the login lands on.")
    issued_by_key = models.ForeignKey(ApiKey, null=True, blank=True, on_delete=models.SET_NULL,
                                      related_name="client_sso_tokens")
    issued_by = models.CharField(max_length=150, help_text="The API credential, as in the activity log.")
    issued_ip = models.GenericIPAddressField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    used_ip = models.GenericIPAddressField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "client login token"
        permissions = [("issue_client_sso", "Can issue one-time passwordless client-area logins (API)")]

    def __str__(self):
        return f"Login link for {self.user} ({self.client})"
