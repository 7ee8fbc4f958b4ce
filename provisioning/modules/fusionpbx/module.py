"""The FusionPBX module (seed 002; shared/providers/fusionpbx.md; docs/voip-providers.md §4.1–4.2, §5.1).

The reseller provisions the PBX: Create checks over the REST add-on that the service's tenant domain and
extensions exist (and can add missing extensions). Suspension follows the product's Auto Suspend Mode — the
domain's SIP gateways, or only the service's extensions — switched off in FusionPBX's own database, after
which FreeSWITCH is told over its event socket (database.py, eventsocket.py, switch.py); it records what it
switched off, and unsuspension reverses the mode stored on the service and exactly what was recorded, never
the product's current setting (seed 002's warning). Terminate disables, per the product's mode; nothing is
deleted, call records least of all. Call records are read from `v_xml_cdr` by the rating core's FusionPBX rules.

The event socket is opened (and its password checked) before the database is changed, so a switch that cannot
be reached changes nothing. If it fails after the change was committed, the action fails with an error saying
so (temporary: it is retried); repeating it is harmless, as every step sets a state rather than toggling one.
"""
from contextlib import contextmanager
from datetime import datetime

from provisioning.modules.base import ActionResult, ModuleError
from provisioning.modules.fusionpbx.cdrs import FusionPbxParser
from provisioning.modules.fusionpbx.client import FusionPbxClient, FusionPbxError, NotFound
from provisioning.modules.fusionpbx.database import OPTIONAL_CDR_COLUMNS, FusionPbxDatabase, with_credentials
from provisioning.modules.fusionpbx.eventsocket import EventSocket
from provisioning.modules.fusionpbx.options import EXTENSION, GATEWAY, PRODUCT_OPTIONS, SERVER_SETTINGS, SUSPEND_MODES
from provisioning.modules.fusionpbx.switch import Switch
from provisioning.modules.voip_common import VoipModule
from provisioning.telephony.cdrs import CdrError
from provisioning.voip_services import is_extension

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
    hosts_domain_once = True
    label = "FusionPBX"
    identifier_keys = ("tenant", "extensions", "dids")
    legacy_line_example = "acme.pbx.example | 101 | 102"
    legacy_line_parts = "a DID or an extension"

    def legacy_line_part(self, item, normaliser, *, last):
        return "extensions" if is_extension(item, normaliser) else None
    supports_cdrs = True
    product_options_schema = PRODUCT_OPTIONS
    server_settings_schema = SERVER_SETTINGS
    password_advice = ("FusionPBX's REST add-on offers no password change; extension SIP passwords are managed in "
                       "FusionPBX (Accounts › Extensions).")

    # --- suspension ----------------------------------------------------------------------------------------

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
        tenant = self.require(service, self.identifiers(service).tenant, "FusionPBX tenant domain")
        extensions = []
        if mode == EXTENSION:
            extensions = self.require(service, self.identifiers(service).extensions,
                                      "extensions (extension mode suspends the service's extensions)")
        with self._connected(self.require_server(service)) as (database, switch):
            with database.session() as db:
                domain = self._domain_row(db, tenant, database)
                if mode == GATEWAY:
                    gateways = db.gateways(domain["domain_uuid"])
                    if not gateways:
                        raise ModuleError(
                            f"The FusionPBX domain {tenant} has no gateway, so gateway mode cannot suspend it. Use "
                            "extension mode for this product (Auto Suspend Mode), or add the domain's gateway in "
                            "FusionPBX.", permanent=True)
                    switched = [g for g in gateways if g.enabled]
                    db.set_gateways(domain["domain_uuid"], [g.gateway_uuid for g in switched], enabled=False)
                else:
                    rows = db.extensions(domain["domain_uuid"], extensions)
                    if not rows:
                        raise ModuleError(f"None of the extensions {', '.join(extensions)} exists in the FusionPBX "
                                          f"domain {tenant}: correct the service's extensions.", permanent=True)
                    present = [rows[ext] for ext in extensions if ext in rows]
                    switched = [row for row in present if row.enabled]
                    db.set_extensions(domain["domain_uuid"], [row.extension_uuid for row in switched], enabled=False)
            if mode == GATEWAY:
                names = ", ".join(g.gateway or g.gateway_uuid for g in gateways)
                # Every gateway of the domain is disabled now: none may run (a repeat of a half-finished suspension
                # stops what the first attempt disabled but could not stop).
                self._tell(switch, f"Disabled the gateway(s) {names} of {tenant}", lambda: switch.stop_gateways(gateways))
                record = {"mode": GATEWAY, "gateways": [g.gateway_uuid for g in switched or gateways], "extensions": []}
                message = f"Disabled the gateway(s) {names} of {tenant} and stopped them: all its calls are blocked"
            else:
                numbers = ", ".join(row.extension for row in present)
                self._tell(switch, f"Disabled the extension(s) {numbers}",
                           lambda: switch.refresh_extensions(domain["domain_name"], present))
                record = {"mode": EXTENSION, "gateways": [],
                          "extensions": [row.extension for row in switched or present]}
                message = f"Disabled the extension(s) {numbers}; the gateway stays up"
                missing = [ext for ext in extensions if ext not in {row.extension for row in present}]
                if missing:
                    message += f" ({', '.join(missing)} do not exist in FusionPBX)"
        if not switched:
            message += " (they were already disabled)"
        return ActionResult(message=message + ".", suspend_mode=mode, module_data={SUSPENSION: record})

    def unsuspend(self, service):
        record = service.module_data.get(SUSPENSION) or {}
        mode = service.suspend_mode or record.get("mode") or ""
        if mode not in ("", *SUSPEND_MODES):
            raise ModuleError(f"The service was suspended in an unknown mode {mode!r}; re-enable it in FusionPBX by "
                              "hand.", permanent=True)
        tenant = self.require(service, self.identifiers(service).tenant, "FusionPBX tenant domain")
        recorded = record if record.get("mode") == mode else {}
        done, start, refresh = [], [], []
        with self._connected(self.require_server(service)) as (database, switch):
            with database.session() as db:
                domain = self._domain_row(db, tenant, database)
                uuid = domain["domain_uuid"]
                if mode in (GATEWAY, ""):
                    gateways = db.gateways(uuid)
                    wanted = set(recorded.get("gateways") or [g.gateway_uuid for g in gateways])
                    start = [g for g in gateways if g.gateway_uuid in wanted]
                    switched = [g for g in start if not g.enabled]
                    db.set_gateways(uuid, [g.gateway_uuid for g in switched], enabled=True)
                    done.append(f"enabled the gateway(s) again ({len(switched)} switched on)")
                    if wanted - {g.gateway_uuid for g in gateways}:
                        done.append(f"{len(wanted - {g.gateway_uuid for g in gateways})} recorded gateway(s) no "
                                    "longer exist")
                if mode in (EXTENSION, ""):
                    numbers = list(recorded.get("extensions") or self.identifiers(service).extensions)
                    rows = db.extensions(uuid, numbers)
                    refresh = [rows[ext] for ext in numbers if ext in rows]
                    db.set_extensions(uuid, [row.extension_uuid for row in refresh if not row.enabled], enabled=True)
                    done.append(f"enabled the extension(s) {', '.join(numbers) or '(none)'} again")
                    gone = [ext for ext in numbers if ext not in rows]
                    if gone:
                        done.append(f"the extension(s) {', '.join(gone)} no longer exist")
            what = "Enabled " + " and ".join(
                part for part, items in (("the gateway(s)", start), ("the extension(s)", refresh)) if items)

            def tell():
                if start:
                    switch.start_gateways(start)
                if refresh:
                    switch.refresh_extensions(domain["domain_name"], refresh)

            if start or refresh:
                self._tell(switch, what, tell)
        how = {GATEWAY: "gateway mode", EXTENSION: "extension mode",
               "": "no recorded mode, so both gateway and extensions"}[mode]
        return ActionResult(message=f"Unsuspended ({how}): {'; '.join(done)}.", module_data={SUSPENSION: None})

    def terminate(self, service, *, delete_data):
        """Disables per the product's mode: gateway mode the domain's gateways (the domain is the client's; a
        domain without gateways: the service's extensions), extension mode the service's extensions (a shared
        domain). Nothing is deleted, call records least of all."""
        ids = self.identifiers(service)
        tenant = self.require(service, ids.tenant, "FusionPBX tenant domain")
        mode = self.product_options(service)["auto_suspend_mode"]
        with self._connected(self.require_server(service)) as (database, switch):
            with database.session() as db:
                domain = db.domain(tenant)
                if domain is None:
                    return ActionResult(message=f"The domain {tenant} no longer exists in FusionPBX: nothing to "
                                                "disable; nothing was deleted.")
                gateways = db.gateways(domain["domain_uuid"]) if mode == GATEWAY else []
                present = []
                if gateways:
                    db.set_gateways(domain["domain_uuid"], [g.gateway_uuid for g in gateways if g.enabled],
                                    enabled=False)
                elif ids.extensions:
                    rows = db.extensions(domain["domain_uuid"], ids.extensions)
                    present = [rows[ext] for ext in ids.extensions if ext in rows]
                    db.set_extensions(domain["domain_uuid"], [row.extension_uuid for row in present if row.enabled],
                                      enabled=False)
            if gateways:
                names = ", ".join(g.gateway or g.gateway_uuid for g in gateways)
                message = f"Disabled the gateway(s) {names} of {tenant}"
                self._tell(switch, message, lambda: switch.stop_gateways(gateways))
            elif present:
                message = f"Disabled the extension(s) {', '.join(row.extension for row in present)} of {tenant}"
                self._tell(switch, message, lambda: switch.refresh_extensions(domain["domain_name"], present))
                gone = [ext for ext in ids.extensions if ext not in {row.extension for row in present}]
                if gone:
                    message += f" ({', '.join(gone)} no longer existed)"
            else:
                message = f"Nothing to disable for {tenant} ({mode} mode: no {mode}s)"
        message += "; nothing was deleted, call records included"
        if delete_data:
            message += " (the portal never deletes on FusionPBX: remove the extensions or domain there by hand)"
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
        if not settings["database_url"]:
            message += (". Warning: no database URL is set, so suspension, termination and call records will fail "
                        "(database_url, docs/voip-providers.md §4.1)")
            return ActionResult(message=message + ".")
        database = self._database(server, settings)
        with database.session() as db:
            db.check()
        message += f"; {database.where} is readable"
        with self._event_socket(server, settings) as socket:
            status = socket.api("status")
        first = status.splitlines()[0] if status else "no answer"
        message += f"; FreeSWITCH's event socket answers ({first})"
        return ActionResult(message=message + ".")

    # --- call records --------------------------------------------------------------------------------------

    def fetch_cdrs(self, source, since):
        if source.server is None:
            raise ModuleError(f"The FusionPBX call-record source {source.id} has no server.", permanent=True)
        login = (source.username, source.password) if source.username else None  # the source's own read-only role
        database = self._database(source.server, self.server_settings(source.server), login=login)
        return self._records(database, source.options.get("domains") or [], since)

    def _records(self, database, domains, since):
        parser = FusionPbxParser([",".join(PARSER_COLUMNS)])
        since_epoch = int(since.timestamp()) if isinstance(since, datetime) else None
        position = 0
        with database.session() as db:
            uuids = [self._domain_row(db, name, database)["domain_uuid"] for name in domains] or None
            available = set(db.columns("v_xml_cdr"))
            optional = [name for name in OPTIONAL_CDR_COLUMNS if name in available]
            after = None
            while True:
                rows = db.cdr_page(since_epoch=since_epoch, domain_uuids=uuids, after=after, limit=CDR_PAGE,
                                   optional=optional)
                for row in rows:
                    position += 1
                    yield _record(parser, position, row)
                if len(rows) < CDR_PAGE:
                    break
                after = (rows[-1]["end_epoch"], rows[-1]["xml_cdr_uuid"])

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

    def _database_url(self, server, settings):
        if not settings["database_url"]:
            raise ModuleError(
                f"The FusionPBX server {server.hostname} has no database URL: suspension, termination and call "
                "records read and switch FusionPBX's own database. Set database_url in the server's module settings "
                "(docs/voip-providers.md §4.1).", permanent=True)
        return settings["database_url"]

    def _database(self, server, settings, *, login=None):
        """The server's FusionPBX database; `login`: (user, password) instead of the URL's."""
        url = self._database_url(server, settings)
        if login is not None:
            url = with_credentials(url, *login)
        return FusionPbxDatabase(url, connect_timeout=settings["connect_timeout"],
                                 statement_timeout=settings["read_timeout"])

    @staticmethod
    def _event_socket(server, settings):
        return EventSocket(settings["event_socket_host"] or server.hostname, settings["event_socket_port"],
                           settings["event_socket_password"], connect_timeout=settings["connect_timeout"],
                           read_timeout=settings["read_timeout"])

    @contextmanager
    def _connected(self, server):
        """(database, switch): the event socket is connected and authenticated first, so a switch that cannot be
        told stops the action before anything changes."""
        settings = self.server_settings(server)
        database = self._database(server, settings)
        socket = self._event_socket(server, settings)
        try:
            socket.connect()
        except ModuleError as exc:
            raise ModuleError(f"{exc.message} Nothing was changed in FusionPBX.", permanent=exc.permanent) from None
        try:
            yield database, Switch(socket, settings["cache_method"])
        finally:
            socket.close()

    @staticmethod
    def _tell(switch, done, step):
        """Run what tells the switch about a committed change; a failure says the change is in the database."""
        try:
            step()
        except ModuleError as exc:
            raise ModuleError(
                f"{done} in FusionPBX's database, but FreeSWITCH was not told: {exc.message} Until it is, the "
                "switch keeps the old state; repeating the action is harmless.", permanent=exc.permanent) from None

    @staticmethod
    def _domain_row(db, name, database):
        domain = db.domain(name)
        if domain is None:
            raise ModuleError(
                f"The tenant domain {name} does not exist in {database.where}. The reseller creates the domain "
                "(and its gateway) in FusionPBX first; or correct the service's tenant.", permanent=True)
        return domain

    @staticmethod
    def _extensions(client, domain_uuid):
        rows = client.call("extension-list", domain_uuid=domain_uuid) or []
        return {str(row["extension"]): row["extension_uuid"] for row in rows}


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
