"""The contract between the portal and a provisioning module, kept small on purpose (like Django's e-mail
backends). Modules take and return small dataclasses, never model instances, and raise ModuleError."""
from abc import ABC, abstractmethod
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from billing.hooks import ProviderError
from provisioning.options import OptionSchema, OptionsError

# The product option that says whether Terminate deletes the provider's data (SmarterMail's option 8). The
# lifecycle reads it; every module with data to keep names its option so.
DELETE_DATA_OPTION = "delete_data_on_terminate"


class ModuleError(ProviderError):
    """A provider refused or failed. `permanent` errors need a person; temporary ones are retried. A
    billing.hooks.ProviderError, so billing tells it apart without importing provisioning."""


class ModuleRefusal(ModuleError):
    """The module refuses without asking the provider: it cannot do this at all (no password changes, no SSO),
    or the portal's own settings for it are incomplete (no server, invalid options, a missing identifier).
    Always permanent; the REST API answers 409, not 502, because no provider failed."""

    def __init__(self, message):
        super().__init__(message, permanent=True)


@dataclass(frozen=True)
class ServerRef:
    id: int
    hostname: str
    base_url: str
    username: str = ""
    password: str = field(default="", repr=False)
    api_token: str = field(default="", repr=False)
    verify_tls: bool = True
    settings: dict = field(default_factory=dict)


@dataclass(frozen=True)
class ServiceRef:
    id: int
    domain: str
    username: str = ""
    password: str = field(default="", repr=False)
    product_options: dict = field(default_factory=dict)
    # The service's configurable options as {option code: quantity or choice code} (billing's
    # service_option_values), e.g. {"mailboxes_basic": 5}. Filled for Create and Change package only.
    config_options: dict = field(default_factory=dict)
    module_data: dict = field(default_factory=dict)
    suspend_mode: str = ""
    server: ServerRef | None = None


@dataclass(frozen=True)
class CdrSourceRef:
    """A place call records come from (voip.CdrSource), for `fetch_cdrs`. `kind`: "fusionpbx", "vodia",
    "lesnet" or "file". `server`: the PBX/carrier server, when the source belongs to one; `url` and the
    credentials are the source's own (they override the server's when set). `column_mapping`: LesNet's CSV
    column names by field. `time_zone`: IANA name of timestamps written without an offset. `options`: anything
    else the kind needs, as staff set it on the source, plus `services`: the VoIP services on `server` as
    `[{"id": service id, "domain": …, "module_data": {…}}]`, for modules that fetch per tenant or peer (a
    LesNet peer's file URL and DIDs, a FusionPBX tenant's domain) — the portal matches the records to services
    itself afterwards."""

    id: int
    kind: str
    server: ServerRef | None = None
    url: str = ""
    username: str = ""
    password: str = field(default="", repr=False)
    token: str = field(default="", repr=False)
    column_mapping: dict = field(default_factory=dict)
    time_zone: str = "UTC"
    options: dict = field(default_factory=dict)


@dataclass
class ActionResult:
    """What a successful action reports: a message for the log and module data to keep on the service.
    Create may also report the login it made (`username`, and `password` when it generated one); the
    lifecycle stores them on the service (the password encrypted)."""

    message: str = ""
    module_data: dict = field(default_factory=dict)
    suspend_mode: str = ""
    username: str = ""
    password: str = field(default="", repr=False)


@dataclass(frozen=True)
class Usage:
    """One domain's usage as the provider reports it. Disk figures are MB (MiB: 1,048,576 bytes)."""

    disk_mb: Decimal
    disk_limit_mb: Decimal | None = None  # None: unlimited or not reported


class SsoTarget:
    """Where a single sign-on URL lands (the `target` of `sso_url`)."""

    DOMAIN_ADMIN = "domain_admin"  # the domain's management UI as its administrator
    WEBMAIL = "webmail"  # a mailbox's webmail (`user` = the mailbox address)
    CONTROL_PANEL = "control_panel"  # a tenant's control panel (PBX modules)


