"""A FusionPBX simulator: the AccelerateNetworks REST add-on (shared/providers/fusionpbx.md §2) over FusionPBX's
tables kept in a SQLite file with FusionPBX's column names (`v_domains`, `v_extensions`, `v_gateways`,
`v_xml_cdr`), and a fake FreeSWITCH event socket — so the module's database path (docs/voip-providers.md §4.1)
runs against the same file (`database_url`) and its switch commands against `event_socket`.

REST: one endpoint, `POST /app/rest_api/rest.php`, HTTP Basic with a key's uuid and secret (401
`{"error":"unauthorized"}` otherwise), a JSON body `{"action": …}`; errors as the add-on builds them (400 nested
"missing required parameter(s)", 400 "unknown action", 404 "domain not found", 500 "extension already exists").

The event socket speaks FreeSWITCH's framing (auth/request greeting, `auth`, `api` → api/response with
Content-Length) and keeps what FreeSWITCH would: which gateways run in sofia (`killgw` stops one, `rescan` starts
the enabled ones its sofia.conf lists) and FusionPBX's cache (`memcache delete`, or FusionPBX's Lua cache module
for the file cache), including the stale-cache behaviour the module must defeat: a cached sofia.conf or
directory entry is used as it is until it is deleted. Every command it received is in `event_socket.commands`.

Call records are generated deterministically (`seed_cdrs`) or added row by row (`add_cdr`, for odd rows).

Run it alone with `python manage.py run_simulator fusionpbx --port 9997`; GET /_simulator/state shows the
database URL and the event socket's port.
"""
import json
import os
import random
import re
import secrets
import socket
import socketserver
import sqlite3
import tempfile
import threading
import uuid
import weakref
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime

from provisioning.simulation.base import Response, Simulator, route
from provisioning.simulation.http_basic import basic_credentials, same_secret

ENDPOINT = "/app/rest_api/rest.php"
NAMESPACE = uuid.UUID("6f1c2b1e-9a7d-4c55-8f0e-0c1d2e3f4a5b")
CDR_LIST_FIELDS = (
    "xml_cdr_uuid", "extension_uuid", "direction", "start_stamp", "end_stamp", "hangup_cause", "duration",
    "missed_call", "record_name", "bridge_uuid", "caller_id_name", "caller_id_number", "caller_destination",
    "source_number", "destination_number", "leg",
)
DEFAULT_KEY = "00000000-0000-4000-8000-000000000001"
DEFAULT_SECRET = "sim-key-secret"  # a simulator's: never a real key
DEFAULT_ESL_PASSWORD = "ClueCon"  # FreeSWITCH's shipped default
SWITCHNAME = "fusionpbx-sim"
PROFILES = ("internal", "external")
START_EPOCH = 1767225600  # 2026-01-01 00:00:00 UTC: where seeded call records begin

# FusionPBX's tables, with the columns the REST add-on and the portal use (types as SQLite reads them: numeric
# columns get NUMERIC affinity, so odd values such as "soon" stay text, as a broken row would).
SCHEMA = """
CREATE TABLE IF NOT EXISTS v_domains (
    domain_uuid TEXT PRIMARY KEY, domain_parent_uuid TEXT, domain_name TEXT NOT NULL, domain_enabled TEXT,
    domain_description TEXT, insert_date TEXT, insert_user TEXT, update_date TEXT, update_user TEXT);
CREATE TABLE IF NOT EXISTS v_extensions (
    extension_uuid TEXT PRIMARY KEY, domain_uuid TEXT NOT NULL, extension TEXT NOT NULL, number_alias TEXT,
    password TEXT, accountcode TEXT, effective_caller_id_name TEXT, effective_caller_id_number TEXT,
    outbound_caller_id_name TEXT, outbound_caller_id_number TEXT, emergency_caller_id_name TEXT,
    emergency_caller_id_number TEXT, limit_max TEXT, call_timeout TEXT, user_context TEXT, enabled TEXT,
    description TEXT);
CREATE TABLE IF NOT EXISTS v_gateways (
    gateway_uuid TEXT PRIMARY KEY, domain_uuid TEXT, gateway TEXT, profile TEXT, enabled TEXT, description TEXT);
CREATE TABLE IF NOT EXISTS v_xml_cdr (
    xml_cdr_uuid TEXT PRIMARY KEY, domain_uuid TEXT, domain_name TEXT, extension_uuid TEXT, direction TEXT,
    caller_id_name TEXT, caller_id_number TEXT, caller_destination TEXT, source_number TEXT,
    destination_number TEXT, start_epoch NUMERIC, answer_epoch NUMERIC, end_epoch NUMERIC, start_stamp TEXT,
    answer_stamp TEXT, end_stamp TEXT, duration NUMERIC, billsec NUMERIC, billmsec NUMERIC, missed_call TEXT,
    hangup_cause TEXT, leg TEXT, status TEXT, record_name TEXT, bridge_uuid TEXT);
CREATE INDEX IF NOT EXISTS v_xml_cdr_end ON v_xml_cdr (end_epoch, xml_cdr_uuid);
"""
TABLES = ("v_domains", "v_extensions", "v_gateways", "v_xml_cdr")
CACHE_DELETE = re.compile(r'cache\.del\("([^"]+)"\)')


