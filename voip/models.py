"""VoIP billing data (shared/voip-rating.md): rate packages and their prefix rates, the VoIP settings of a
product (which package rates its calls, how its numbers are read), the places call records come from, each
import batch, and the call records themselves. The rating rules live in voip/rating (pure code); writes go
through voip/services, reads through voip/selectors."""
import re

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone

from portal.encryption import EncryptedTextField
from portal.models import SingletonSettings
from portal.network import address_allowed, parse_networks
from provisioning.telephony.calls import INBOUND, OUTBOUND
from provisioning.telephony.cdrs import DEFAULT_INBOUND_CONTEXTS
from provisioning.telephony.numbers import DEFAULT_EXTENSION_DIGITS
from voip.rating.engine import AFTER_MINIMUM, IGNORED, INVALID, RATED, UNRATED, WHOLE_DURATION
from voip.rating.periods import describe, valid_days

# Prices: at most 8 decimal places below a million (voip/rating/deck.py keeps the cost formula exact with them).
PRICE = {"max_digits": 14, "decimal_places": 8, "validators": [MinValueValidator(0)]}
SECONDS = {"default": 0, "validators": [MinValueValidator(0)]}


class RatePackage(models.Model):
    """A named set of prefix rates (a "rate deck"), chosen per VoIP product."""

    class IncrementMode(models.TextChoices):
        AFTER_MINIMUM = AFTER_MINIMUM, "Minimum block, then increments (ASTPP, Kazoo, CGRateS)"
        WHOLE_DURATION = WHOLE_DURATION, "Whole duration in increments (A2Billing, MagnusBilling)"

    name = models.CharField(max_length=120, unique=True)
    description = models.TextField(blank=True)
    currency = models.CharField(max_length=3, default="USD")
    increment_mode = models.CharField(max_length=16, choices=IncrementMode.choices, default=AFTER_MINIMUM)
    # Moved on every change of the package's rates: the in-memory decks (voip.services.decks) rebuild on it.
    rates_version = models.PositiveIntegerField(default=1, editable=False)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


class Rate(models.Model):
    """One prefix rate (voip-rating.md §1 "Rate"): per-minute prices, minimum and increment seconds, validity."""

    class Direction(models.TextChoices):
        BOTH = "both", "Both"
        OUTBOUND = OUTBOUND, "Outbound"
        INBOUND = INBOUND, "Inbound"

    package = models.ForeignKey(RatePackage, on_delete=models.CASCADE, related_name="rates")
    prefix = models.CharField(max_length=15, help_text="E.164 digits without '+', e.g. 1212 or 44.")
    destination = models.CharField(max_length=120)
    direction = models.CharField(max_length=8, choices=Direction.choices, default=Direction.BOTH)
    connect_fee = models.DecimalField(**PRICE, default=0)
    rate_per_minute = models.DecimalField(**PRICE)
    minimum_seconds = models.PositiveIntegerField(**SECONDS)
    increment_seconds = models.PositiveIntegerField(default=1, validators=[MinValueValidator(1)])
    free_seconds = models.PositiveIntegerField(**SECONDS)
    nocharge_below = models.PositiveIntegerField(
        "no charge below (seconds)", **SECONDS, help_text="Calls shorter than this are free, connect fee included."
    )
    valid_from = models.DateTimeField(null=True, blank=True)
    valid_to = models.DateTimeField(null=True, blank=True)
    weight = models.IntegerField(default=0, help_text="Higher wins a tie between rates of the same prefix.")
    # Time of day (voip-rating.md step 10), read in the client's time zone; all blank: the rate applies all day.
    days = models.CharField(
        max_length=7, blank=True, help_text="Days of the week the rate applies on, as ISO weekday numbers "
        "(Monday 1 … Sunday 7, e.g. 12345 for Monday to Friday). Blank: every day.",
    )
    start_time = models.TimeField(null=True, blank=True, help_text="Local start of the period. Blank: midnight.")
    end_time = models.TimeField(
        null=True, blank=True, help_text="Local end of the period (exclusive). Blank: the end of the day.",
    )

    class Meta:
        ordering = ["package", "prefix", "-weight", "id"]
        indexes = [models.Index(fields=["package", "prefix"])]

    def __str__(self):
        return f"{self.prefix} {self.destination}"

    def clean(self):
        if not (self.prefix or "").isdigit():
            raise ValidationError({"prefix": "Digits only (E.164 without '+')."})
        if self.valid_from and self.valid_to and self.valid_from >= self.valid_to:
            raise ValidationError({"valid_to": "Must be after 'valid from'."})
        if not valid_days(self.days or ""):
            raise ValidationError({"days": "ISO weekday numbers in order, each once (Monday 1 … Sunday 7)."})
        if self.start_time and self.end_time and self.start_time >= self.end_time:
            raise ValidationError({"end_time": "Must be after the start time; a period cannot cross midnight "
                                               "(use two rates, or an all-day rate for the rest)."})
        for name in ("start_time", "end_time"):
            value = getattr(self, name)
            if value is not None and value.microsecond:
                raise ValidationError({name: "Whole seconds only."})

    @property
    def period(self):
        """The time-of-day period for people: "mon-fri 08:00–18:00", "all day"."""
        return describe(self.days or "", self.start_time, self.end_time)


