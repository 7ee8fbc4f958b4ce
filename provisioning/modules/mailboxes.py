"""The mailbox capability: what a mail module offers for managing one service's (domain's) mailboxes, aliases,
forwards, distribution lists, DKIM, webmail branding and domain aliases, so that the mail client area and the
staff pages work the same over every provider.

A module with `supports_mailboxes = True` also inherits MailboxManagement and implements its abstract methods
(mailboxes, aliases, forwards). The rest is optional: a module says what it offers with the capability flags
below and implements those methods; the client area hides what a module does not offer (never a broken button).
Like the lifecycle, the methods take a ServiceRef and small dataclasses, and raise ModuleError (permanent for
a refusal that a person must fix: a taken address, a weak password, a full domain); a refusal the module
recognises is a MailboxError whose `reason` lets the client area say it in a customer's words next to the
right field. Addresses are full e-mail addresses in the service's domain, lower-case. Sizes are MB (MiB).

Single sign-on of a mailbox goes through the module's `sso_url(service, target=…, user=<address>)` with a
target from `mailbox_sso_targets` (SsoTarget.WEBMAIL, MAILBOX_CONTROL_PANEL).
"""
import re
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from decimal import Decimal

from provisioning.modules.base import ModuleError, ServiceRef

# The SSO target of a mailbox's own settings panel (vacation messages, spam quarantine, rules): `user` is the
# mailbox address. Webmail is SsoTarget.WEBMAIL.
MAILBOX_CONTROL_PANEL = "mailbox_control_panel"


class Reason:
    """Why a provider refused (MailboxError.reason): the client area words each one for customers."""

    TAKEN = "taken"  # the address (or list, alias, domain alias) exists already
    INVALID_NAME = "invalid_name"
    INVALID = "invalid"  # another value the provider refused (its message says which)
    PASSWORD = "password"  # the provider's password policy refused it
    QUOTA = "quota"  # the quota asked for does not fit (domain or account limit)
    NOT_FOUND = "not_found"  # gone on the provider (removed elsewhere)
    LIMIT = "limit"  # the provider's own count limit (mailboxes, aliases, lists)
    VERIFICATION = "verification"  # the domain's ownership must be verified first
    UNSUPPORTED = "unsupported"  # the provider cannot do this


# The words providers use for refusals, by what they mean: for APIs without error codes (PolarisMail), and for
# errors a module did not classify. The first pattern that matches wins.
REASON_WORDS = (
    (re.compile(r"verif", re.I), Reason.VERIFICATION),
    (re.compile(r"already exists|not available|in use|NAME_IN_USE", re.I), Reason.TAKEN),
    (re.compile(r"does not exist|not found|no such|there is no|unknown (user|domain|alias|list)", re.I),
     Reason.NOT_FOUND),
    (re.compile(r"password", re.I), Reason.PASSWORD),
    (re.compile(r"quota", re.I), Reason.QUOTA),
    (re.compile(r"INVALID_NAME|invalid (user ?name|alias name|list name|domain name|name)", re.I), Reason.INVALID_NAME),
    (re.compile(r"\blimit\b", re.I), Reason.LIMIT),
)


def reason_from_words(message):
    """The Reason a refusal's words suggest, or ""."""
    return next((reason for pattern, reason in REASON_WORDS if pattern.search(message)), "")


class MailboxError(ModuleError):
    """A refusal the module recognised; `reason` is one of Reason's values."""

    def __init__(self, message, *, reason, permanent=True):
        super().__init__(message, permanent=permanent)
        self.reason = reason


@dataclass(frozen=True)
class Mailbox:
    address: str
    name: str = ""
    quota_mb: int | None = None  # None: no limit of its own
    used_mb: Decimal | None = None  # None: the provider does not report it
    enabled: bool = True
    is_admin: bool = False  # administers the domain
    type: str = ""  # the provider's mailbox type or plan, where it has one (billing counts mailboxes by it)


