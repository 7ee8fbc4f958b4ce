"""A FusionPBX simulator: the AccelerateNetworks REST add-on (shared/providers/fusionpbx.md §2) and the portal's
FusionPBX app behind its "app" routing (docs/voip-providers.md §4.1), over `v_domains`, `v_extensions`,
`v_gateways` and `v_xml_cdr`-shaped state.

One endpoint, `POST /app/rest_api/rest.php`, HTTP Basic with a key's uuid and secret (401
`{"error":"unauthorized"}` otherwise), a JSON body `{"action": …}`; errors as the add-on builds them (400
nested "missing required parameter(s)", 400 "unknown action", 404 "domain not found", 500 "extension already
exists"). Gateways remember whether they run in `sofia` as well as their `enabled` flag.

Call records are generated deterministically (`seed_cdrs`) or added row by row (`add_cdr`, for odd rows).

Run it alone with `python manage.py run_simulator fusionpbx --port 9997`.
"""
import random
import secrets
import uuid
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime

from provisioning.simulators.base import Response, Simulator, route
from provisioning.simulators.http_basic import basic_credentials, same_secret

ENDPOINT = "/app/rest_api/rest.php"
NAMESPACE = uuid.UUID("6f1c2b1e-9a7d-4c55-8f0e-0c1d2e3f4a5b")
CDR_LIST_FIELDS = (
    "xml_cdr_uuid", "extension_uuid", "direction", "start_stamp", "end_stamp", "hangup_cause", "duration",
    "missed_call", "record_name", "bridge_uuid", "caller_id_name", "caller_id_number", "caller_destination",
    "source_number", "destination_number", "leg",
)
DEFAULT_KEY = "00000000-0000-4000-8000-000000000001"
DEFAULT_SECRET = "sim-key-secret"  # a simulator's: never a real key
START_EPOCH = 1767225600  # 2026-01-01 00:00:00 UTC: where seeded call records begin


def sim_uuid(*parts):
    return str(uuid.uuid5(NAMESPACE, "/".join(str(p) for p in parts)))


@dataclass
class SimExtension:
    extension_uuid: str
    extension: str
    enabled: bool = True
    password: str = ""
    caller_id_name: str = ""
    caller_id_number: str = ""


@dataclass
class SimGateway:
    gateway_uuid: str
    gateway: str
    profile: str = "external"
    enabled: bool = True
    running: bool = True  # started in sofia


@dataclass
class SimDomain:
    domain_uuid: str
    domain_name: str
    domain_enabled: bool = True
    extensions: dict = field(default_factory=dict)  # extension -> SimExtension
    gateways: dict = field(default_factory=dict)  # gateway_uuid -> SimGateway
    dids: list = field(default_factory=list)

    def row(self):
        return {"domain_uuid": self.domain_uuid, "domain_parent_uuid": None, "domain_name": self.domain_name,
                "domain_enabled": "true" if self.domain_enabled else "false", "domain_description": "",
                "insert_date": "2026-01-01 00:00:00+00", "insert_user": None, "update_date": None, "update_user": None}


