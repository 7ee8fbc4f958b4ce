"""What a mail service's plan allows and advises: how many mailboxes of which type (from the service's
configurable options, seed 003), how large one mailbox may be (the plan's disk: product options 1–3 and 16),
the password rules to show as hints (product options 9–11), and the DNS guide (MX, SPF, DKIM, DMARC,
autodiscover; options 13 and 17–23) with the connection settings (option 12)."""
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError

from billing import disk
from billing.disk import tranche_rule
from billing.models import ConfigurableOption
from billing.money import MB_PER_GB
from billing.pricing import granted_option_values, mailbox_types, product_options

LEGACY_COUNT = "mailboxes"  # the older quantity option: a number of mailboxes, all of one type
LEGACY_TYPE = "mailbox_type"  # ... whose type is this select option


@dataclass(frozen=True)
class MailboxType:
    code: str  # "" when the plan has no types
    label: str
    limit: int | None  # None: no limit


@dataclass(frozen=True)
class Allowance:
    """The plan's mailboxes: per type when the plan has `mailboxes_<type>` options (`per_type`), else one total
    (of one type, or of none). Every page and check reads "allowed" and "used" from here."""

    types: tuple
    total: int | None
    per_type: bool = False

    @property
    def typed(self):
        return any(kind.code for kind in self.types)

    @property
    def changeable(self):
        """A mailbox can change type (Manage) only when the plan bills types separately."""
        return sum(1 for kind in self.types if kind.code) > 1

    @property
    def sole_type(self):
        """The type every mailbox has on a plan of one type ("" when the plan has none or bills types apart)."""
        return "" if self.per_type else self.types[0].code

    def label(self, code):
        return next((kind.label for kind in self.types if kind.code == code), code.title())

    def used(self, counts, code):
        """Mailboxes counted against type `code`, from {type: count} of the provider's list: on a plan of one
        total, every mailbox (whatever type an older plan left on its record)."""
        return counts.get(code, 0) if self.per_type else sum(counts.values())

    def usage(self, counts):
        """[(label, code, used, limit)] for the plan figures ("Basic: 3 of 6")."""
        return [(kind.label or "Mailboxes", kind.code, self.used(counts, kind.code), kind.limit) for kind in self.types]

    def room(self, counts, code):
        """Whether one more mailbox of type `code` fits, given {type: count} of the mailboxes there are."""
        kind = next((kind for kind in self.types if kind.code == code), None)
        if kind is None:
            return False
        if self.total is not None and sum(counts.values()) >= self.total:
            return False
        return kind.limit is None or self.used(counts, code) < kind.limit

    def default_type(self, counts=None):
        """The first type with room (the first type when none has room)."""
        counts = counts or {}
        return next((kind.code for kind in self.types if self.room(counts, kind.code)), self.types[0].code)

    def full_notice(self, counts):
        """"" while one more mailbox of some type fits; otherwise why not, and how to get one."""
        if any(self.room(counts, kind.code) for kind in self.types):
            return ""
        return self.full_message(counts, self.default_type(counts))

    def full_message(self, counts, code):
        """Why no mailbox of type `code` can be added, and how to get one."""
        label = self.label(code).lower()
        kind = next((kind for kind in self.types if kind.code == code), None)
        if kind is not None and kind.limit is not None and self.per_type and self.used(counts, code) >= kind.limit:
            have = f"Your plan includes {kind.limit} {label} mailbox{'es' if kind.limit != 1 else ''}"
            used = self.used(counts, code)
        else:
            have = f"Your plan includes {self.total} mailbox{'es' if self.total != 1 else ''}"
            used = sum(counts.values())
        return (f"{have} and {used} {'are' if used != 1 else 'is'} in use. To add another, upgrade your plan "
                f"under Upgrade/Downgrade (more {label + ' ' if self.typed else ''}mailboxes), or delete a mailbox "
                "you no longer need.")