def sim_uuid(*parts):
    return str(uuid.uuid5(NAMESPACE, "/".join(str(p) for p in parts)))


@dataclass
class SimExtension:
    extension_uuid: str
    extension: str
    enabled: bool = True
    password: str = ""
    number_alias: str = ""


@dataclass
class SimGateway:
    gateway_uuid: str
    gateway: str
    profile: str = "external"
    enabled: bool = True
    running: bool = True  # started in sofia


@dataclass
class SimDomain:
    """A read-only view of one domain's rows (and its gateways' sofia state)."""

    domain_uuid: str
    domain_name: str
    domain_enabled: bool = True
    extensions: dict = field(default_factory=dict)  # extension -> SimExtension
    gateways: dict = field(default_factory=dict)  # gateway_uuid -> SimGateway
    dids: list = field(default_factory=list)


class FusionPbxSimulator(Simulator):
    name = "fusionpbx"

    def __init__(self, *, latency_ms=0, keys=None, db_path=None, esl_password=DEFAULT_ESL_PASSWORD,
                 cache_method="file"):
        super().__init__(latency_ms=latency_ms)
        self.keys = dict(keys or {DEFAULT_KEY: DEFAULT_SECRET})
        if db_path is None:
            handle, db_path = tempfile.mkstemp(prefix="fusionpbx-sim-", suffix=".sqlite3")
            os.close(handle)
            weakref.finalize(self, _remove, db_path)
        self.db_path = str(db_path)
        self.cache_method = cache_method  # FusionPBX's: file, memcache or none
        self.cache = {}  # FusionPBX's cache: key -> value
        self.sofia = {}  # gateway_uuid -> running in sofia
        self.dids = {}  # domain_name -> DIDs (FusionPBX keeps them in v_destinations; only seed_cdrs needs them)
        self.actions = []  # action of each authenticated REST call, for tests
        self.event_socket = FakeEventSocket(self, esl_password)
        with self._db() as db:
            db.execute("PRAGMA journal_mode=WAL")
            db.executescript(SCHEMA)

    @property
    def database_url(self):
        return f"sqlite:///{self.db_path}"

    def start(self, host="127.0.0.1", port=0):
        super().start(host, port)
        self.event_socket.start(host)
        return self

    def stop(self):
        super().stop()
        self.event_socket.stop()

    def _db(self):
        connection = sqlite3.connect(self.db_path, timeout=10, check_same_thread=False)
        connection.row_factory = sqlite3.Row
        return ClosingConnection(connection)

    def _rows(self, sql, params=()):
        with self._db() as db:
            return [dict(row) for row in db.execute(sql, params).fetchall()]

    # --- the REST endpoint -------------------------------------------------------------------------------

    def failure_response(self, status):
        return Response(status, {"error": f"Injected failure {status}"})

    def not_found(self, request, allowed_methods):
        return Response(405 if allowed_methods else 404, {"error": "not found"})

    @route("POST", ENDPOINT)
    def rest(self, request):
        if not self._authenticated(request):
            return Response(401, {"error": "unauthorized"})
        body = request.json
        if not isinstance(body, dict) or not body.get("action"):
            return _missing(["action"])
        action = str(body["action"]).lower()
        with self.lock:
            self.actions.append(action)
            handler = None if body.get("app") else ACTIONS.get(action)
            if handler is None:
                return Response(400, {"error": "unknown action"})
            return handler(self, body)

    def _authenticated(self, request):
        user, password = basic_credentials(request) or ("", "")
        return user in self.keys and same_secret(password, self.keys[user])

    def domain_details(self, body):
        if body.get("domain_uuid"):
            rows = self._rows("SELECT * FROM v_domains WHERE domain_uuid = ?", (body["domain_uuid"],))
        elif body.get("domain_name"):
            rows = self._rows("SELECT * FROM v_domains WHERE domain_name = ?", (str(body["domain_name"]).lower(),))
        else:
            return Response(400, {"error": "missing required parameter domain_uuid or domain_name"})
        if not rows:
            return Response(404, {"error": "domain not found"})
        return Response(200, rows[0])

    def extension_create(self, body):
        if error := _required(body, "domain_uuid", "extension"):
            return error
        domain = self._domain_row(body["domain_uuid"])
        if domain is None:
            return Response(500, {"error": "domain not found"})
        number = str(body["extension"])
        if self._rows("SELECT 1 FROM v_extensions WHERE domain_uuid = ? AND extension = ?",
                      (domain["domain_uuid"], number)):
            return Response(500, {"error": "extension already exists"})
        self._insert_extension(domain, number, caller_id_name=str(body.get("caller_id_name") or ""),
                               caller_id_number=str(body.get("caller_id_number") or ""))
        return Response(200, self._extension_rows(domain["domain_uuid"], number)[0])

    def extension_list(self, body):
        domain, error = self._domain_param(body)
        if error:
            return error
        rows = self._rows("SELECT extension_uuid, extension, emergency_caller_id_number FROM v_extensions "
                          "WHERE domain_uuid = ? ORDER BY extension", (domain["domain_uuid"],))
        return Response(200, rows)

    def extension_details(self, body):
        if error := _required(body, "domain_uuid", "extension_uuid"):
            return error
        rows = self._rows("SELECT * FROM v_extensions WHERE domain_uuid = ? AND extension_uuid = ?",
                          (body["domain_uuid"], body["extension_uuid"]))
        if not rows:
            return Response(404, {"error": "extension not found"})
        return Response(200, rows[0])

    def cdr_list(self, body):
        domain, error = self._domain_param(body)
        if error:
            return error
        rows = self._rows(f"SELECT {', '.join(CDR_LIST_FIELDS)} FROM v_xml_cdr WHERE domain_uuid = ? "
                          "ORDER BY end_stamp DESC LIMIT 100", (domain["domain_uuid"],))
        return Response(200, rows)

    def _domain_row(self, domain_uuid):
        rows = self._rows("SELECT * FROM v_domains WHERE domain_uuid = ?", (domain_uuid,))
        return rows[0] if rows else None

    def _domain_param(self, body):
        if error := _required(body, "domain_uuid"):
            return None, error
        domain = self._domain_row(body["domain_uuid"])
        if domain is None:
            return None, Response(404, {"error": "domain not found"})
        return domain, None

    def _extension_rows(self, domain_uuid, number=None):
        if number is None:
            return self._rows("SELECT * FROM v_extensions WHERE domain_uuid = ? ORDER BY extension", (domain_uuid,))
        return self._rows("SELECT * FROM v_extensions WHERE domain_uuid = ? AND extension = ?", (domain_uuid, number))

    def _insert_extension(self, domain, number, *, caller_id_name="", caller_id_number="", number_alias=""):
        name = domain["domain_name"]
        with self._db() as db:
            db.execute(
                "INSERT INTO v_extensions (extension_uuid, domain_uuid, extension, number_alias, password, accountcode, "
                "effective_caller_id_name, effective_caller_id_number, outbound_caller_id_name, "
                "outbound_caller_id_number, emergency_caller_id_name, emergency_caller_id_number, limit_max, "
                "call_timeout, user_context, enabled, description) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, '', '', '', '', '5', '30', ?, 'true', '')",
                (sim_uuid(name, "ext", number), domain["domain_uuid"], number, number_alias, secrets.token_urlsafe(9),
                 name, caller_id_name, caller_id_number, name))

    # --- what FreeSWITCH does with FusionPBX's data (used by the fake event socket) ----------------------

    def directory_lookup(self, domain_name, extension):
        """Whether FreeSWITCH finds the extension when a phone registers or calls: FusionPBX's xml handler answers
        from its cache (`directory:<ext>@<domain>`) when the entry is there, else from the database (enabled
        extensions of enabled domains), and caches the answer."""
        key = f"directory:{extension}@{domain_name.lower()}"
        with self.lock:
            if self.cache_method != "none" and key in self.cache:
                return self.cache[key] is not None
            rows = self._rows("SELECT e.extension_uuid FROM v_extensions e JOIN v_domains d USING (domain_uuid) "
                              "WHERE d.domain_name = ? AND d.domain_enabled = 'true' AND e.enabled = 'true' "
                              "AND (e.extension = ? OR e.number_alias = ?)",
                              (domain_name.lower(), str(extension), str(extension)))
            if self.cache_method != "none" and rows:
                self.cache[key] = f"<user id=\"{extension}\"/>"
            return bool(rows)

    def sofia_conf(self):
        """The enabled gateways FusionPBX's sofia.conf lists: cached (`configuration:sofia.conf:<switchname>`) or
        read from the database and cached."""
        key = f"configuration:sofia.conf:{SWITCHNAME}"
        with self.lock:
            if self.cache_method != "none" and key in self.cache:
                return json.loads(self.cache[key])
            rows = self._rows("SELECT gateway_uuid, profile FROM v_gateways WHERE enabled = 'true'")
            conf = {row["gateway_uuid"]: row["profile"] for row in rows}
            if self.cache_method != "none":
                self.cache[key] = json.dumps(conf)
            return conf

    def api(self, command):
        """One FreeSWITCH API command, as the event socket runs it."""
        words = command.split()
        with self.lock:
            if command == "status":
                return ("UP 0 years, 0 days, 1 hour, 2 minutes, 3 seconds\nFreeSWITCH (Version 1.10.12 simulator) "
                        "is ready\n0 session(s) since startup\n")
            if command == "switchname":
                return SWITCHNAME
            if command == "reloadxml":
                return "+OK [Success]\n"
            if words[:2] == ["sofia", "profile"] and len(words) >= 4:
                return self._sofia(words[2], words[3], words[4:])
            if words[:2] == ["memcache", "delete"] and len(words) == 3:
                if self.cache_method != "memcache":
                    return "-ERR memcache Command not found!\n"
                return "+OK\n" if self.cache.pop(words[2], None) is not None else "-ERR NOT FOUND\n"
            if command.startswith("lua ~") and (match := CACHE_DELETE.search(command)):
                if self.cache_method == "none":
                    return "-ERR UNSUPPORTTED"
                self.cache.pop(match.group(1), None)
                return "+OK"
            return f"-ERR {words[0] if words else ''} Command not found!\n"

    def _sofia(self, profile, action, args):
        if profile not in PROFILES:
            return f"Invalid Profile [{profile}]"
        if action == "killgw" and args:
            profiles = dict(self._rows_of_gateways())
            if self.sofia.get(args[0]) and profiles.get(args[0]) == profile:
                self.sofia[args[0]] = False
                return "+OK gateway marked for deletion.\n"
            return "-ERR no such gateway.\n"
        if action == "rescan":
            for gateway_uuid, gateway_profile in self.sofia_conf().items():
                if gateway_profile == profile:
                    self.sofia[gateway_uuid] = True
            return "+OK scan complete\n"
        return f"-ERR Unknown command {action}\n"

    def _rows_of_gateways(self):
        return [(row["gateway_uuid"], row["profile"]) for row in self._rows("SELECT gateway_uuid, profile FROM v_gateways")]

    # --- state for tests and the demo --------------------------------------------------------------------

    def add_domain(self, name, *, extensions=(), gateways=("carrier",), dids=(), enabled=True, profile="external"):
        with self.lock:
            name = name.lower()
            domain_uuid = sim_uuid(name)
            if self._domain_row(domain_uuid) is None:
                with self._db() as db:
                    db.execute("INSERT INTO v_domains (domain_uuid, domain_parent_uuid, domain_name, domain_enabled, "
                               "domain_description, insert_date) VALUES (?, NULL, ?, ?, '', '2026-01-01 00:00:00+00')",
                               (domain_uuid, name, "true" if enabled else "false"))
            domain = self._domain_row(domain_uuid)
            existing = {row["extension"] for row in self._extension_rows(domain_uuid)}
            for number in extensions:
                if str(number) not in existing:
                    self._insert_extension(domain, str(number))
            for gateway_name in gateways:
                gateway_uuid = sim_uuid(name, "gateway", gateway_name)
                with self._db() as db:
                    inserted = db.execute("INSERT OR IGNORE INTO v_gateways (gateway_uuid, domain_uuid, gateway, profile, "
                                          "enabled, description) VALUES (?, ?, ?, ?, 'true', '')",
                                          (gateway_uuid, domain_uuid, gateway_name, profile)).rowcount
                if inserted:
                    self.sofia[gateway_uuid] = True
            self.dids[name] = list(dict.fromkeys([*self.dids.get(name, []), *dids]))
            return self.domain(name)

    def domain(self, name):
        with self.lock:
            rows = self._rows("SELECT * FROM v_domains WHERE domain_name = ?", (name.lower(),))
            if not rows:
                return None
            row = rows[0]
            extensions = {r["extension"]: SimExtension(r["extension_uuid"], r["extension"], r["enabled"] == "true",
                                                       r["password"] or "", r["number_alias"] or "")
                          for r in self._extension_rows(row["domain_uuid"])}
            gateways = {r["gateway_uuid"]: SimGateway(r["gateway_uuid"], r["gateway"], r["profile"],
                                                      r["enabled"] == "true", bool(self.sofia.get(r["gateway_uuid"])))
                        for r in self._rows("SELECT * FROM v_gateways WHERE domain_uuid = ? ORDER BY gateway",
                                            (row["domain_uuid"],))}
            return SimDomain(row["domain_uuid"], row["domain_name"], row["domain_enabled"] == "true", extensions,
                             gateways, list(self.dids.get(row["domain_name"], [])))

    def gateway_enabled(self, domain_name, gateway=None):
        """Whether the domain's gateway (by name; None: all of them) is enabled and running in sofia."""
        gateways = [g for g in self.domain(domain_name).gateways.values() if gateway is None or g.gateway == gateway]
        return all(g.enabled and g.running for g in gateways)

    def gateway_stopped(self, domain_name, gateway=None):
        """Whether the domain's gateway(s) are disabled and not running."""
        gateways = [g for g in self.domain(domain_name).gateways.values() if gateway is None or g.gateway == gateway]
        return all(not g.enabled and not g.running for g in gateways)

    def set_gateway(self, domain_name, gateway, *, enabled, running=None):
        """What the reseller does in FusionPBX (enabled flag, and start/stop); `running` alone for a half state."""
        with self.lock:
            for g in self.domain(domain_name).gateways.values():
                if g.gateway == gateway:
                    with self._db() as db:
                        db.execute("UPDATE v_gateways SET enabled = ? WHERE gateway_uuid = ?",
                                   ("true" if enabled else "false", g.gateway_uuid))
                    self.sofia[g.gateway_uuid] = enabled if running is None else running

    def extension_enabled(self, domain_name, extension):
        return self.domain(domain_name).extensions[str(extension)].enabled

    def set_extension(self, domain_name, extension, *, enabled):
        """What the reseller does in FusionPBX: the flag, and FusionPBX drops the cached directory entry."""
        with self.lock:
            domain = self.domain(domain_name)
            with self._db() as db:
                db.execute("UPDATE v_extensions SET enabled = ? WHERE domain_uuid = ? AND extension = ?",
                           ("true" if enabled else "false", domain.domain_uuid, str(extension)))
            self.cache.pop(f"directory:{extension}@{domain.domain_name}", None)

    def set_number_alias(self, domain_name, extension, alias):
        with self.lock, self._db() as db:
            db.execute("UPDATE v_extensions SET number_alias = ? WHERE domain_uuid = ? AND extension = ?",
                       (alias, sim_uuid(domain_name.lower()), str(extension)))

    def remove_extension(self, domain_name, extension):
        with self.lock, self._db() as db:
            db.execute("DELETE FROM v_extensions WHERE domain_uuid = ? AND extension = ?",
                       (sim_uuid(domain_name.lower()), str(extension)))

    def remove_gateway(self, domain_name, gateway):
        with self.lock, self._db() as db:
            db.execute("DELETE FROM v_gateways WHERE domain_uuid = ? AND gateway = ?",
                       (sim_uuid(domain_name.lower()), gateway))

    def add_cdr(self, domain_name, **row):
        """Add one v_xml_cdr row (any of its columns; odd values welcome): a complete answered outbound call unless
        overridden. Returns the row, with the caller's `extension` (which v_xml_cdr itself does not hold)."""
        with self.lock:
            domain = self.domain(domain_name)
            number = self._cdr_count()
            base = _cdr_row(domain, number, "outbound", START_EPOCH + number * 60, 30, 42,
                            next(iter(domain.extensions.values()), None), "12125550100", "12125550100")
            full = {**base, **row}
            self._insert_cdrs([full])
            return full

    def seed_cdrs(self, domain_name, count, *, seed=1, start_epoch=START_EPOCH):
        """`count` deterministic call records for the domain (same arguments, same rows): about 60% answered
        outbound, 20% inbound to the domain's DIDs, 10% local, 5% unanswered and 5% b-legs."""
        rng = random.Random(f"{domain_name}:{seed}")
        with self.lock:
            domain = self.domain(domain_name)
            extensions = list(domain.extensions.values()) or [None]
            dids = domain.dids or ["12125550100"]
            first = self._cdr_count()
            at = start_epoch
            rows = []
            for _ in range(count):
                at += rng.randint(30, 900)
                ext = rng.choice(extensions)
                roll = rng.random()
                dialled = f"1{rng.choice('2345678')}{rng.randint(10, 99)}{rng.choice('2345678')}{rng.randint(100000, 999999)}"
                billsec = rng.randint(1, 1800)
                number = first + len(rows)
                if roll < 0.6:
                    row = _cdr_row(domain, number, "outbound", at, rng.randint(2, 20), billsec, ext, dialled, dialled)
                elif roll < 0.8:
                    did = rng.choice(dids)
                    row = _cdr_row(domain, number, "inbound", at, rng.randint(2, 20), billsec, ext, did,
                                   ext.extension if ext else "100", caller=dialled)
                elif roll < 0.9:
                    other = rng.choice(extensions)
                    target = other.extension if other else "101"
                    row = _cdr_row(domain, number, "local", at, 3, billsec, ext, target, target)
                elif roll < 0.95:
                    row = _cdr_row(domain, number, "outbound", at, 25, 0, ext, dialled, dialled)
                else:
                    row = _cdr_row(domain, number, "outbound", at, 4, billsec, ext, dialled, dialled, leg="b")
                rows.append(row)
            self._insert_cdrs(rows)
            return rows

    def cdr_rows(self):
        return self._rows("SELECT * FROM v_xml_cdr ORDER BY end_epoch, xml_cdr_uuid")

    def _cdr_count(self):
        return self._rows("SELECT count(*) AS n FROM v_xml_cdr")[0]["n"]

    def _insert_cdrs(self, rows):
        with self._db() as db:
            columns = {row[1] for row in db.execute("PRAGMA table_info(v_xml_cdr)")}
            for row in rows:
                stored = {k: _sql_value(v) for k, v in row.items() if k in columns}
                db.execute(f"INSERT INTO v_xml_cdr ({', '.join(stored)}) VALUES ({', '.join('?' * len(stored))})",
                           tuple(stored.values()))

    def snapshot(self):
        with self.lock:
            names = [row["domain_name"] for row in self._rows("SELECT domain_name FROM v_domains ORDER BY domain_name")]
            domains = {}
            for name in names:
                d = self.domain(name)
                domains[name] = {
                    "domain_uuid": d.domain_uuid, "domain_enabled": d.domain_enabled, "dids": d.dids,
                    "extensions": {n: {"extension_uuid": e.extension_uuid, "enabled": e.enabled}
                                   for n, e in d.extensions.items()},
                    "gateways": {g.gateway: asdict(g) for g in d.gateways.values()},
                }
            return {
                "domains": domains, "cdrs": self._cdr_count(), "database_url": self.database_url,
                "event_socket": {"host": "127.0.0.1", "port": self.event_socket.port,
                                 "password": self.event_socket.password},
                "cache_method": self.cache_method, "cache": sorted(self.cache),
                "event_socket_commands": list(self.event_socket.commands),
            }

    def seed(self, data):
        """{"domains": [{"name", "extensions"?, "gateways"?, "dids"?, "enabled"?, "cdrs"?: count}]}."""
        for row in data.get("domains", []):
            self.add_domain(row["name"], extensions=row.get("extensions", ()), gateways=row.get("gateways", ("carrier",)),
                            dids=row.get("dids", ()), enabled=row.get("enabled", True))
            if row.get("cdrs"):
                self.seed_cdrs(row["name"], int(row["cdrs"]), seed=int(row.get("seed", 1)))

    def reset(self):
        super().reset()
        with self.lock:
            with self._db() as db:
                for table in TABLES:
                    db.execute(f"DELETE FROM {table}")
            self.cache.clear()
            self.sofia.clear()
            self.dids.clear()
            self.actions.clear()
            self.event_socket.reset()

    def set_knobs(self, data):
        """Also: cache_method (file, memcache, none); esl_reject (the event socket's ACL refuses everyone);
        esl_hangup_on (a command prefix: the event socket hangs up instead of answering it)."""
        super().set_knobs(data)
        if "cache_method" in data:
            if data["cache_method"] not in ("file", "memcache", "none"):
                raise ValueError("cache_method is file, memcache or none")
            self.cache_method = data["cache_method"]
        if "esl_reject" in data:
            self.event_socket.reject = bool(data["esl_reject"])
        if "esl_hangup_on" in data:
            self.event_socket.hangup_on = str(data["esl_hangup_on"] or "")


