"""The FusionPBX module (seed 002; shared/providers/fusionpbx.md; docs/voip-providers.md §4.1–4.2, §5.1).

The reseller provisions the PBX: Create checks that the service's tenant domain and extensions exist (and can
add missing extensions). Suspension follows the product's Auto Suspend Mode — the domain's SIP gateways, or
only the service's extensions — and records what it switched off; unsuspension reverses the mode stored on
the service and exactly what was recorded, never the product's current setting (seed 002's warning).
Terminate disables (nothing can be deleted over the API). Call records come from the portal app's
`xml-cdr-list`, read by the rating core's FusionPBX rules.
"""
from dataclasses import replace

from provisioning.modules.base import ActionResult, ModuleError
from provisioning.modules.fusionpbx.client import FusionPbxClient, FusionPbxError, NotFound, PortalAppMissing
from provisioning.modules.fusionpbx.options import EXTENSION, GATEWAY, PRODUCT_OPTIONS, SERVER_SETTINGS, SUSPEND_MODES
from provisioning.modules.voip_common import VoipModule
from voip.cdr_formats import CdrError, FusionPbxParser

CDR_PAGE = 1000
SUSPENSION = "fusionpbx_suspension"
# The columns the rating core's FusionPBX parser reads from a v_xml_cdr row (tta is derived from the epochs).
PARSER_COLUMNS = ("xml_cdr_uuid", "direction", "caller_id_number", "caller_destination", "destination_number",
                  "billsec", "billmsec", "start_epoch", "tta", "status", "hangup_cause", "leg")
# What a record's `fields` hold (docs/voip-providers.md §5.1).
RECORD_FIELDS = ("xml_cdr_uuid", "domain_name", "extension", "extension_uuid", "direction", "caller_id_number",
                 "caller_destination", "destination_number", "start_epoch", "answer_epoch", "end_epoch", "billsec",
                 "leg", "hangup_cause")