def mailbox_allowance(service, module_options):
    """The plan's allowance: per mailbox type, the mailboxes included in the price plus those bought, from the
    service's configurable options (billing.pricing.granted_option_values, the same units billing charges for
    and the provider's limit is set from); without mailbox options, the module's user limit (SmarterMail option
    7, 0 = unlimited), else no limit."""
    options = product_options(service.product)
    values = granted_option_values(service, options)
    typed = mailbox_types(options)
    if typed:
        kinds = tuple(
            MailboxType(code, code.replace("_", " ").title(), values[option.code]) for code, option in typed.items()
        )
        return Allowance(types=kinds, total=sum(kind.limit for kind in kinds), per_type=True)
    by_code = {option.code: option for option in options}
    count = by_code.get(LEGACY_COUNT)
    if count is not None and count.kind == ConfigurableOption.Kind.QUANTITY:
        total = values[LEGACY_COUNT]
        kind = MailboxType("", "", total)
        chooser = by_code.get(LEGACY_TYPE)
        choices = list(chooser.choices.all()) if chooser is not None else []
        if choices:
            chosen = next((c for c in choices if c.code == values.get(LEGACY_TYPE)), choices[0])
            kind = MailboxType(chosen.code, chosen.label, total)
        return Allowance(types=(kind,), total=total)
    limit = int(module_options.get("max_users") or 0) or None
    return Allowance(types=(MailboxType("", "", limit),), total=limit)


DOMAIN_QUOTA = "domain_quota_mb"  # Modoboa's domain quota (MB, 0 = unlimited)


def plan_disk_mb(module_options):
    """The most disk the plan gives the domain, in MB (1 GB = 1024 MB), or None when the plan sets no bound;
    no mailbox's quota may be larger. Modoboa: its domain quota. Disk-tranche plans (SmarterMail options 1–4
    and 16, as billing.disk reads them): the included disk plus the most tranches billed, since usage beyond
    the cap would be free; with disk billing off, the included disk alone; billing without a cap (every
    started tranche billed), or nothing included and nothing billed: no bound."""
    if DOMAIN_QUOTA in module_options:
        return int(module_options[DOMAIN_QUOTA] or 0) or None
    try:
        rule = tranche_rule(module_options)
        included = Decimal(str(module_options.get(disk.INCLUDED) or 0))
    except (ValidationError, InvalidOperation):
        return None  # broken options are staff's to fix (the product page names the option)
    if rule is None:
        gb = included
    elif rule.max_tranches:
        gb = rule.included_gb + rule.size_gb * rule.max_tranches
    else:
        return None
    return int(gb * MB_PER_GB) or None


def disk_label(mb):
    """76,800 MB (75 GB): MB as the forms take it, with whole GB where it is a whole number of them."""
    return f"{mb:,} MB" + (f" ({mb // 1024:,} GB)" if mb % 1024 == 0 else "")


def quota_problem(limit_mb, quota_mb):
    """Why `quota_mb` does not fit the plan's disk (`plan_disk_mb`), or ""."""
    if limit_mb is None or quota_mb is None or quota_mb <= limit_mb:
        return ""
    return f"Your plan allows at most {disk_label(limit_mb)} per mailbox."


@dataclass(frozen=True)
class PasswordRules:
    min_length: int = 8
    complexity: bool = True
    hint: str = ""

    @classmethod
    def of(cls, module_options):
        return cls(min_length=int(module_options.get("password_min_length", 8)),
                   complexity=bool(module_options.get("password_require_complexity", True)),
                   hint=str(module_options.get("password_hint", "")))

    @property
    def text(self):
        if self.hint:
            return self.hint
        rule = f"At least {self.min_length} characters"
        return rule + (", with upper- and lower-case letters and a digit." if self.complexity else ".")

    def problem(self, password):
        if len(password) < self.min_length:
            return f"Use at least {self.min_length} characters."
        if self.complexity and not (any(c.islower() for c in password) and any(c.isupper() for c in password)
                                    and any(c.isdigit() for c in password)):
            return "Use upper- and lower-case letters and at least one digit."
        return ""


