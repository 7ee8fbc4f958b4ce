"""The Vodia module (seed 002; shared/providers/vodia.md; docs/voip-providers.md §4.3, §5.2).

The reseller provisions the tenant: Create checks that it exists (and that a numeric search string is one of its
accounts). Vodia has no tenant "disabled" flag, so suspension disables every enabled extension of the tenant
and records which; unsuspension re-enables exactly those. Terminate deletes the tenant only when the product
says so, else disables its extensions. Call records are pushed by the PBX (supports_cdrs is False): the push
endpoint reads them with `provisioning.modules.vodia.cdrs.parse_pushed_cdrs`.
"""
from provisioning.modules.base import ActionResult, ModuleError
from provisioning.modules.vodia.client import NotFound, VodiaClient
from provisioning.modules.vodia.options import PRODUCT_OPTIONS, SERVER_SETTINGS
from provisioning.modules.voip_common import VoipModule
from provisioning.voip_services import is_search_string

MODE = "extensions"
SUSPENSION = "vodia_suspension"
EXTENSION_TYPES = ("extensions", "extension")


class VodiaModule(VoipModule):
    key = "vodia"
    hosts_domain_once = True
    label = "Vodia"
    identifier_keys = ("tenant", "dids", "search_string")
    legacy_line_example = "rucken.wat1.ictvoip.ca | 5484815577 | 5197830020 | 8300"
    legacy_line_parts = "a DID (only the last part may be the extension or first name to search)"

    def legacy_line_part(self, item, normaliser, *, last):
        return "search_string" if last and is_search_string(item, normaliser) else None
    product_options_schema = PRODUCT_OPTIONS
    server_settings_schema = SERVER_SETTINGS
    password_advice = "set extension passwords in the Vodia tenant (user_settings), not through the portal."

    def create(self, service):
        ids = self.identifiers(service)
        tenant = self.require(service, ids.tenant, "Vodia tenant")
        client = self._client(service)
        if tenant not in _names(client.call("GET", "/rest/system/domains")):
            raise ModuleError(
                f"The tenant {tenant} does not exist on the Vodia PBX {client.server.hostname}. The reseller creates "
                "the tenant in Vodia first; or correct the service's tenant.", permanent=True)
        message = f"Found the tenant {tenant} on {client.server.hostname}"
        if ids.search_string.isdigit():
            accounts = {account for account, _ in self._extensions(client, tenant)}
            if ids.search_string not in accounts:
                raise ModuleError(
                    f"The inbound search string {ids.search_string} is not an extension of the Vodia tenant {tenant}. "
                    "Add the extension in Vodia, or correct the service's search string.", permanent=True)
            message += f" with the extension {ids.search_string}"
        return ActionResult(message=message + ".")

    def suspend(self, service, *, reason, mode=""):
        client, tenant = self._tenant(service)
        switched, extensions = self._disable_all(client, tenant)
        message = f"Disabled {len(switched)} extension(s) of {tenant}"
        if not switched:
            message += " (all were already disabled)"
        return ActionResult(message=message + ".", suspend_mode=MODE,
                            module_data={SUSPENSION: {"extensions": switched or extensions}})

    def unsuspend(self, service):
        client, tenant = self._tenant(service)
        record = service.module_data.get(SUSPENSION) or {}
        if record.get("extensions"):
            wanted = list(record["extensions"])
            how = "the extensions the suspension disabled"
        else:
            wanted = [account for account, disabled in self._extensions(client, tenant) if disabled]
            how = "no record of the suspension, so every disabled extension"
        enabled, gone = [], []
        for account in wanted:
            try:
                client.call("PUT", client.tenant_path(tenant, "user_settings", account), {"disabled": "false"})
                enabled.append(account)
            except NotFound:
                gone.append(account)
        message = f"Enabled {how} of {tenant} again: {', '.join(enabled) or '(none)'}"
        if gone:
            message += f"; {', '.join(gone)} no longer exist"
        return ActionResult(message=message + ".", module_data={SUSPENSION: None})

    def terminate(self, service, *, delete_data):
        client, tenant = self._tenant(service)
        if delete_data:
            try:
                client.call("DELETE", f"/rest/system/domains/{tenant}")
            except NotFound:
                return ActionResult(message=f"The tenant {tenant} was already gone from {client.server.hostname}.")
            return ActionResult(message=f"Deleted the tenant {tenant} from {client.server.hostname}.")
        try:
            switched, extensions = self._disable_all(client, tenant, required=False)
        except NotFound:
            return ActionResult(message=f"The tenant {tenant} was already gone from {client.server.hostname}.")
        return ActionResult(
            message=f"Disabled the {len(extensions)} extension(s) of {tenant}; the tenant is kept "
                    "(delete_data_on_terminate is off).",
            module_data={SUSPENSION: {"extensions": switched or extensions}})

    def test_connection(self, server):
        client = VodiaClient(server, self.server_settings(server))
        client.call("GET", "/rest/system/session")
        tenants = _names(client.call("GET", "/rest/system/domains"))
        return ActionResult(message=f"Connected to Vodia at {server.base_url} as {server.username}; "
                                    f"{len(tenants)} tenant(s).")

    # --- helpers -------------------------------------------------------------------------------------------

    def _client(self, service):
        server = self.require_server(service)
        return VodiaClient(server, self.server_settings(server))

    def _tenant(self, service):
        return self._client(service), self.require(service, self.identifiers(service).tenant, "Vodia tenant")

    def _extensions(self, client, tenant):
        """[(account, disabled)] of the tenant's extensions; a missing tenant is a permanent error."""
        try:
            data = client.call("GET", client.tenant_path(tenant, "users"))
        except NotFound:
            raise ModuleError(f"The tenant {tenant} does not exist on the Vodia PBX {client.server.hostname} "
                              "(removed by hand?). Correct the service's tenant, or terminate the service.",
                              permanent=True) from None
        rows = data.get("data", data) if isinstance(data, dict) else data
        if isinstance(rows, dict):
            rows = [{"id": key, **value} if isinstance(value, dict) else {"id": key} for key, value in rows.items()]
        accounts = []
        for row in rows or []:
            if not isinstance(row, dict) or str(row.get("usertype", "extensions")).lower() not in EXTENSION_TYPES:
                continue
            accounts.append((str(row.get("id") or row.get("name")), _true(row.get("disabled"))))
        return accounts

    def _disable_all(self, client, tenant, *, required=True):
        """Disable every enabled extension; returns (accounts switched, all extension accounts)."""
        extensions = self._extensions(client, tenant)
        if not extensions and required:
            raise ModuleError(f"The Vodia tenant {tenant} has no extensions, so there is nothing to disable: "
                              "suspension would not stop any call. Check the tenant in Vodia.", permanent=True)
        switched = []
        for account, disabled in extensions:
            if disabled:
                continue
            try:
                client.call("PUT", client.tenant_path(tenant, "user_settings", account), {"disabled": "true"})
                switched.append(account)
            except NotFound:
                pass  # removed meanwhile: nothing to disable
        return switched, [account for account, _ in extensions]


def _names(data):
    """Tenant names from GET /rest/system/domains: an array, or an object (of names, or keyed by name)."""
    if isinstance(data, dict):
        data = data.get("data", data)
    if isinstance(data, dict):
        values = [v for v in data.values() if isinstance(v, str)]
        data = values or list(data)
    names = set()
    for item in data or []:
        name = item.get("name") if isinstance(item, dict) else item
        if name:
            names.add(str(name).lower())
    return names


def _true(value):
    return str(value).strip().lower() in ("true", "1", "yes", "on")
