"""Clients and their users, the audit log, and the record of periodic work."""
import zoneinfo
from functools import lru_cache

from django.conf import settings
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator, RegexValidator
from django.db import OperationalError, connection, models
from django.utils import timezone

from portal.phones import clean_phone
from portal.vat import vat_number_clean

currency_code = RegexValidator(r"^[A-Z]{3}$", "Use a three-letter ISO 4217 code such as USD.")
country_code = RegexValidator(r"^[A-Z]{2}$", "Use a two-letter ISO 3166 country code such as CA.")


@lru_cache(maxsize=1)
def _time_zone_names():
    return frozenset(zoneinfo.available_timezones())


def time_zone_name(value):
    """An IANA time zone name known to the system's zone database (e.g. America/New_York, Europe/London)."""
    if value not in _time_zone_names():
        raise ValidationError(f"{value!r} is not a known IANA time zone: use a name such as America/New_York.")


class SingletonSettings(models.Model):
    """A settings table of one row (a `singleton` field, unique, always True).

    Reading never writes: load() gives the stored row or, until staff first save the settings, the defaults
    unsaved. Jobs that start together used to create the row with get_or_create, and on InnoDB two such inserts
    deadlock over the unique index (delete-marked rows take gap locks even under READ COMMITTED). Only the staff
    page, one person saving a form, stores the row (load_for_edit)."""

    class Meta:
        abstract = True

    @classmethod
    def load(cls):
        return cls.objects.filter(singleton=True).first() or cls()

    @classmethod
    def load_for_edit(cls):
        return cls.objects.get_or_create(singleton=True)[0]


class VatCheck(models.TextChoices):
    FORMAT = "format", "Format and check digits only (VIES check off)"
    VALID = "valid", "Valid in VIES"
    UNAVAILABLE = "unavailable", "VIES unavailable: not confirmed"
    FOREIGN = "foreign", "Not an EU VAT number (a client outside the EU): kept as given, not checked"