class ProvisioningModule(ABC):
    key: str = ""
    label: str = ""
    supports_sso = False
    supports_usage = False
    supports_mailboxes = False
    supports_cdrs = False
    # True where the provider keeps one account per domain name (a mail server's domain, a PBX tenant): a second
    # service for a domain that already has a live one on this module cannot be created there, so orders for it
    # are refused up front (the WHMCS API asks this; products without such a module allow it, as WHMCS does).
    hosts_domain_once = False
    # A VoIP module names the module_data keys that identify a service at its provider (docs/voip-providers.md
    # §1); provisioning.voip_services treats a module that names them as a VoIP kind (see voip_common.VoipModule).
    identifier_keys: tuple = ()
    # Typed product options (Product.module_options) and server settings (Server.settings); see options.py.
    product_options_schema = OptionSchema()
    server_settings_schema = OptionSchema()

    @abstractmethod
    def create(self, service: ServiceRef) -> ActionResult: ...

    @abstractmethod
    def suspend(self, service: ServiceRef, *, reason: str, mode: str = "") -> ActionResult: ...

    @abstractmethod
    def unsuspend(self, service: ServiceRef) -> ActionResult: ...

    @abstractmethod
    def terminate(self, service: ServiceRef, *, delete_data: bool) -> ActionResult: ...

    @abstractmethod
    def change_password(self, service: ServiceRef, *, new_password: str) -> ActionResult: ...

    @abstractmethod
    def test_connection(self, server: ServerRef) -> ActionResult: ...

    def change_package(self, service: ServiceRef) -> ActionResult:
        """Bring the provider's limits and settings in line with the service's (new) product options and
        configurable options, after an upgrade/downgrade or a staff change of the product (WHMCS's
        ChangePackage). Only what Create derives from the options is changed; mailboxes and data stay. Must be
        idempotent: the lifecycle retries it. A module with nothing to change on the provider says so."""
        raise ModuleRefusal(f"The {self.label} module cannot change a service's package on the provider.")

    # Optional capabilities: a module that sets the flag implements the method.

    def usage(self, server: ServerRef) -> dict[str, Usage]:
        """Every domain on the server with its usage, keyed by lower-case domain: one bulk call where the API
        allows (WHMCS's UsageUpdate). Needs `supports_usage`."""
        raise ModuleRefusal(f"The {self.label} module cannot read usage.")

    def sso_url(self, service: ServiceRef, *, target: str = SsoTarget.DOMAIN_ADMIN, user: str = "") -> str:
        """A short-lived login URL from the provider for `target` (see SsoTarget); the browser is sent there
        at once and it is never stored. Needs `supports_sso`."""
        raise ModuleRefusal(f"The {self.label} module has no single sign-on.")

    def fetch_cdrs(self, source: CdrSourceRef, since: datetime | None) -> Iterable:
        """The source's call records from `since` (aware UTC; None: all the provider keeps), as CdrRecord or
        CdrError items (provisioning.telephony.cdrs) in any order; a bad record is a CdrError with its line/position and
        reason, never an exception. Records must carry a stable `external_id` (re-fetching is harmless: the
        import skips known ids) and, where the provider names one, the tenant/account in `account` (the import
        matches CDRs to services by it and by the numbers; see docs/voip.md). Needs `supports_cdrs`."""
        raise ModuleRefusal(f"The {self.label} module cannot fetch call records.")

    def require_server(self, service: ServiceRef) -> ServerRef:
        """The service's server, or a permanent error saying how to give it one."""
        if service.server is None:
            raise ModuleRefusal(f"{service.domain} has no {self.label} server. Choose one on the service page, or give "
                              "the product a server group.")
        return service.server

    def product_options(self, service: ServiceRef) -> dict:
        """The service's product options as Python values with defaults, validated against the schema; a bad
        stored value is a permanent error that names the option (someone must fix the product)."""
        return _resolve(self.product_options_schema, service.product_options, "product's module options", "product")

    def server_settings(self, server: ServerRef) -> dict:
        """The server's module settings as Python values with defaults (see `product_options`)."""
        return _resolve(self.server_settings_schema, server.settings, "server's module settings", "server")


MAILBOX_OPTION_PREFIX = "mailboxes_"  # billing.pricing's per-type mailbox quantity options (seed 003)
LEGACY_MAILBOX_OPTION = "mailboxes"  # the older quantity option: a number of mailboxes of one type


def planned_mailboxes(config_options):
    """The mailboxes the service's configurable options pay for, as {type code: count} ("" for the older
    one-type `mailboxes` option), or None when the plan has no mailbox options (the product's limit rules)."""
    typed = {
        code.removeprefix(MAILBOX_OPTION_PREFIX): int(value)
        for code, value in config_options.items()
        if code.startswith(MAILBOX_OPTION_PREFIX) and str(value).isdigit()
    }
    if typed:
        return typed
    legacy = config_options.get(LEGACY_MAILBOX_OPTION)
    if legacy is not None and str(legacy).isdigit():
        return {"": int(legacy)}
    return None


def _resolve(schema, stored, what, page):
    try:
        return schema.resolve(stored)
    except OptionsError as exc:
        raise ModuleRefusal(f"The {what} are invalid: {exc} Correct them on the {page} page.") from None