@dataclass(frozen=True)
class DnsRecord:
    type: str
    host: str
    value: str
    priority: int | None = None
    purpose: str = ""
    status: str = ""  # for DKIM: the provider's status


@dataclass(frozen=True)
class Connection:
    protocol: str
    host: str
    port: str
    security: str


PROTOCOL_SETTINGS = {
    "imap": ("IMAP (incoming)", "993", "SSL/TLS"),
    "pop": ("POP3 (incoming)", "995", "SSL/TLS"),
    "smtp": ("SMTP (outgoing)", "587", "STARTTLS, sign in with the full address"),
    "activesync": ("Exchange ActiveSync", "443", "HTTPS"),
    "ews": ("Exchange Web Services", "443", "HTTPS"),
    "mapi": ("MAPI over HTTP (Outlook)", "443", "HTTPS"),
    "caldav": ("CalDAV (calendars)", "443", "HTTPS"),
    "carddav": ("CardDAV (contacts)", "443", "HTTPS"),
    "xmpp": ("XMPP (chat)", "5222", "STARTTLS"),
}


def mail_host(service, module_options):
    return module_options.get("client_mail_host") or (service.server.hostname if service.server_id else "")


def webmail_url(service, module_options):
    return module_options.get("webmail_url") or (service.server.base_url if service.server_id else "")


def dns_guide(service, module_options, dkim=None):
    """The records to publish for the service's domain, in the order a customer adds them."""
    domain = service.domain.lower()
    records = []
    if dkim is not None and dkim.verification_record:
        records.append(DnsRecord("TXT", dkim.verification_host or domain, dkim.verification_record,
                                 purpose="Proves to the mail provider that you own the domain. Publish it first."))
    mx_hosts = list(module_options.get("dns_mx_hosts") or []) or [mail_host(service, module_options)]
    for number, host in enumerate(filter(None, mx_hosts), 1):
        records.append(DnsRecord("MX", domain, host, priority=number * 10,
                                 purpose="Delivers your domain's mail to your mailboxes."))
    if module_options.get("dns_spf_include"):
        records.append(DnsRecord("TXT", domain, f"v=spf1 include:{module_options['dns_spf_include']} ~all",
                                 purpose="SPF: says which servers may send mail from your domain."))
    if dkim is not None and dkim.host and dkim.record:
        records.append(DnsRecord("TXT", dkim.host, dkim.record, status=dkim.status,
                                 purpose="DKIM: lets receivers check that your mail was signed by your provider."))
    dmarc = f"v=DMARC1; p={module_options.get('dns_dmarc_policy') or 'none'}"
    if module_options.get("dns_dmarc_report_email"):
        dmarc += f"; rua=mailto:{module_options['dns_dmarc_report_email']}"
    records.append(DnsRecord("TXT", f"_dmarc.{domain}", dmarc,
                             purpose="DMARC: tells receivers what to do with mail that fails SPF and DKIM."))
    autodiscover = module_options.get("dns_autodiscover_host")
    if autodiscover:
        records += [
            DnsRecord(
                "CNAME", f"autodiscover.{domain}", autodiscover, purpose="Outlook and phones find their settings."
            ),
            DnsRecord("CNAME", f"autoconfig.{domain}", autodiscover, purpose="Thunderbird finds its settings."),
            DnsRecord(
                "SRV",
                f"_autodiscover._tcp.{domain}",
                f"0 443 {autodiscover}",
                priority=0,
                purpose="Outlook's other way to find its settings.",
            ),
        ]
    return records


def connection_settings(service, module_options):
    host = mail_host(service, module_options)
    protocols = module_options.get("protocols") or ["imap", "pop", "smtp", "webmail"]
    rows = []
    for protocol in protocols:
        if protocol in PROTOCOL_SETTINGS:
            label, port, security = PROTOCOL_SETTINGS[protocol]
            rows.append(Connection(label, host, port, security))
    return rows
