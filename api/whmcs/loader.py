"""Import every category module once, so that each registers its actions."""
from importlib import import_module

from api.whmcs.registry import ACTIONS

MODULES = ("clients", "orders", "products", "services", "billing", "system", "sso", "users", "servers", "unsupported")
_loaded = False


def load_actions():
    global _loaded
    if not _loaded:
        for name in MODULES:
            import_module(f"api.whmcs.{name}")
        _loaded = True

    return ACTIONS
