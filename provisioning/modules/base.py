"""The contract between the portal and a provisioning module, kept small on purpose (like Django's e-mail
backends). Modules take and return small dataclasses, never model instances, and raise ModuleError."""
from abc import ABC, abstractmethod
from dataclasses import dataclass, field


class ModuleError(Exception):
    """A provider refused or failed. `permanent` errors need a person; temporary ones are retried."""

    def __init__(self, message, *, permanent=False):
        super().__init__(message)
        self.message = message
        self.permanent = permanent


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
    config_options: dict = field(default_factory=dict)
    module_data: dict = field(default_factory=dict)
    suspend_mode: str = ""
    server: ServerRef | None = None


@dataclass
class ActionResult:
    """What a successful action reports: a message for the log and module data to keep on the service."""

    message: str = ""
    module_data: dict = field(default_factory=dict)
    suspend_mode: str = ""


class ProvisioningModule(ABC):
    key: str = ""
    label: str = ""
    supports_sso = False
    supports_usage = False
    supports_mailboxes = False
    supports_cdrs = False
    product_options_schema: dict = {}
    server_settings_schema: dict = {}

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
