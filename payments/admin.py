"""Staff pages of payments (each topic registers its own: see the modules imported here)."""
from payments import admin_bank  # noqa: F401  (bank transfer: statements and their lines)
from payments import admin_gateways  # noqa: F401  (registers the gateway pages)
