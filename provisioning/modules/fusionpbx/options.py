"""FusionPBX product options and server settings (docs/voip-providers.md §3)."""
from provisioning.modules.voip_common import TIMEOUT_SETTINGS
from provisioning.options import BoolOption, OptionSchema, TextOption
from provisioning.voip_services import NUMBER_OPTIONS

GATEWAY, EXTENSION = "gateway", "extension"
SUSPEND_MODES = (GATEWAY, EXTENSION)

PRODUCT_OPTIONS = OptionSchema(
    TextOption("auto_suspend_mode", "Auto Suspend Mode", default=GATEWAY, choices=SUSPEND_MODES, required=True,
               help="gateway: disable the tenant's SIP gateway, blocking every call of the domain. extension: disable "
                    "only the extensions assigned to the service; the gateway stays up (domains shared by several "
                    "clients). Changing it while services are suspended is safe: each is unsuspended the way it was "
                    "suspended."),
    *NUMBER_OPTIONS,
    BoolOption("create_extensions", "Create missing extensions", default=False,
               help="Yes: Create adds the service's extensions that do not exist in the domain yet. No: Create "
                    "refuses until they exist."),
)

SERVER_SETTINGS = OptionSchema(
    TextOption("api_path", "REST API path", default="/app/rest_api/rest.php", required=True, max_length=200,
               help="Path of the REST add-on's endpoint under the server's address."),
    TextOption("portal_app", "Portal app name", default="portal_billing", required=True, max_length=60,
               help="Name of the portal's FusionPBX app (gateway and extension switches, call records), sent as "
                    "\"app\" to the REST add-on."),
    TextOption("test_domain", "Test domain", default="", check="hostname",
               help="A domain Test connection looks up. Blank = check the API key only."),
    *TIMEOUT_SETTINGS,
)