class FusionPbxModule(VoipModule):
    key = "fusionpbx"
    label = "FusionPBX"
    supports_cdrs = True
    product_options_schema = PRODUCT_OPTIONS
    server_settings_schema = SERVER_SETTINGS
    password_advice = ("FusionPBX's REST add-on offers no password change; extension SIP passwords are managed in "
                       "FusionPBX (Accounts › Extensions).")

    # --- lifecycle -----------------------------------------------------------------------------------------

    def create(self, service):
        ids = self.identifiers(service)
        tenant = self.require(service, ids.tenant, "FusionPBX tenant domain")
        client = self._client(self.require_server(service))
        domain = self._domain(client, tenant)
        uuid = domain["domain_uuid"]
        existing = self._extensions(client, uuid)
        missing = [ext for ext in ids.extensions if ext not in existing]
        created = []
        if missing and not self.product_options(service)["create_extensions"]:
            raise ModuleError(
                f"The extension(s) {', '.join(missing)} do not exist in the FusionPBX domain {tenant}. Add them in "
                "FusionPBX, correct the service's extensions, or turn on the product's create_extensions option; "
                "then create again.", permanent=True)
        for ext in missing:
            try:
                existing[ext] = client.call("extension-create", domain_uuid=uuid, extension=ext)["extension_uuid"]
                created.append(ext)
            except FusionPbxError as exc:
                if exc.error != "extension already exists":  # made by an earlier attempt that lost its answer
                    raise
        if any(ext not in existing for ext in ids.extensions):
            existing = self._extensions(client, uuid)
        message = f"Found the tenant {tenant} on {client.server.hostname}"
        if ids.extensions:
            message += f" with the extension(s) {', '.join(ids.extensions)}"
        if created:
            message += f"; created {', '.join(created)}"
        if str(domain.get("domain_enabled", "true")).lower() == "false":
            message += "; note: the domain is disabled in FusionPBX"
        return ActionResult(message=message + ".", module_data={
            "fusionpbx_domain_uuid": uuid,
            "fusionpbx_extension_uuids": {ext: existing[ext] for ext in ids.extensions if ext in existing},
        })

    def suspend(self, service, *, reason, mode=""):
        mode = mode or self.product_options(service)["auto_suspend_mode"]
        if mode not in SUSPEND_MODES:
            raise ModuleError(f"Unknown FusionPBX suspend mode {mode!r}: use gateway or extension.", permanent=True)
        client, uuid = self._tenant(service)
        if mode == GATEWAY:
            gateways = client.app_call("gateway-list", domain_uuid=uuid)
            if not gateways:
                raise ModuleError(
                    f"The FusionPBX domain {self.identifiers(service).tenant} has no gateway, so gateway mode cannot "
                    "suspend it. Use extension mode for this product (Auto Suspend Mode), or add the domain's "
                    "gateway in FusionPBX.", permanent=True)
            switched = self._switch_gateways(client, [g for g in gateways if _enabled(g)], enable=False)[0]
            record = {"mode": GATEWAY, "gateways": switched or [g["gateway_uuid"] for g in gateways], "extensions": []}
            names = ", ".join(g.get("gateway") or g["gateway_uuid"] for g in gateways)
            message = f"Disabled the gateway(s) {names} of {self.identifiers(service).tenant}: all its calls are blocked"
        else:
            extensions = self.require(service, self.identifiers(service).extensions,
                                      "extensions (extension mode suspends the service's extensions)")
            switched, gone = self._switch_extensions(client, uuid, extensions, enable=False)
            if len(gone) == len(extensions):
                raise ModuleError(f"None of the extensions {', '.join(extensions)} exists in the FusionPBX domain "
                                  f"{self.identifiers(service).tenant}: correct the service's extensions.",
                                  permanent=True)
            record = {"mode": EXTENSION, "gateways": [], "extensions": switched or list(extensions)}
            message = f"Disabled the extension(s) {', '.join(extensions)}; the gateway stays up"
        if not switched:
            message += " (they were already disabled)"
        return ActionResult(message=message + ".", suspend_mode=mode, module_data={SUSPENSION: record})

    def unsuspend(self, service):
        record = service.module_data.get(SUSPENSION) or {}
        mode = service.suspend_mode or record.get("mode") or ""
        if mode not in ("", *SUSPEND_MODES):
            raise ModuleError(f"The service was suspended in an unknown mode {mode!r}; re-enable it in FusionPBX by "
                              "hand.", permanent=True)
        client, uuid = self._tenant(service)
        recorded = record if record.get("mode") == mode else {}
        done = []
        if mode in (GATEWAY, ""):
            gateways = client.app_call("gateway-list", domain_uuid=uuid)
            wanted = set(recorded.get("gateways") or [g["gateway_uuid"] for g in gateways])
            present = {g["gateway_uuid"] for g in gateways}
            enabled, _ = self._switch_gateways(
                client, [g for g in gateways if g["gateway_uuid"] in wanted and not _enabled(g)], enable=True)
            done.append(f"enabled the gateway(s) again ({len(enabled)} switched on)")
            if wanted - present:
                done.append(f"{len(wanted - present)} recorded gateway(s) no longer exist")
        if mode in (EXTENSION, ""):
            extensions = recorded.get("extensions") or list(self.identifiers(service).extensions)
            enabled, gone = self._switch_extensions(client, uuid, extensions, enable=True)
            done.append(f"enabled the extension(s) {', '.join(extensions) or '(none)'} again")
            if gone:
                done.append(f"the extension(s) {', '.join(gone)} no longer exist")
        how = {GATEWAY: "gateway mode", EXTENSION: "extension mode",
               "": "no recorded mode, so both gateway and extensions"}[mode]
        return ActionResult(message=f"Unsuspended ({how}): {'; '.join(done)}.", module_data={SUSPENSION: None})

    def terminate(self, service, *, delete_data):
        client, uuid = self._tenant(service)
        ids = self.identifiers(service)
        if ids.extensions:
            gone = self._switch_extensions(client, uuid, ids.extensions, enable=False)[1]
            message = f"Disabled the extension(s) {', '.join(ids.extensions)} of {ids.tenant}"
            if gone:
                message += f" ({', '.join(gone)} no longer existed)"
        else:
            gateways = client.app_call("gateway-list", domain_uuid=uuid)
            self._switch_gateways(client, [g for g in gateways if _enabled(g)], enable=False)
            message = f"Disabled the gateway(s) of {ids.tenant} (the service has no extensions of its own)"
        message += "; nothing was deleted"
        if delete_data:
            message += " (FusionPBX's API cannot delete: remove the extensions or domain in FusionPBX by hand)"
        return ActionResult(message=message + ".")

    def test_connection(self, server):
        settings = self.server_settings(server)
        client = FusionPbxClient(server, settings)
        if settings["test_domain"]:
            domain = self._domain(client, settings["test_domain"])
            message = f"Connected to FusionPBX at {server.base_url}; found {domain.get('domain_name')}"
        else:
            try:
                client.call("domain-details")
            except FusionPbxError as exc:
                if exc.status != 400:
                    raise
            message = f"Connected to FusionPBX at {server.base_url}; the API key is accepted"
        try:
            info = client.app_call("portal-info")
            message += f"; portal app {info.get('app', settings['portal_app'])} version {info.get('version', '?')}"
        except PortalAppMissing:
            message += (f". Warning: the portal app '{settings['portal_app']}' is not installed, so suspension and "
                        "call records will fail (docs/voip-providers.md §4.1)")
        return ActionResult(message=message + ".")

    # --- call records --------------------------------------------------------------------------------------

    def fetch_cdrs(self, source, since):
        if source.server is None:
            raise ModuleError(f"The FusionPBX call-record source {source.id} has no server.", permanent=True)
        server = source.server
        if source.username:
            server = replace(server, username=source.username, password=source.password)
        client = FusionPbxClient(server, self.server_settings(server))
        domains = source.options.get("domains") or []
        uuids = [self._domain(client, name)["domain_uuid"] for name in domains] or [None]
        return self._records(client, uuids, since)

    def _records(self, client, uuids, since):
        parser = FusionPbxParser([",".join(PARSER_COLUMNS)])
        position = 0
        for uuid in uuids:
            params = {"limit": CDR_PAGE}
            if since is not None:
                params["since_epoch"] = int(since.timestamp())
            if uuid is not None:
                params["domain_uuid"] = uuid
            while True:
                data = client.app_call("xml-cdr-list", **params)
                rows = data.get("rows") if isinstance(data, dict) else None
                if not isinstance(rows, list):
                    raise ModuleError(f"{client.where} answered xml-cdr-list without a list of rows.")
                for row in rows:
                    position += 1
                    yield _record(parser, position, row)
                following = data.get("next")
                if not rows or not following or following.get("after_uuid") == params.get("after_uuid"):
                    break
                params.update(since_epoch=following.get("since_epoch"), after_uuid=following.get("after_uuid"))

    # --- helpers -------------------------------------------------------------------------------------------

    def _client(self, server):
        return FusionPbxClient(server, self.server_settings(server))

    def _domain(self, client, name):
        try:
            return client.call("domain-details", domain_name=name)
        except NotFound:
            raise ModuleError(
                f"The tenant domain {name} does not exist on FusionPBX at {client.server.hostname}. The reseller "
                "creates the domain (and its gateway) in FusionPBX first; or correct the service's tenant.",
                permanent=True) from None

    def _tenant(self, service):
        """(client, domain_uuid) of the service's tenant, looked up by name each time: staff may have corrected
        the tenant since Create stored its uuid."""
        tenant = self.require(service, self.identifiers(service).tenant, "FusionPBX tenant domain")
        client = self._client(self.require_server(service))
        return client, self._domain(client, tenant)["domain_uuid"]

    @staticmethod
    def _extensions(client, domain_uuid):
        rows = client.call("extension-list", domain_uuid=domain_uuid) or []
        return {str(row["extension"]): row["extension_uuid"] for row in rows}

    @staticmethod
    def _switch_gateways(client, gateways, *, enable):
        """Enable/disable gateways; returns (uuids switched, uuids gone)."""
        switched, gone = [], []
        for gateway in gateways:
            try:
                client.app_call("gateway-enable" if enable else "gateway-disable", gateway_uuid=gateway["gateway_uuid"])
                switched.append(gateway["gateway_uuid"])
            except NotFound:
                gone.append(gateway["gateway_uuid"])
        return switched, gone

    def _switch_extensions(self, client, domain_uuid, extensions, *, enable):
        """Enable/disable extensions by number; returns (numbers switched, numbers that do not exist).
        An extension already in the wanted state is not switched (and not counted)."""
        rows = {str(row["extension"]): row for row in client.call("extension-list", domain_uuid=domain_uuid) or []}
        switched, gone = [], []
        for ext in extensions:
            row = rows.get(str(ext))
            if row is None:
                gone.append(ext)
                continue
            details = client.call("extension-details", domain_uuid=domain_uuid, extension_uuid=row["extension_uuid"])
            if _enabled(details) == enable:
                continue
            try:
                client.app_call("extension-enable" if enable else "extension-disable", domain_uuid=domain_uuid,
                                extension_uuid=row["extension_uuid"])
                switched.append(ext)
            except NotFound:
                gone.append(ext)
        return switched, gone


def _enabled(row):
    return str(row.get("enabled", "true")).lower() == "true"


def _record(parser, position, row):
    if not isinstance(row, dict):
        return CdrError(position, f"row {position} is not an object", [str(row)[:200]])
    values = {name: _text(row.get(name)) for name in RECORD_FIELDS}
    start, answer = row.get("start_epoch"), row.get("answer_epoch")
    tta = ""
    if _text(start) and _text(answer):
        try:
            tta = str(int(float(answer)) - int(float(start))) if float(answer) > 0 else "-1"
        except (TypeError, ValueError):
            return CdrError(position, f"answer_epoch {answer!r} or start_epoch {start!r} is not a number",
                            list(values.values()))
    parsed = {**{name: _text(row.get(name)) for name in PARSER_COLUMNS}, "tta": tta}
    try:
        record = parser.record(position, [parsed[name] for name in PARSER_COLUMNS])
    except ValueError as exc:
        return CdrError(position, str(exc), list(values.values()))
    record.account = values["domain_name"].lower()
    record.fields = list(values.values())
    return record


def _text(value):
    return "" if value is None else str(value).strip()