class Client(models.Model):
    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        INACTIVE = "inactive", "Inactive"
        CLOSED = "closed", "Closed"

    class VoipSuspended(models.TextChoices):
        # Seed 002: "None" lets autosuspend decide; "Yes"/"No" override it.
        NONE = "none", "None (automatic)"
        YES = "yes", "Yes"
        NO = "no", "No"

    company_name = models.CharField(max_length=200, blank=True)
    first_name = models.CharField(max_length=100)
    last_name = models.CharField(max_length=100)
    email = models.EmailField(db_index=True)
    phone = models.CharField(max_length=40, blank=True)
    address1 = models.CharField("address", max_length=200, blank=True)
    address2 = models.CharField("address (line 2)", max_length=200, blank=True)
    city = models.CharField(max_length=100, blank=True)
    state = models.CharField("state or region", max_length=100, blank=True)
    postcode = models.CharField(max_length=20, blank=True)
    country = models.CharField(max_length=2, validators=[country_code], default="US")
    currency = models.CharField(max_length=3, validators=[currency_code], default="USD")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE, db_index=True)
    tax_exempt = models.BooleanField(default=False)
    vat_number = models.CharField(
        "VAT number", max_length=20, blank=True,
        help_text="EU VAT identification number with its country prefix (e.g. DE136695976); checked for format and "
        "check digits, and with VIES when that check is on. A valid number of another EU country than the "
        "seller's makes sales reverse charged. A client outside the EU may give another tax id instead: it is kept "
        "as given and not checked.",
    )
    vat_check = models.CharField(
        "VAT number check", max_length=12, choices=VatCheck.choices, blank=True, editable=False,
        help_text="How the VAT number was last checked.",
    )
    vat_checked_at = models.DateTimeField("VAT number checked at", null=True, blank=True, editable=False)
    apply_credit_to_invoices = models.BooleanField(
        default=True, help_text="Pay new invoices from the client's credit balance when it has any."
    )
    credit_balance = models.DecimalField(
        max_digits=14,
        decimal_places=4,
        default=0,
        editable=False,
        help_text="Cache of the sum of the client's credit ledger; the ledger is the truth.",
    )
    low_balance_threshold = models.DecimalField(
        max_digits=12,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(0)],
        help_text="Send the 'Low Balance Alert' when credit is at or below this. Blank disables alerts.",
    )
    low_balance_alert_sent_at = models.DateTimeField(
        null=True, blank=True, editable=False, help_text="Set when an alert goes out; cleared when credit rises again."
    )
    has_voip_service = models.BooleanField("has VoIP service", default=False)
    voip_suspended = models.CharField(
        "VoIP suspended", max_length=4, choices=VoipSuspended.choices, default=VoipSuspended.NONE
    )
    manual_voip_suspend = models.BooleanField("manual VoIP suspend", default=False)
    voip_credit_limit = models.DecimalField(
        "VoIP credit limit", max_digits=12, decimal_places=2, default=0, validators=[MinValueValidator(0)],
        help_text="Postpaid VoIP: services are suspended when credit less unbilled calls and unpaid invoices "
        "falls to minus this amount. Not used by prepaid VoIP products.",
    )
    time_zone = models.CharField(
        max_length=64, blank=True, validators=[time_zone_name], help_text="IANA time zone (e.g. America/New_York) "
        "in which time-of-day call rates (peak/off-peak) are read. Blank: the business time zone.",
    )
    notes = models.TextField(blank=True)
    language = models.CharField(
        max_length=40, blank=True, help_text="The client's language as WHMCS kept it (e.g. 'english'), carried over "
        "by the WHMCS import. Blank: the site's language.",
    )
    signup_source = models.CharField(
        max_length=20, blank=True, help_text="Where the client signed up (e.g. 'storefront'); blank: made by staff or API."
    )
    terms_version = models.CharField("terms accepted (version)", max_length=40, blank=True, editable=False)
    terms_accepted_at = models.DateTimeField(null=True, blank=True, editable=False)
    email_verification_pending = models.BooleanField(
        default=False, help_text="Signed up and not yet confirmed the e-mail address: its orders wait (storefront)."
    )
    email_verified_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_login_at = models.DateTimeField(null=True, blank=True, editable=False, db_index=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["last_name", "first_name"]), models.Index(fields=["company_name"]),
            # The staff lists' currency and country filters read the distinct values: with these, an index
            # skip instead of a scan of every client (portal.admin_paging.client_values_filter).
            models.Index(fields=["currency"]), models.Index(fields=["country"]),
        ]
        # Staff "Log in as client" (seed 003, portal/impersonation.py). The portal's permissions that belong to no
        # model of their own live here too: turning off another login's two-factor (portal/admin_two_factor.py).
        permissions = [("login_as_client", "Can log in as the client (sees the client area as they do)"),
                       ("reset_two_factor", "Can turn off another login's two-factor sign-in")]

    def __str__(self):
        return self.display_name

    @property
    def full_name(self):
        return f"{self.first_name} {self.last_name}".strip()

    @property
    def display_name(self):
        return f"{self.company_name} ({self.full_name})" if self.company_name else self.full_name

    @staticmethod
    def vat_check_wanted():
        """The check a VAT number needs to count: VIES "valid" when VIES is on, else format and check digits."""
        return VatCheck.VALID if settings.VIES_ENABLED else VatCheck.FORMAT

    def clean(self):
        clean_phone(self, self.country)
        if self.vat_number:
            self.vat_number = vat_number_clean(self.vat_number, self.country, field="vat_number")


class ClientUser(models.Model):
    """A login that belongs to a client: the owner or one of its contacts. Staff users are never clients."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="client_user")
    client = models.ForeignKey(Client, on_delete=models.CASCADE, related_name="users")
    is_owner = models.BooleanField(default=False)

    def __str__(self):
        return f"{self.user} → {self.client}"

    def clean(self):
        if self.user_id and self.user.is_staff:
            raise ValidationError({"user": "Staff users cannot belong to a client."})


class ActivityLog(models.Model):
    """Append-only audit trail: every state change and every staff action."""

    class ActorType(models.TextChoices):
        STAFF = "staff", "Staff"
        CLIENT = "client", "Client"
        SYSTEM = "system", "System task"
        API = "api", "API key"

    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    actor_type = models.CharField(max_length=10, choices=ActorType.choices)
    actor_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_label = models.CharField(max_length=150, help_text="Who acted, as shown: a username, task or API key.")
    impersonated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    action = models.CharField(max_length=80, db_index=True)
    client = models.ForeignKey(Client, null=True, blank=True, on_delete=models.SET_NULL, related_name="activity")
    target_type = models.ForeignKey(ContentType, null=True, blank=True, on_delete=models.SET_NULL)
    target_id = models.CharField(max_length=64, blank=True)
    target = GenericForeignKey("target_type", "target_id")
    target_repr = models.CharField(max_length=200, blank=True)
    message = models.TextField()
    data = models.JSONField(default=dict, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["client", "-created_at"]),
            models.Index(fields=["target_type", "target_id"]),
        ]
        verbose_name = "activity log entry"
        verbose_name_plural = "activity log"

    def __str__(self):
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.actor_label}: {self.message}"

    def save(self, *args, **kwargs):
        # Append-only: an entry, once written, is never rewritten.
        if self.pk is not None and not kwargs.get("force_insert"):
            raise ValueError("Activity log entries are append-only.")
        super().save(*args, **kwargs)


class JobRun(models.Model):
    """The last run of each periodic job, for the staff dashboard's automation status."""

    class Status(models.TextChoices):
        RUNNING = "running", "Running"
        SUCCESS = "success", "Succeeded"
        FAILED = "failed", "Failed"

    name = models.CharField(max_length=80, unique=True)
    status = models.CharField(max_length=10, choices=Status.choices)
    last_started_at = models.DateTimeField()
    last_finished_at = models.DateTimeField(null=True, blank=True)
    last_success_at = models.DateTimeField(null=True, blank=True)
    last_duration_ms = models.PositiveIntegerField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    last_summary = models.CharField(max_length=255, blank=True)
    run_count = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name

    @classmethod
    def ensure(cls, name, *, status):
        """Create the job's row unless it exists. Two workers may start the same job at once: the loser of the
        insert reads the winner's row, whether it lost by a duplicate key or by InnoDB's deadlock over the
        unique index (only outside a larger transaction, which a deadlock has rolled back)."""
        try:
            cls.objects.get_or_create(name=name, defaults={"status": status, "last_started_at": timezone.now()})
        except OperationalError:
            if connection.in_atomic_block or not cls.objects.filter(name=name).exists():
                raise