class FusionPbxSimulator(Simulator):
    name = "fusionpbx"

    def __init__(self, *, latency_ms=0, keys=None, portal_app="portal_billing", portal_app_installed=True):
        super().__init__(latency_ms=latency_ms)
        self.keys = dict(keys or {DEFAULT_KEY: DEFAULT_SECRET})
        self.portal_app = portal_app
        self.portal_app_installed = portal_app_installed
        self.domains = {}  # domain_name -> SimDomain
        self.cdrs = []  # v_xml_cdr rows (dicts)
        self.actions = []  # (action, app) of each authenticated call, for tests

    # --- the endpoint ------------------------------------------------------------------------------------

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
        action, app = str(body["action"]).lower(), body.get("app")
        with self.lock:
            self.actions.append((action, app))
            if app:
                if app != self.portal_app or not self.portal_app_installed:
                    return Response(400, {"error": "unknown action"})
                handler = APP_ACTIONS.get(action)
            else:
                handler = ACTIONS.get(action)
            if handler is None:
                return Response(400, {"error": "unknown action"})
            return handler(self, body)

    def _authenticated(self, request):
        user, password = basic_credentials(request) or ("", "")
        return user in self.keys and same_secret(password, self.keys[user])

    # --- add-on actions ----------------------------------------------------------------------------------

    def domain_details(self, body):
        domain = None
        if body.get("domain_uuid"):
            domain = self._by_uuid(body["domain_uuid"])
        elif body.get("domain_name"):
            domain = self.domains.get(str(body["domain_name"]).lower())
        else:
            return Response(400, {"error": "missing required parameter domain_uuid or domain_name"})
        if domain is None:
            return Response(404, {"error": "domain not found"})
        return Response(200, domain.row())

    def extension_create(self, body):
        if error := _required(body, "domain_uuid", "extension"):
            return error
        domain = self._by_uuid(body["domain_uuid"])
        if domain is None:
            return Response(500, {"error": "domain not found"})
        number = str(body["extension"])
        if number in domain.extensions:
            return Response(500, {"error": "extension already exists"})
        ext = self._add_extension(domain, number, caller_id_name=str(body.get("caller_id_name") or ""),
                                  caller_id_number=str(body.get("caller_id_number") or ""))
        return Response(200, _extension_row(domain, ext))

    def extension_list(self, body):
        domain, error = self._domain_param(body)
        if error:
            return error
        return Response(200, [{"extension_uuid": e.extension_uuid, "extension": e.extension,
                               "emergency_caller_id_number": ""} for e in domain.extensions.values()])

    def extension_details(self, body):
        if error := _required(body, "domain_uuid", "extension_uuid"):
            return error
        domain = self._by_uuid(body["domain_uuid"])
        ext = self._extension_by_uuid(domain, body["extension_uuid"]) if domain else None
        if ext is None:
            return Response(404, {"error": "extension not found"})
        return Response(200, _extension_row(domain, ext))

    def cdr_list(self, body):
        domain, error = self._domain_param(body)
        if error:
            return error
        rows = sorted((r for r in self.cdrs if r.get("domain_uuid") == domain.domain_uuid),
                      key=lambda r: str(r.get("end_stamp")), reverse=True)[:100]
        return Response(200, [{name: row.get(name) for name in CDR_LIST_FIELDS} for row in rows])

    # --- the portal app's actions ------------------------------------------------------------------------

    def portal_info(self, body):
        return Response(200, {"app": self.portal_app, "version": "1"})

    def gateway_list(self, body):
        domain, error = self._domain_param(body)
        if error:
            return error
        return Response(200, [_gateway_row(domain, g) for g in domain.gateways.values()])

    def gateway_switch(self, body, enable):
        if error := _required(body, "gateway_uuid"):
            return error
        for domain in self.domains.values():
            gateway = domain.gateways.get(body["gateway_uuid"])
            if gateway is not None:
                gateway.enabled = gateway.running = enable
                return Response(200, _gateway_row(domain, gateway))
        return Response(404, {"error": "gateway not found"})

    def extension_switch(self, body, enable):
        if error := _required(body, "domain_uuid", "extension_uuid"):
            return error
        domain = self._by_uuid(body["domain_uuid"])
        if domain is None:
            return Response(404, {"error": "domain not found"})
        ext = self._extension_by_uuid(domain, body["extension_uuid"])
        if ext is None:
            return Response(404, {"error": "extension not found"})
        ext.enabled = enable
        return Response(200, {"extension_uuid": ext.extension_uuid, "extension": ext.extension,
                              "enabled": "true" if enable else "false"})

    def xml_cdr_list(self, body):
        try:
            since = int(float(body.get("since_epoch") or 0))
            limit = int(body.get("limit") or 1000)
        except (TypeError, ValueError):
            return Response(400, {"error": "since_epoch and limit must be numbers"})
        if not 1 <= limit <= 1000:
            return Response(400, {"error": "limit must be between 1 and 1000"})
        after = str(body.get("after_uuid") or "")
        rows = self.cdrs
        if body.get("domain_uuid"):
            domain = self._by_uuid(body["domain_uuid"])
            if domain is None:
                return Response(404, {"error": "domain not found"})
            rows = [r for r in rows if r.get("domain_uuid") == domain.domain_uuid]
        rows = sorted((r for r in rows if _key(r) > (since, after)), key=_key)
        page = rows[:limit]
        following = None
        if len(rows) > limit:
            last = page[-1]
            following = {"since_epoch": _key(last)[0], "after_uuid": _key(last)[1]}
        return Response(200, {"rows": [dict(row) for row in page], "next": following})

    # --- helpers -----------------------------------------------------------------------------------------

    def _by_uuid(self, domain_uuid):
        return next((d for d in self.domains.values() if d.domain_uuid == domain_uuid), None)

    @staticmethod
    def _extension_by_uuid(domain, extension_uuid):
        return next((e for e in domain.extensions.values() if e.extension_uuid == extension_uuid), None)

    def _domain_param(self, body):
        if error := _required(body, "domain_uuid"):
            return None, error
        domain = self._by_uuid(body["domain_uuid"])
        if domain is None:
            return None, Response(404, {"error": "domain not found"})
        return domain, None

    @staticmethod
    def _add_extension(domain, number, **fields):
        ext = SimExtension(sim_uuid(domain.domain_name, "ext", number), number, password=secrets.token_urlsafe(9),
                           **fields)
        domain.extensions[number] = ext
        return ext

    # --- state for tests and the demo --------------------------------------------------------------------

    def add_domain(self, name, *, extensions=(), gateways=("carrier",), dids=(), enabled=True):
        with self.lock:
            name = name.lower()
            domain = self.domains.get(name)
            if domain is None:
                domain = self.domains[name] = SimDomain(sim_uuid(name), name, enabled)
            for number in extensions:
                if str(number) not in domain.extensions:
                    self._add_extension(domain, str(number))
            for gateway_name in gateways:
                gateway_uuid = sim_uuid(name, "gateway", gateway_name)
                domain.gateways.setdefault(gateway_uuid, SimGateway(gateway_uuid, gateway_name))
            domain.dids = list(dict.fromkeys([*domain.dids, *dids]))
            return domain

    def domain(self, name):
        with self.lock:
            return self.domains.get(name.lower())

    def gateway_enabled(self, domain_name, gateway=None):
        """Whether the domain's gateway (by name; None: all of them) is enabled and running."""
        with self.lock:
            gateways = [g for g in self.domains[domain_name.lower()].gateways.values()
                        if gateway is None or g.gateway == gateway]
            return all(g.enabled and g.running for g in gateways)

    def set_gateway(self, domain_name, gateway, *, enabled):
        with self.lock:
            for g in self.domains[domain_name.lower()].gateways.values():
                if g.gateway == gateway:
                    g.enabled = g.running = enabled

    def extension_enabled(self, domain_name, extension):
        with self.lock:
            return self.domains[domain_name.lower()].extensions[str(extension)].enabled

    def set_extension(self, domain_name, extension, *, enabled):
        with self.lock:
            self.domains[domain_name.lower()].extensions[str(extension)].enabled = enabled

    def add_cdr(self, domain_name, **row):
        """Add one v_xml_cdr row (any columns; odd values welcome): a complete answered outbound call unless
        overridden."""
        with self.lock:
            domain = self.domains[domain_name.lower()]
            number = len(self.cdrs)
            base = _cdr_row(domain, number, "outbound", START_EPOCH + number * 60, 30, 42,
                            next(iter(domain.extensions.values()), None), "12125550100", "12125550100")
            full = {**base, **row}
            self.cdrs.append(full)
            return full

    def seed_cdrs(self, domain_name, count, *, seed=1, start_epoch=START_EPOCH):
        """`count` deterministic call records for the domain (same arguments, same rows): about 60% answered
        outbound, 20% inbound to the domain's DIDs, 10% local, 5% unanswered and 5% b-legs."""
        rng = random.Random(f"{domain_name}:{seed}")
        with self.lock:
            domain = self.domains[domain_name.lower()]
            extensions = list(domain.extensions.values()) or [None]
            dids = domain.dids or ["12125550100"]
            at = start_epoch
            rows = []
            for _ in range(count):
                at += rng.randint(30, 900)
                ext = rng.choice(extensions)
                roll = rng.random()
                dialled = f"1{rng.choice('2345678')}{rng.randint(10, 99)}{rng.choice('2345678')}{rng.randint(100000, 999999)}"
                billsec = rng.randint(1, 1800)
                if roll < 0.6:
                    row = _cdr_row(domain, len(self.cdrs) + len(rows), "outbound", at, rng.randint(2, 20), billsec, ext,
                                   dialled, dialled)
                elif roll < 0.8:
                    did = rng.choice(dids)
                    row = _cdr_row(domain, len(self.cdrs) + len(rows), "inbound", at, rng.randint(2, 20), billsec, ext,
                                   did, ext.extension if ext else "100", caller=dialled)
                elif roll < 0.9:
                    other = rng.choice(extensions)
                    target = other.extension if other else "101"
                    row = _cdr_row(domain, len(self.cdrs) + len(rows), "local", at, 3, billsec, ext, target, target)
                elif roll < 0.95:
                    row = _cdr_row(domain, len(self.cdrs) + len(rows), "outbound", at, 25, 0, ext, dialled, dialled)
                else:
                    row = _cdr_row(domain, len(self.cdrs) + len(rows), "outbound", at, 4, billsec, ext, dialled,
                                   dialled, leg="b")
                rows.append(row)
            self.cdrs.extend(rows)
            return rows

    def snapshot(self):
        with self.lock:
            return {
                "domains": {
                    name: {
                        "domain_uuid": d.domain_uuid, "domain_enabled": d.domain_enabled, "dids": d.dids,
                        "extensions": {n: {"extension_uuid": e.extension_uuid, "enabled": e.enabled}
                                       for n, e in d.extensions.items()},
                        "gateways": {g.gateway: asdict(g) for g in d.gateways.values()},
                    } for name, d in self.domains.items()
                },
                "cdrs": len(self.cdrs),
                "portal_app_installed": self.portal_app_installed,
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
            self.domains.clear()
            self.cdrs.clear()
            self.actions.clear()
            self.portal_app_installed = True

    def set_knobs(self, data):
        super().set_knobs(data)
        if "portal_app_installed" in data:
            self.portal_app_installed = bool(data["portal_app_installed"])


ACTIONS = {
    "domain-details": FusionPbxSimulator.domain_details,
    "extension-create": FusionPbxSimulator.extension_create,
    "extension-list": FusionPbxSimulator.extension_list,
    "extension-details": FusionPbxSimulator.extension_details,
    "cdr-list": FusionPbxSimulator.cdr_list,
}
APP_ACTIONS = {
    "portal-info": FusionPbxSimulator.portal_info,
    "gateway-list": FusionPbxSimulator.gateway_list,
    "gateway-enable": lambda sim, body: sim.gateway_switch(body, True),
    "gateway-disable": lambda sim, body: sim.gateway_switch(body, False),
    "extension-enable": lambda sim, body: sim.extension_switch(body, True),
    "extension-disable": lambda sim, body: sim.extension_switch(body, False),
    "xml-cdr-list": FusionPbxSimulator.xml_cdr_list,
}


def _missing(names):
    return Response(400, {"error": {"error": "missing required parameter(s)", "missing_parameters": names}})


def _required(body, *names):
    """The add-on's 400 naming the missing parameters, or None when all are there."""
    missing = [name for name in names if not body.get(name)]
    return _missing(missing) if missing else None


def _key(row):
    return (int(float(row.get("end_epoch") or 0)), str(row.get("xml_cdr_uuid") or ""))


def _stamp(epoch):
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d %H:%M:%S+00") if epoch else None


def _extension_row(domain, ext):
    return {
        "extension_uuid": ext.extension_uuid, "domain_uuid": domain.domain_uuid, "extension": ext.extension,
        "number_alias": "", "password": ext.password, "accountcode": domain.domain_name,
        "effective_caller_id_name": ext.caller_id_name, "effective_caller_id_number": ext.caller_id_number,
        "outbound_caller_id_name": "", "outbound_caller_id_number": "", "emergency_caller_id_name": "",
        "emergency_caller_id_number": "", "limit_max": "5", "call_timeout": "30", "user_context": domain.domain_name,
        "enabled": "true" if ext.enabled else "false", "description": "",
    }


def _gateway_row(domain, gateway):
    return {"gateway_uuid": gateway.gateway_uuid, "gateway": gateway.gateway, "domain_uuid": domain.domain_uuid,
            "profile": gateway.profile, "enabled": "true" if gateway.enabled else "false"}


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