class BillingMode(models.TextChoices):
    """How a VoIP product's rated calls are paid (voip-rating.md steps 6, 8 and 9)."""

    PREPAID = "prepaid", "Prepaid (debited from credit as imported)"
    POSTPAID = "postpaid", "Postpaid (invoiced monthly; the client's credit limit applies)"


class VoipProduct(models.Model):
    """The VoIP billing settings of a product: the rate package its calls are rated with and how they are paid.
    How its numbers are read (seed 002: the country code and the local-prefix option) is the module's product
    options `default_region` and `local_npa` (docs/voip-providers.md), which the DIDs are validated with too."""

    product = models.OneToOneField("billing.Product", on_delete=models.CASCADE, related_name="voip")
    rate_package = models.ForeignKey(
        RatePackage, null=True, blank=True, on_delete=models.PROTECT, related_name="products",
        help_text="Blank: calls are stored as 'unrated' (never silently free).",
    )
    accept_possible_numbers = models.BooleanField(
        default=False, help_text="Rate numbers that are possible but not valid for their region (phonenumbers' "
        "is_possible_number): for new number ranges its metadata does not know yet."
    )
    billing_mode = models.CharField(
        max_length=8, choices=BillingMode.choices, default=BillingMode.PREPAID,
        help_text="Prepaid: each import debits the client's credit. Postpaid: calls stay unbilled until the monthly "
        "usage invoice; autosuspend allows usage down to minus the client's VoIP credit limit. A call keeps the "
        "mode its product had when it was stored.",
    )

    class Meta:
        verbose_name = "VoIP product setting"

    def __str__(self):
        return f"VoIP settings of {self.product}"


def context_names(text):
    """Dial-plan context names from a text listing them one per line or separated by commas (in order, once)."""
    return list(dict.fromkeys(name for name in re.split(r"[\s,;]+", text or "") if name))