class Contact(models.Model):
    """A person at a client who is not a login: WHMCS's contact (without sub-account). The e-mail preference
    flags say which e-mails they receive in addition to the client (billing.emails)."""

    client = models.ForeignKey(Client, on_delete=models.CASCADE, related_name="contacts")
    first_name = models.CharField(max_length=100)
    last_name = models.CharField(max_length=100, blank=True)
    company_name = models.CharField(max_length=200, blank=True)
    email = models.EmailField()
    phone = models.CharField(max_length=40, blank=True)
    address1 = models.CharField("address", max_length=200, blank=True)
    address2 = models.CharField("address (line 2)", max_length=200, blank=True)
    city = models.CharField(max_length=100, blank=True)
    state = models.CharField("state or region", max_length=100, blank=True)
    postcode = models.CharField(max_length=20, blank=True)
    country = models.CharField(max_length=2, validators=[country_code], blank=True)
    general_emails = models.BooleanField("general e-mails", default=False)
    invoice_emails = models.BooleanField("invoice e-mails", default=False)
    product_emails = models.BooleanField("product e-mails", default=False)
    domain_emails = models.BooleanField("domain e-mails", default=False)
    support_emails = models.BooleanField("support e-mails", default=False)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["client", "last_name", "first_name", "id"]
        indexes = [models.Index(fields=["client", "email"])]

    def __str__(self):
        return f"{self.full_name} <{self.email}>"

    def clean(self):
        try:
            client_country = self.client.country
        except Client.DoesNotExist:  # an inline contact before its client is known
            client_country = ""
        clean_phone(self, self.country or client_country)

    @property
    def full_name(self):
        return f"{self.first_name} {self.last_name}".strip()


class SentEmail(models.Model):
    """A copy of an e-mail kept by the outbox mail backend (EMAIL_URL=outbox://, portal.mail_outbox) instead of
    being delivered: the demo's mailbox, read in the staff area. Never used in production, where e-mails leave
    through SMTP and are not stored (password reset links in particular)."""

    sent_at = models.DateTimeField(default=timezone.now, db_index=True)
    message_id = models.CharField(max_length=255, blank=True)
    from_email = models.CharField("from", max_length=320)
    to = models.TextField(blank=True)  # addresses, comma-separated, as are cc, bcc and reply_to
    cc = models.TextField(blank=True)
    bcc = models.TextField(blank=True)
    reply_to = models.TextField(blank=True)
    subject = models.CharField(max_length=998, blank=True)
    body = models.TextField(blank=True, help_text="The plain-text part.")
    html_body = models.TextField(blank=True, help_text="The HTML part, if the e-mail had one.")
    attachments = models.JSONField(default=list, blank=True, help_text="Name, content type and size of each.")

    class Meta:
        ordering = ["-sent_at", "-id"]
        verbose_name = "sent e-mail"
        verbose_name_plural = "sent e-mails (outbox)"

    def __str__(self):
        return f"{self.subject or '(no subject)'} → {self.to}"
