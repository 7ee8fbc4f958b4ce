"""What the VoIP modules (FusionPBX, Vodia, LesNet) share: server timeouts, HTTP Basic auth, the service's
identifiers (provisioning/voip_services.py) and the server a service must have."""
import base64

from provisioning.http import ProviderHTTP
from provisioning.modules.base import ActionResult, ModuleError, ModuleRefusal, ProvisioningModule
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
    """Base of the VoIP modules: `kind` is the voip_services kind (the module key). Each names what identifies a
    service at its provider and how a legacy pipe line (seed 002, docs/voip-providers.md §2) reads; the portal's
    VoIP service section, `manage.py import_voip_lines` and provisioning/voip_services.py ask the module."""

    # The module_data keys, in the order forms show them (docs/voip-providers.md §1).
    identifier_keys: tuple = ()
    # The key a legacy line's first part fills: "tenant" (a domain name) or "peer_id" (voip_services.PRIMARY_CHECKS).
    primary_identifier = "tenant"
    # A legacy line of this kind, shown as the example in the staff form.
    legacy_line_example = ""
    # What a legacy line's part after the first may be, for the error naming a part that is none of them.
    legacy_line_parts = "a DID"

    def legacy_line_part(self, item, normaliser, *, last):
        """The key a legacy line's part that is not a DID fills (a list key appends, any other is set), or None
        when it is not valid here. `last`: it is the line's last part."""
        return None

    def check_legacy_line(self, values):
        """Refuse a legacy line whose parts are each valid but together not enough (IdentifierError on "line");
        `values` as parsed: {key: value, "dids": [...], "extensions": [...]}."""

    def identifiers(self, service):
        return VoipIdentifiers.from_module_data(self.key, service.module_data)

    def require(self, service, value, what):
        """A required identifier, or a permanent error saying where to set it."""
        if not value:
            raise ModuleRefusal(f"{service.domain} has no {what}. Set it in the VoIP service section of the service "
                                "page (or paste the legacy line), then try again.")
        return value

    def change_password(self, service, *, new_password):
        raise ModuleRefusal(f"The {self.label} module cannot change passwords: {self.password_advice}")

    password_advice = "change them on the PBX."

    # The portal rates the calls and enforces a VoIP plan's limits (rates, credit, channels) itself, so a
    # product or option change needs no provider call: success without touching the PBX or carrier.
    CHANGE_PACKAGE_MESSAGE = "Nothing to change on the provider: rates and limits are applied by the portal."

    def change_package(self, service):
        return ActionResult(message=self.CHANGE_PACKAGE_MESSAGE)