class CdrSource(models.Model):
    """A place call records come from: a PBX or carrier polled on a schedule (FusionPBX and Vodia hourly,
    LesNet daily), Vodia pushing to the portal, or files staff upload."""

    class Kind(models.TextChoices):
        FUSIONPBX = "fusionpbx", "FusionPBX"
        VODIA = "vodia", "Vodia"
        LESNET = "lesnet", "LesNet"
        FILE = "file", "Uploaded files"

    class Schedule(models.TextChoices):
        HOURLY = "hourly", "Hourly"
        DAILY = "daily", "Daily"
        MANUAL = "manual", "Not scheduled (pushes and uploads only)"

    DEFAULT_SCHEDULE = {Kind.LESNET: Schedule.DAILY, Kind.FILE: Schedule.MANUAL}

    name = models.CharField(max_length=120, unique=True)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    server = models.ForeignKey(
        "provisioning.Server", null=True, blank=True, on_delete=models.PROTECT, related_name="cdr_sources",
        help_text="The PBX or carrier server; its module fetches the records. CDRs match this server's services.",
    )
    file_format = models.CharField(
        max_length=12, blank=True, help_text="Format of uploaded files: portal, asterisk, freeswitch or fusionpbx."
    )
    url = models.URLField(max_length=500, blank=True, help_text="Where to fetch from, when not the server's URL "
                          "(LesNet: the per-peer CDR text file).")
    username = models.CharField(max_length=120, blank=True)
    password = EncryptedTextField(blank=True)
    token = EncryptedTextField("API token", blank=True)
    push_username = models.CharField(max_length=60, blank=True, help_text="Vodia push: the user of the CDR URL.")
    push_password = EncryptedTextField(blank=True, help_text="Vodia push: the password of the CDR URL.")
    push_allowed_ips = models.TextField(
        "push allowed IP addresses", blank=True, help_text="Vodia push: the PBX's addresses or CIDRs, one per line "
        "or comma. Blank allows any address (the user and password still apply).",
    )
    push_rate_limit = models.PositiveIntegerField(
        null=True, blank=True, validators=[MinValueValidator(1)], help_text="Vodia push: most pushes per minute "
        "(the PBX sends one per call or leg); blank uses the VOIP_PUSH_RATE_LIMIT setting (1200).",
    )
    # Refused pushes (bad credentials, address not allowed, over the rate, too large), counted here rather than
    # one ActivityLog row per request; each refusal is also logged by voip.services.push.
    push_refusals = models.PositiveIntegerField(default=0, editable=False)
    push_last_refused_at = models.DateTimeField(null=True, blank=True, editable=False)
    push_last_refusal = models.CharField(max_length=255, blank=True, editable=False)
    column_mapping = models.JSONField(
        default=dict, blank=True, help_text="LesNet: the file's column for each field, e.g. {\"external_id\": "
        "\"Call ID\", \"callee\": \"Destination\"}.",
    )
    time_zone = models.CharField(
        max_length=64, default="UTC", help_text="Zone of timestamps written without an offset (Asterisk and "
        "FreeSWITCH local time)."
    )
    inbound_contexts = models.TextField(
        blank=True, help_text="Asterisk and FreeSWITCH files (no direction column): the dial-plan contexts whose "
        "calls are inbound, one per line or separated by commas, e.g. stadion-pstn. Blank: "
        + ", ".join(sorted(DEFAULT_INBOUND_CONTEXTS)) + ".",
    )
    extension_digits = models.PositiveSmallIntegerField(
        "longest extension (digits)", default=DEFAULT_EXTENSION_DIGITS, validators=[MaxValueValidator(10)],
        help_text="Numbers without '+' of at most this many digits are the PBX's extensions (not billed, never a "
        "DID); longer ones are phone numbers and DIDs. Lower it when the PBX writes short DIDs: 4 reads a 6-digit "
        "local DID as a DID.",
    )
    options = models.JSONField(
        default=dict, blank=True, help_text="Kind-specific settings, e.g. {\"billable_dispositions\": "
        "[\"ANSWERED\"], \"overlap_minutes\": 120}.",
    )
    schedule = models.CharField(max_length=8, choices=Schedule.choices, default=Schedule.HOURLY)
    enabled = models.BooleanField(default=True)
    last_imported_up_to = models.DateTimeField(
        null=True, blank=True, help_text="The next scheduled import fetches from here (less an overlap)."
    )
    # A scheduled import claims the source by setting this (conditional UPDATE), so two never run at once.
    import_claimed_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_error = models.TextField(blank=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]
        # No uniqueness on push_username: a push names its source by id in the URL, so two PBXs may use the same
        # user (and MariaDB would ignore the conditional unique constraint this once had).

    def __str__(self):
        return self.name

    def clean(self):
        self.inbound_contexts = "\n".join(context_names(self.inbound_contexts))
        try:
            parse_networks(self.push_allowed_ips)
        except ValueError as exc:
            raise ValidationError({"push_allowed_ips": f"Not an IP address or CIDR: {exc}"}) from None

    def inbound_context_names(self):
        """The contexts whose calls are inbound: the listed ones, else the defaults."""
        return frozenset(context_names(self.inbound_contexts)) or DEFAULT_INBOUND_CONTEXTS

    def push_ip_allowed(self, ip):
        """True when the allow-list is blank or holds `ip` (a bad stored list allows nothing)."""
        return address_allowed(ip, self.push_allowed_ips)


