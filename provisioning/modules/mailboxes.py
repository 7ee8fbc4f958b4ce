"""The mailbox capability: what a mail module offers for managing one service's (domain's) mailboxes, aliases
and forwards, so that the mail client area and the staff pages work the same over every provider.

A module with `supports_mailboxes = True` also inherits MailboxManagement and implements its methods. Like the
lifecycle, they take a ServiceRef and small dataclasses, and raise ModuleError (permanent for a refusal that a
person must fix: a taken address, a weak password, a full domain). Addresses are full e-mail addresses in the
service's domain, lower-case. Sizes are MB (MiB).
"""
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from decimal import Decimal

from provisioning.modules.base import ModuleError, ServiceRef


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


@dataclass(frozen=True)
class MailboxChanges:
    """What to change on a mailbox; None leaves that field as it is."""

    name: str | None = None
    password: str | None = field(default=None, repr=False)
    quota_mb: int | None = None
    enabled: bool | None = None


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


class MailboxManagement(ABC):
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


def address_in_domain(address: str, domain: str) -> str:
    """The address, lower-case, after checking that it is a plain address in the service's domain."""
    address = (address or "").strip().lower()
    local, _, in_domain = address.rpartition("@")
    if not local or in_domain != domain.lower() or any(char.isspace() for char in address):
        raise ModuleError(f"{address!r} is not an address in the domain {domain}.", permanent=True)
    return address
