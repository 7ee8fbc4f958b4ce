"""The WHMCS-compatible API (/includes/api.php): one module per WHMCS API category, each registering its
actions in `registry.ACTIONS`. docs/whmcs-api.md is generated from the registry (api.whmcs.coverage)."""
