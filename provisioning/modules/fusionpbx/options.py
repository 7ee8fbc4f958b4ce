"""FusionPBX product options and server settings (docs/voip-providers.md §3)."""
from provisioning.modules.fusionpbx.eventsocket import DEFAULT_PORT
from provisioning.modules.fusionpbx.switch import CACHE_METHODS
from provisioning.modules.voip_common import TIMEOUT_SETTINGS
from provisioning.options import BoolOption, IntOption, OptionSchema, SecretOption, TextOption
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
               help="Path of the REST add-on's endpoint under the server's address (Create and Test connection)."),
    TextOption("test_domain", "Test domain", default="", check="hostname",
               help="A domain Test connection looks up. Blank = check the API key only."),
    SecretOption("database_url", "FusionPBX database URL", default="", check="database_url", max_length=500,
                 help="FusionPBX's PostgreSQL database, e.g. postgres://portal:secret@pbx.example:5432/fusionpbx, "
                      "for suspension, termination and call records (stored encrypted)."),
    TextOption("event_socket_host", "Event socket host", default="", check="hostname",
               help="FreeSWITCH's event socket, told after each change. Blank = the server's host name."),
    IntOption("event_socket_port", "Event socket port", default=DEFAULT_PORT, min_value=1, max_value=65535),
    SecretOption("event_socket_password", "Event socket password", default="", max_length=200,
                 help="event_socket.conf.xml's password (stored encrypted). Blank = FreeSWITCH's default, ClueCon."),
    TextOption("cache_method", "FusionPBX cache method", default="file", choices=CACHE_METHODS, required=True,
               help="As FusionPBX's Default Settings › cache › method: file (the default) or memcache; none if "
                    "it caches nothing. Says how the portal clears FusionPBX's cache after a change."),
    *TIMEOUT_SETTINGS,
    retired=("portal_app",),  # the never-written PHP app of earlier versions (docs/decisions.md)
)