@dataclass(frozen=True)
class NewMailbox:
    address: str
    password: str = field(repr=False)
    name: str = ""
    quota_mb: int | None = None  # None: the domain's default mailbox quota
    type: str = ""  # one of the module's `mailbox_types`; "" = the provider's default


@dataclass(frozen=True)
class MailboxChanges:
    """What to change on a mailbox; None leaves that field as it is."""

    name: str | None = None
    password: str | None = field(default=None, repr=False)
    quota_mb: int | None = None
    enabled: bool | None = None
    type: str | None = None  # one of the module's `mailbox_types`


@dataclass(frozen=True)
class Alias:
    """An address that delivers to other addresses (several targets: a simple distribution list)."""

    address: str
    targets: tuple[str, ...]
    enabled: bool = True


@dataclass(frozen=True)
class Forward:
    """A mailbox's forwarding: mail to `address` also (or only) goes to `targets`; no targets = no forward."""

    address: str
    targets: tuple[str, ...] = ()
    keep_copy: bool = True


@dataclass(frozen=True)
class DistributionList:
    """A list address whose mail goes to each member. `members` is None when a listing did not load them."""

    address: str
    members: tuple[str, ...] | None = None
    name: str = ""


@dataclass(frozen=True)
class Dkim:
    """The domain's DKIM signing as the provider reports it. `status`: one of the Dkim.* constants.
    `host`/`record` are the TXT record to publish (name and value). A provider that first wants proof that the
    customer owns the domain says so with status UNVERIFIED and the TXT record of that proof."""

    DISABLED = "disabled"
    PENDING = "pending"  # a key exists, signing waits for the DNS record (or the provider's check)
    ACTIVE = "active"
    UNVERIFIED = "unverified"

    status: str = DISABLED
    host: str = ""
    record: str = ""
    verification_host: str = ""
    verification_record: str = ""
    message: str = ""  # the provider's own note, if any

    @property
    def enabled(self):
        return self.status in (self.PENDING, self.ACTIVE)


@dataclass(frozen=True)
class Branding:
    """How the webmail login page looks for the domain."""

    brand_name: str = ""
    support_email: str = ""
    color: str = ""  # "#1a5fb4"; "" = the provider's
    logo_url: str = ""  # where the provider serves the current logo, when it says
    has_logo: bool = False
    is_default: bool = True  # nothing customised


@dataclass(frozen=True)
class BrandingChanges:
    brand_name: str
    support_email: str
    color: str  # "#rrggbb" or ""
    logo: bytes | None = field(default=None, repr=False)  # a new logo (PNG, JPEG or GIF); None keeps the current
    logo_type: str = ""  # its MIME type


