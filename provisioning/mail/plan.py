"""What a mail service's plan allows and advises: how many mailboxes of which type (from the service's
configurable options, seed 003), the password rules to show as hints (product options 9–11), and the DNS
guide (MX, SPF, DKIM, DMARC, autodiscover; options 13 and 17–23) with the connection settings (option 12)."""
from dataclasses import dataclass

from billing.models import ConfigurableOption
from billing.pricing import mailbox_types, product_options, service_option_values

LEGACY_COUNT = "mailboxes"  # the older quantity option: a number of mailboxes, all of one type
LEGACY_TYPE = "mailbox_type"  # ... whose type is this select option


@dataclass(frozen=True)
class MailboxType:
    code: str  # "" when the plan has no types
    label: str
    limit: int | None  # None: no limit


@dataclass(frozen=True)
class Allowance:
    """The plan's mailboxes: per type when the plan has `mailboxes_<type>` options, else one total."""

    types: tuple
    total: int | None

    @property
    def typed(self):
        return any(kind.code for kind in self.types)

    @property
    def changeable(self):
        """A mailbox can change type (Manage) only when the plan bills types separately."""
        return sum(1 for kind in self.types if kind.code) > 1

    def label(self, code):
        return next((kind.label for kind in self.types if kind.code == code), code.title())

    def room(self, counts, code):
        """Whether one more mailbox of type `code` fits, given {type: count} of the mailboxes there are."""
        kind = next((kind for kind in self.types if kind.code == code), None)
        if kind is None:
            return False
        used = sum(counts.values())
        if self.total is not None and used >= self.total:
            return False
        return kind.limit is None or counts.get(code, 0) < kind.limit

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
        if kind is not None and kind.limit is not None and self.typed and counts.get(code, 0) >= kind.limit:
            have = f"Your plan includes {kind.limit} {label} mailbox{'es' if kind.limit != 1 else ''}"
            used = counts.get(code, 0)
        else:
            have = f"Your plan includes {self.total} mailbox{'es' if self.total != 1 else ''}"
            used = sum(counts.values())
        return (f"{have} and {used} {'are' if used != 1 else 'is'} in use. To add another, upgrade your plan "
                f"under Upgrade/Downgrade (more {label + ' ' if self.typed else ''}mailboxes), or delete a mailbox "
                "you no longer need.")


def mailbox_allowance(service, module_options):
    """The plan's allowance from the service's configurable options; without mailbox options, the module's
    user limit (SmarterMail option 7, 0 = unlimited), else no limit."""
    options = product_options(service.product)
    values = service_option_values(service)
    typed = mailbox_types(options)
    if typed:
        kinds = tuple(
            MailboxType(code, code.replace("_", " ").title(), int(values.get(option.code, option.min_quantity)))
            for code, option in typed.items()
        )
        return Allowance(types=kinds, total=sum(kind.limit for kind in kinds))
    by_code = {option.code: option for option in options}
    count = by_code.get(LEGACY_COUNT)
    if count is not None and count.kind == ConfigurableOption.Kind.QUANTITY:
        total = int(values.get(LEGACY_COUNT, count.min_quantity))
        kind = MailboxType("", "", total)
        chooser = by_code.get(LEGACY_TYPE)
        choices = list(chooser.choices.all()) if chooser is not None else []
        if choices:
            chosen = next((c for c in choices if c.code == values.get(LEGACY_TYPE)), choices[0])
            kind = MailboxType(chosen.code, chosen.label, total)
        return Allowance(types=(kind,), total=total)
    limit = int(module_options.get("max_users") or 0) or None
    return Allowance(types=(MailboxType("", "", limit),), total=limit)


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
