"""What the VoIP modules (FusionPBX, Vodia, LesNet) share: server timeouts, HTTP Basic auth, the service's
identifiers (provisioning/voip_services.py) and the server a service must have."""
import base64

from provisioning.http import ProviderHTTP
from provisioning.modules.base import ActionResult, ModuleError, ProvisioningModule
from provisioning.options import IntOption
from provisioning.voip_services import VoipIdentifiers

TIMEOUT_SETTINGS = (
    IntOption("connect_timeout", "Connect timeout (s)", default=5, min_value=1, max_value=60,
              help="How long to wait for the TCP connection."),
    IntOption("read_timeout", "Read timeout (s)", default=30, min_value=1, max_value=600,
              help="How long to wait for an answer before the call counts as failed (and is retried later)."),
)


class ProviderError(ModuleError):
    """An error answer of a provider; `status` is its HTTP status."""

    def __init__(self, message, *, status, permanent=True):
        super().__init__(message, permanent=permanent)
        self.status = status


def basic_auth(username, password):
    """The Authorization header of HTTP Basic (the header is never logged; ProviderHTTP logs bodies only)."""
    token = base64.b64encode(f"{username}:{password}".encode()).decode("ascii")
    return {"Authorization": f"Basic {token}"}


def provider_http(base_url, settings, *, verify=True, raise_for_5xx=True):
    return ProviderHTTP(base_url, verify=verify, connect_timeout=settings["connect_timeout"],
                        read_timeout=settings["read_timeout"], raise_for_5xx=raise_for_5xx)


def decoded_json(response, where):
    """The JSON of an answer, or a temporary ModuleError saying the answer was not JSON."""
    try:
        return response.json()
    except ValueError:
        raise ModuleError(f"{where} answered {response.status_code} with something that is not JSON "
                          f"({(response.text or '').strip()[:120]!r}): is this the right address?") from None


class VoipModule(ProvisioningModule):
    """Base of the VoIP modules: `kind` is the voip_services kind (the module key)."""

    def identifiers(self, service):
        return VoipIdentifiers.from_module_data(self.key, service.module_data)

    def require(self, service, value, what):
        """A required identifier, or a permanent error saying where to set it."""
        if not value:
            raise ModuleError(f"{service.domain} has no {what}. Set it in the VoIP service section of the service "
                              "page (or paste the legacy line), then try again.", permanent=True)
        return value

    def change_password(self, service, *, new_password):
        raise ModuleError(f"The {self.label} module cannot change passwords: {self.password_advice}", permanent=True)

    password_advice = "change them on the PBX."

    # The portal rates the calls and enforces a VoIP plan's limits (rates, credit, channels) itself, so a
    # product or option change needs no provider call: success without touching the PBX or carrier.
    CHANGE_PACKAGE_MESSAGE = "Nothing to change on the provider: rates and limits are applied by the portal."

    def change_package(self, service):
        return ActionResult(message=self.CHANGE_PACKAGE_MESSAGE)
