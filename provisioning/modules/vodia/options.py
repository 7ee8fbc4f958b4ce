"""Vodia product options and server settings (docs/voip-providers.md §3)."""
from provisioning.modules.base import DELETE_DATA_OPTION
from provisioning.modules.voip_common import TIMEOUT_SETTINGS
from provisioning.options import BoolOption, OptionSchema
from provisioning.voip_services import NUMBER_OPTIONS

PRODUCT_OPTIONS = OptionSchema(
    *NUMBER_OPTIONS,
    BoolOption(DELETE_DATA_OPTION, "Delete the tenant on termination", default=False,
               help="Yes: Terminate deletes the tenant from the PBX, with its accounts and settings. No: its "
                    "extensions are disabled and the tenant is kept."),
)

SERVER_SETTINGS = OptionSchema(*TIMEOUT_SETTINGS)