class CdrImport(models.Model):
    """One import batch: a scheduled fetch, a Vodia push, an uploaded file or a re-rating. Its counts and its
    line-numbered errors are the report staff read; `bytes_done`/`bytes_total` show an upload's progress."""

    class Kind(models.TextChoices):
        SCHEDULED = "scheduled", "Scheduled fetch"
        PUSH = "push", "Pushed by the PBX"
        UPLOAD = "upload", "Uploaded file"
        RERATE = "rerate", "Re-rating"

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    source = models.ForeignKey(CdrSource, null=True, blank=True, on_delete=models.PROTECT, related_name="imports")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.QUEUED)
    file_name = models.CharField(max_length=255, blank=True)
    file_path = models.CharField(max_length=500, blank=True, editable=False)
    file_format = models.CharField(max_length=12, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(
        null=True, blank=True, editable=False, help_text="Last progress of a running import."
    )
    bytes_total = models.PositiveBigIntegerField(default=0)
    bytes_done = models.PositiveBigIntegerField(default=0)
    lines_read = models.PositiveIntegerField(default=0, help_text="CDR lines and records read.")
    inserted = models.PositiveIntegerField(default=0, help_text="New CDRs stored.")
    duplicates = models.PositiveIntegerField(default=0, help_text="Already imported: stored before, not charged.")
    rated = models.PositiveIntegerField(default=0)
    unrated = models.PositiveIntegerField(default=0)
    ignored = models.PositiveIntegerField(default=0)
    invalid = models.PositiveIntegerField(default=0, help_text="Malformed lines and numbers that cannot be read.")
    unmatched = models.PositiveIntegerField(default=0, help_text="Calls no service's tenant, DID or extension matches.")
    charged = models.DecimalField(max_digits=14, decimal_places=4, default=0, help_text="Total debited (re-rating: "
                                  "the difference credited back, negative when charged more).")
    errors = models.JSONField(default=list, blank=True, help_text="[{line, reason}] of bad lines (the first 1000).")
    error_count = models.PositiveIntegerField(default=0)
    unmatched_sample = models.JSONField(default=list, blank=True, help_text="Some unmatched calls, to fix the "
                                        "services' identifiers: [{line, account, caller, callee}].")
    message = models.TextField(blank=True, help_text="Why the import failed, or the re-rating's scope.")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["source", "-created_at"])]
        verbose_name = "CDR import"

    def __str__(self):
        where = self.file_name or (self.source.name if self.source_id else "")
        return f"{self.get_kind_display()} #{self.pk} {where}".strip()

    @property
    def progress_percent(self):
        if self.status == self.Status.DONE:
            return 100
        if not self.bytes_total:
            return 0
        return min(99, int(self.bytes_done * 100 / self.bytes_total))