class MailboxManagement(ABC):
    # What the module offers beyond mailboxes (the client area shows only these).
    supports_aliases = True
    supports_forwards = True
    supports_mailbox_enable = True  # a mailbox can be switched off and on
    supports_forward_without_copy = False  # a forward may leave no copy in the mailbox
    supports_distribution_lists = False
    supports_dkim = False
    supports_branding = False
    supports_domain_aliases = False
    mailbox_types: tuple = ()  # the provider's own mailbox types (e.g. basic, enhanced); () = none
    mailbox_sso_targets: frozenset = frozenset()  # SsoTarget.WEBMAIL and/or MAILBOX_CONTROL_PANEL
    alias_max_targets: int | None = None  # most targets of one alias; None = no limit

    @abstractmethod
    def list_mailboxes(self, service: ServiceRef) -> list[Mailbox]: ...

    @abstractmethod
    def create_mailbox(self, service: ServiceRef, mailbox: NewMailbox) -> Mailbox: ...

    @abstractmethod
    def update_mailbox(self, service: ServiceRef, address: str, changes: MailboxChanges) -> Mailbox: ...

    @abstractmethod
    def delete_mailbox(self, service: ServiceRef, address: str, *, delete_data: bool = True) -> None:
        """Deleting a mailbox that is already gone succeeds."""

    @abstractmethod
    def list_aliases(self, service: ServiceRef) -> list[Alias]: ...

    @abstractmethod
    def create_alias(self, service: ServiceRef, alias: Alias) -> Alias: ...

    @abstractmethod
    def update_alias(self, service: ServiceRef, alias: Alias) -> Alias:
        """Replace the alias's targets and enabled flag."""

    @abstractmethod
    def delete_alias(self, service: ServiceRef, address: str) -> None:
        """Deleting an alias that is already gone succeeds."""

    @abstractmethod
    def get_forward(self, service: ServiceRef, address: str) -> Forward: ...

    @abstractmethod
    def set_forward(self, service: ServiceRef, forward: Forward) -> Forward:
        """Set (or, with no targets, remove) a mailbox's forward."""

    def list_forwards(self, service: ServiceRef) -> list[Forward]:
        """Every mailbox's forward (those without one too). One call per mailbox unless a module does better."""
        return [self.get_forward(service, mailbox.address) for mailbox in self.list_mailboxes(service)]

    # --- distribution lists (supports_distribution_lists) ----------------------------------------------------

    def list_distribution_lists(self, service: ServiceRef) -> list[DistributionList]:
        raise self._unsupported("distribution lists")

    def get_distribution_list(self, service: ServiceRef, address: str) -> DistributionList:
        """The list with its members; MailboxError(NOT_FOUND) when there is none."""
        raise self._unsupported("distribution lists")

    def create_distribution_list(self, service: ServiceRef, distribution_list: DistributionList) -> DistributionList:
        """Make the list with its first members: all of it, or nothing."""
        raise self._unsupported("distribution lists")

    def delete_distribution_list(self, service: ServiceRef, address: str) -> None:
        """Deleting a list that is already gone succeeds."""
        raise self._unsupported("distribution lists")

    def add_list_member(self, service: ServiceRef, address: str, member: str) -> None:
        raise self._unsupported("distribution lists")

    def remove_list_member(self, service: ServiceRef, address: str, member: str) -> None:
        """Removing a member that is not on the list succeeds."""
        raise self._unsupported("distribution lists")

    # --- DKIM (supports_dkim) --------------------------------------------------------------------------------

    def get_dkim(self, service: ServiceRef) -> Dkim:
        raise self._unsupported("DKIM")

    def enable_dkim(self, service: ServiceRef, *, key_size: int = 2048) -> Dkim:
        """Turn signing on (making a key of `key_size` bits where the provider lets the caller choose)."""
        raise self._unsupported("DKIM")

    def disable_dkim(self, service: ServiceRef) -> Dkim:
        raise self._unsupported("DKIM")

    # --- webmail branding (supports_branding) ------------------------------------------------------------------

    def get_branding(self, service: ServiceRef) -> Branding:
        raise self._unsupported("webmail branding")

    def set_branding(self, service: ServiceRef, changes: BrandingChanges) -> Branding:
        raise self._unsupported("webmail branding")

    def reset_branding(self, service: ServiceRef) -> Branding:
        raise self._unsupported("webmail branding")

    # --- domain aliases (supports_domain_aliases) ------------------------------------------------------------

    def list_domain_aliases(self, service: ServiceRef) -> list[str]:
        raise self._unsupported("domain aliases")

    def add_domain_alias(self, service: ServiceRef, name: str) -> None:
        raise self._unsupported("domain aliases")

    def remove_domain_alias(self, service: ServiceRef, name: str) -> None:
        """Removing a domain alias that is already gone succeeds."""
        raise self._unsupported("domain aliases")

    def _unsupported(self, what):
        label = getattr(self, "label", "") or type(self).__name__
        return MailboxError(f"The {label} module does not manage {what}.", reason=Reason.UNSUPPORTED)


def address_in_domain(address: str, domain: str) -> str:
    """The address, lower-case, after checking that it is a plain address in the service's domain."""
    address = (address or "").strip().lower()
    local, _, in_domain = address.rpartition("@")
    if not local or in_domain != domain.lower() or any(char.isspace() for char in address):
        raise ModuleError(f"{address!r} is not an address in the domain {domain}.", permanent=True)
    return address