ACTIONS = {
    "domain-details": FusionPbxSimulator.domain_details,
    "extension-create": FusionPbxSimulator.extension_create,
    "extension-list": FusionPbxSimulator.extension_list,
    "extension-details": FusionPbxSimulator.extension_details,
    "cdr-list": FusionPbxSimulator.cdr_list,
}


class FakeEventSocket:
    """FreeSWITCH's event socket (inbound mode) on a loopback port, answering `api` commands through the
    simulator's `api`. Records every command (after a good `auth`) in `commands`."""

    def __init__(self, simulator, password):
        self.simulator = simulator
        self.password = password
        self.commands = []
        self.reject = False  # the ACL refuses every address
        self.hangup_on = ""  # hang up instead of answering a command that starts with this
        self._server = None

    @property
    def port(self):
        return self._server.server_address[1] if self._server else None

    def start(self, host="127.0.0.1", port=0):
        self._server = _EslServer((host, port), _EslHandler)
        self._server.fake = self
        threading.Thread(target=self._server.serve_forever, args=(0.05,), name="fusionpbx-event-socket",
                         daemon=True).start()
        return self

    def stop(self):
        """Stop listening: the switch is down (connections are refused)."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def reset(self):
        self.commands.clear()
        self.reject = False
        self.hangup_on = ""


class _EslServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    block_on_close = False


class _EslHandler(socketserver.StreamRequestHandler):
    def handle(self):
        fake = self.server.fake
        if fake.reject:
            self._message({"Content-Type": "text/rude-rejection"}, "Access Denied, go away.\n")
            return
        self._message({"Content-Type": "auth/request"})
        authenticated = False
        while True:
            command = self._command()
            if command is None:
                return
            if command == "exit":
                self._message({"Content-Type": "command/reply", "Reply-Text": "+OK bye"})
                self._disconnect()
                return
            if not authenticated:
                if command.startswith("auth ") and same_secret(command[5:], fake.password):
                    authenticated = True
                    self._message({"Content-Type": "command/reply", "Reply-Text": "+OK accepted"})
                    continue
                self._message({"Content-Type": "command/reply", "Reply-Text": "-ERR invalid"})
                self._disconnect()
                return
            if command.startswith("api "):
                api = command[4:].strip()
                if fake.hangup_on and api.startswith(fake.hangup_on):
                    return  # the connection drops without an answer
                fake.commands.append(api)
                self._message({"Content-Type": "api/response"}, fake.simulator.api(api))
            else:
                self._message({"Content-Type": "command/reply", "Reply-Text": "-ERR command not found"})

    def _command(self):
        lines = []
        while True:
            line = self.rfile.readline(65536)
            if not line:
                return None
            text = line.decode("utf-8", "replace").rstrip("\r\n")
            if not text:
                if lines:
                    return lines[0]
                continue
            lines.append(text)

    def _message(self, headers, body=""):
        data = body.encode()
        if data:
            headers = {**headers, "Content-Length": str(len(data))}
        head = "".join(f"{name}: {value}\n" for name, value in headers.items()) + "\n"
        try:
            self.wfile.write(head.encode() + data)
            self.wfile.flush()
        except OSError:
            pass

    def _disconnect(self):
        self._message({"Content-Type": "text/disconnect-notice"}, "Disconnected, goodbye.\n")
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


class ClosingConnection:
    """A sqlite3 connection that commits and closes at the end of the block (sqlite3's own `with` only commits)."""

    def __init__(self, connection):
        self.connection = connection

    def __enter__(self):
        return self.connection

    def __exit__(self, kind, *rest):
        try:
            if kind is None:
                self.connection.commit()
        finally:
            self.connection.close()


def _remove(path):
    for suffix in ("", "-wal", "-shm"):
        try:
            os.remove(path + suffix)
        except OSError:
            pass


def _missing(names):
    return Response(400, {"error": {"error": "missing required parameter(s)", "missing_parameters": names}})


def _required(body, *names):
    """The add-on's 400 naming the missing parameters, or None when all are there."""
    missing = [name for name in names if not body.get(name)]
    return _missing(missing) if missing else None


def _sql_value(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    return value


def _stamp(epoch):
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d %H:%M:%S+00") if epoch else None


def _cdr_row(domain, number, direction, start, ring, billsec, ext, caller_destination, destination, *, caller="",
             leg="a"):
    answered = billsec > 0
    answer = start + ring if answered else 0
    end = (answer + billsec) if answered else start + ring
    return {
        "xml_cdr_uuid": sim_uuid(domain.domain_name, "cdr", number), "domain_uuid": domain.domain_uuid,
        "domain_name": domain.domain_name, "extension_uuid": ext.extension_uuid if ext else None,
        "extension": ext.extension if ext else "", "direction": direction, "caller_id_name": "",
        "caller_id_number": caller or (ext.extension if ext else "100"), "caller_destination": caller_destination,
        "source_number": caller or (ext.extension if ext else "100"), "destination_number": destination,
        "start_epoch": start, "answer_epoch": answer, "end_epoch": end, "start_stamp": _stamp(start),
        "answer_stamp": _stamp(answer), "end_stamp": _stamp(end), "duration": end - start, "billsec": billsec,
        "billmsec": billsec * 1000, "missed_call": not answered and direction == "inbound",
        "hangup_cause": "NORMAL_CLEARING" if answered else "NO_ANSWER", "leg": leg,
        "status": "answered" if answered else "missed", "record_name": None, "bridge_uuid": None,
    }