class Cdr(models.Model):
    """One call record, unique per (source, external id): importing it again changes nothing."""

    class Status(models.TextChoices):
        RATED = RATED, "Rated"
        UNRATED = UNRATED, "Unrated (no rate matches)"
        IGNORED = IGNORED, "Ignored (not billed)"
        INVALID = INVALID, "Invalid number"
        UNMATCHED = "unmatched", "No matching service"

    class Direction(models.TextChoices):
        OUTBOUND = OUTBOUND, "Outbound"
        INBOUND = INBOUND, "Inbound"
        LOCAL = "local", "Local"

    source = models.ForeignKey(CdrSource, on_delete=models.PROTECT, related_name="cdrs")
    external_id = models.CharField(max_length=100)
    cdr_import = models.ForeignKey(CdrImport, on_delete=models.PROTECT, related_name="cdrs")
    service = models.ForeignKey(
        "billing.Service", null=True, blank=True, on_delete=models.PROTECT, related_name="cdrs"
    )
    direction = models.CharField(max_length=8, choices=Direction.choices)
    account = models.CharField(max_length=100, blank=True, help_text="Tenant, peer or account code as the PBX sent it.")
    caller = models.CharField(max_length=64, blank=True)
    callee = models.CharField(max_length=64, blank=True)
    number = models.CharField(max_length=64, blank=True, help_text="The number rated, as the PBX wrote it.")
    e164 = models.CharField("E.164", max_length=16, blank=True)
    answer_time = models.DateTimeField(null=True, blank=True)
    billsec = models.PositiveIntegerField(default=0)
    disposition = models.CharField(max_length=40, blank=True)
    billed_seconds = models.PositiveIntegerField(default=0)
    prefix = models.CharField(max_length=15, blank=True)
    destination = models.CharField(max_length=120, blank=True)
    cost = models.DecimalField(max_digits=14, decimal_places=4, default=0, help_text="Debited: 4 places, half up.")
    precise_cost = models.DecimalField(max_digits=20, decimal_places=8, default=0, help_text="Before rounding.")
    status = models.CharField(max_length=10, choices=Status.choices)
    reason = models.CharField(max_length=200, blank=True)
    line = models.PositiveIntegerField(default=0, help_text="Line in the imported file.")
    call_id = models.CharField(
        "call id", max_length=100, blank=True, help_text="The id all legs of the call share, when the PBX sends one "
        "(Vodia's PrimaryCallID).",
    )
    internal_leg = models.BooleanField(
        default=False, help_text="A leg of a call another record carries (the extension leg of a trunk call, a "
        "FusionPBX b-leg): kept here, never listed or counted as a call in the client's call records.",
    )
    rated_at = models.DateTimeField(null=True, blank=True)
    # Fixed when the call is stored, from its product's billing mode: a postpaid call is never debited from
    # credit, a prepaid one never invoiced, whatever the product's mode becomes later.
    postpaid = models.BooleanField(
        default=False, editable=False, help_text="Billed on the monthly usage invoice instead of debited from credit."
    )
    # No index of its own: cdr_unbilled starts with it (InnoDB enforces the foreign key with that index), so
    # every inserted call maintains one index less.
    usage_invoice = models.ForeignKey(
        "billing.Invoice", null=True, blank=True, editable=False, on_delete=models.PROTECT, related_name="+",
        db_index=False, help_text="The usage invoice that billed this postpaid call (blank: not invoiced yet).",
    )

    class Meta:
        ordering = ["-answer_time", "-id"]
        constraints = [models.UniqueConstraint(fields=["source", "external_id"], name="cdr_unique_per_source")]
        indexes = [
            # The client area and re-rating. id after answer_time keeps the pages' order (newest first) in the
            # index; the columns after it make it covering for the call records page's totals and daily spend
            # (a month of a big client's calls read from the index alone, never row by row: docs/benchmarks.md,
            # *Load test*).
            models.Index(fields=["service", "answer_time", "id", "direction", "internal_leg", "status",
                                 "billed_seconds", "cost"], name="cdr_service_calls"),
            models.Index(fields=["answer_time"], name="cdr_answer_time"),  # the staff list, newest first
            models.Index(fields=["cdr_import", "service"]),  # a batch's debit per service
            # Unbilled postpaid calls: the usage invoicing job and the unbilled totals (voip.services.unbilled).
            models.Index(fields=["usage_invoice", "postpaid", "service", "answer_time"], name="cdr_unbilled"),
        ]
        verbose_name = "CDR"

    def __str__(self):
        return f"{self.get_direction_display()} {self.number or self.callee} ({self.external_id})"


class UnbilledUsage(models.Model):
    """A client's unbilled postpaid call charges: the sum of the stored `cost` of its rated, not yet invoiced
    postpaid calls. A cache the autosuspend sweep reads instead of summing calls every five minutes; it is
    recomputed from the calls (never incremented) by whatever changes them (imports, re-rating, invoicing)."""

    client = models.OneToOneField(
        "portal.Client", primary_key=True, on_delete=models.CASCADE, related_name="voip_unbilled"
    )
    amount = models.DecimalField(max_digits=14, decimal_places=4, default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = verbose_name_plural = "unbilled VoIP usage"

    def __str__(self):
        return f"{self.amount} unbilled ({self.client_id})"


class VoipSettings(SingletonSettings):
    """The single row of VoIP billing settings, edited in the staff area (Admin → VoIP → VoIP settings)."""

    singleton = models.BooleanField(default=True, unique=True, editable=False)
    low_balance_reminder_days = models.PositiveIntegerField(
        "remind every N days", null=True, blank=True, validators=[MinValueValidator(1)],
        help_text="While a client's credit stays at or below its Low Balance Threshold, send the 'Low Balance "
        "Alert' again every N days. Blank: one alert per crossing only.",
    )
    usage_invoice_due_days = models.PositiveIntegerField(
        "usage invoices due after (days)", default=14,
        help_text="Due date of the monthly postpaid call invoices: this many days after their date.",
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = verbose_name_plural = "VoIP settings"
        constraints = [models.CheckConstraint(condition=models.Q(singleton=True), name="voip_settings_single_row")]

    def __str__(self):
        return "VoIP settings"
