"""A Vodia PBX REST API simulator (shared/providers/vodia.md): HTTP Basic on every call (401 for unknown or
wrong credentials, 403 for an account without "API access"), tenants with their config and accounts, the
documented paths under /rest/system/ and /rest/domain/{d}/, booleans in user_settings as the strings "true" /
"false", 404 for unknown tenants and accounts.

Vodia pushes call records rather than serving them; `json_leg(…)`, `webcdr(…)` and `push_cdrs(…)` build the
bodies it would POST (cdr-formats.md §4), for tests of the portal's push endpoint, and `push(url, body)` sends
one as the PBX would.

Run it alone with `python manage.py run_simulator vodia --port 9996`.
"""
import random
from dataclasses import dataclass, field

import requests

from provisioning.simulation.base import Response, Simulator, route
from provisioning.simulation.http_basic import basic_credentials, same_secret

DEFAULT_ADMIN = "admin"
DEFAULT_PASSWORD = "sim-admin-pass"  # a simulator's: never a real PBX's
USER_SETTINGS_BOOLEANS = ("disabled",)
PUSH_START = 1767261600  # 2026-01-01 10:00:00 UTC: where generated pushed calls begin


@dataclass
class SimAccount:
    id: str
    usertype: str = "extensions"
    settings: dict = field(default_factory=dict)

    @property
    def disabled(self):
        return self.settings.get("disabled") == "true"

    def listing(self):
        return {"id": self.id, "name": self.id, "alias": [], "ani": [], "displayname": self.settings.get("name", ""),
                "disabled": self.disabled, "license": "", "visible": True, "usertype": self.usertype}


@dataclass
class SimTenant:
    name: str
    config: dict = field(default_factory=dict)
    accounts: dict = field(default_factory=dict)  # id -> SimAccount


class VodiaSimulator(Simulator):
    name = "vodia"

    def __init__(self, *, latency_ms=0, admin_username=DEFAULT_ADMIN, admin_password=DEFAULT_PASSWORD):
        super().__init__(latency_ms=latency_ms)
        self.users = {admin_username: {"password": admin_password, "api_access": True, "tenant": ""}}
        self.tenants = {}

    def failure_response(self, status):
        return Response(status, {"error": f"Injected failure {status}"})

    def not_found(self, request, allowed_methods):
        return Response(405 if allowed_methods else 404, {})

    def call_route(self, handler, request, params):
        user = self._user(request)
        if user is None:
            return Response(401, {}, headers={"WWW-Authenticate": 'Basic realm="Vodia PBX"'})
        if not user["api_access"]:
            return Response(403, {})
        tenant_name = params.pop("tenant", None)
        if user["tenant"] and (tenant_name or "").lower() != user["tenant"]:
            return Response(403, {})  # a tenant admin only reaches its own tenant
        with self.lock:
            if tenant_name is None:
                return handler(request, **params)
            tenant = self.tenants.get(tenant_name.lower())
            if tenant is None:
                return Response(404, {})
            return handler(request, tenant=tenant, **params)

    def _user(self, request):
        name, password = basic_credentials(request) or ("", "")
        user = self.users.get(name)
        if user is None or not same_secret(password, user["password"]):
            return None
        return user

    # --- system ------------------------------------------------------------------------------------------

    @route("GET", "/rest/system/session")
    def session(self, request):
        return Response(200, {"session": "basic", "version": "69.5.3"})

    @route("GET", "/rest/system/domains")
    def domains(self, request):
        return Response(200, sorted(self.tenants))

    @route("POST", "/rest/system/domains")
    def add_domains(self, request):
        names = request.json
        if not isinstance(names, list) or not all(isinstance(name, str) and name for name in names):
            return Response(400, {"error": "expected an array of tenant names"})
        for name in names:
            self.tenants.setdefault(name.lower(), SimTenant(name.lower(), _config(name.lower())))
        return Response(200, True)

    @route("DELETE", "/rest/system/domains/{name}")
    def delete_domain(self, request, name):
        if self.tenants.pop(name.lower(), None) is None:
            return Response(404, {})
        return Response(200, True)

    @route("GET", "/rest/system/domaininfo")
    def domaininfo(self, request):
        rows = [{"id": index, "name": t.name, "alias": [], "country": t.config.get("country_code", ""),
                 "extensions": sum(a.usertype == "extensions" for a in t.accounts.values()),
                 "accounts": len(t.accounts), "visible": True, "registrations": 0, "regs": 0}
                for index, t in enumerate(sorted(self.tenants.values(), key=lambda t: t.name), 1)]
        if request.query.get("id"):
            rows = [row for row in rows if str(row["id"]) == request.query["id"]]
        return Response(200, rows)

    # --- tenant ------------------------------------------------------------------------------------------

    @route("GET", "/rest/domain/{tenant}/config")
    def get_config(self, request, tenant):
        return Response(200, dict(tenant.config))

    @route("POST", "/rest/domain/{tenant}/config")
    def set_config(self, request, tenant):
        body = request.json
        if not isinstance(body, dict):
            return Response(400, {"error": "expected the config object"})
        tenant.config = dict(body)  # the whole object replaces the old one (vodia.md §3)
        return Response(200, {})

    @route("GET", "/rest/domain/{tenant}/users")
    def users_list(self, request, tenant):
        return Response(200, [a.listing() for a in sorted(tenant.accounts.values(), key=lambda a: a.id)])

    @route("GET", "/rest/domain/{tenant}/userlist/{kind}")
    def userlist(self, request, tenant, kind):
        accounts = [a.listing() for a in tenant.accounts.values() if a.usertype == kind]
        return Response(200, {"action": "domain-list", "accounts": accounts})

    @route("POST", "/rest/domain/{tenant}/addacc")
    def add_account(self, request, tenant):
        body = request.json or {}
        account, kind = str(body.get("account") or ""), str(body.get("type") or "extensions")
        if not account:
            return Response(400, {"error": "account is required"})
        tenant.accounts.setdefault(account, SimAccount(account, kind, {"disabled": "false"}))
        return Response(200, {})

    @route("DELETE", "/rest/domain/{tenant}/addacc/{account}")
    def delete_account(self, request, tenant, account):
        if tenant.accounts.pop(account, None) is None:
            return Response(404, {})
        return Response(200, {})

    @route("GET", "/rest/domain/{tenant}/user_settings/{account}")
    def get_user_settings(self, request, tenant, account):
        found = tenant.accounts.get(account)
        if found is None:
            return Response(404, {})
        return Response(200, {"account": found.id, **{k: v for k, v in found.settings.items() if k != "password"}})

    @route("PUT", "/rest/domain/{tenant}/user_settings/{account}")
    def put_user_settings(self, request, tenant, account):
        found = tenant.accounts.get(account)
        if found is None:
            return Response(404, {})
        body = request.json
        if not isinstance(body, dict):
            return Response(400, {"error": "expected an object of settings"})
        for key in USER_SETTINGS_BOOLEANS:
            if key in body and body[key] not in ("true", "false"):
                return Response(400, {"error": f"{key} must be the string \"true\" or \"false\""})
        found.settings.update({key: value for key, value in body.items()})
        return Response(200, {})

    # --- state for tests and the demo --------------------------------------------------------------------

    def add_tenant(self, name, *, extensions=(), others=()):
        """A tenant with extension accounts (enabled) and other accounts (hunts, acds…: (id, type) pairs)."""
        with self.lock:
            tenant = self.tenants.setdefault(name.lower(), SimTenant(name.lower(), _config(name.lower())))
            for account in extensions:
                tenant.accounts.setdefault(str(account), SimAccount(str(account), "extensions", {
                    "disabled": "false", "name": f"User {account}"}))
            for account, kind in others:
                tenant.accounts.setdefault(str(account), SimAccount(str(account), kind, {"disabled": "false"}))
            return tenant

    def add_user(self, username, password, *, api_access=True, tenant=""):
        with self.lock:
            self.users[username] = {"password": password, "api_access": api_access, "tenant": tenant.lower()}

    def tenant(self, name):
        with self.lock:
            return self.tenants.get(name.lower())

    def extension_disabled(self, tenant, account):
        with self.lock:
            return self.tenants[tenant.lower()].accounts[str(account)].disabled

    def set_disabled(self, tenant, account, disabled):
        with self.lock:
            self.tenants[tenant.lower()].accounts[str(account)].settings["disabled"] = "true" if disabled else "false"

    def snapshot(self):
        with self.lock:
            return {"tenants": {name: {"config": t.config, "accounts": {a.id: {"usertype": a.usertype, **a.settings}
                                                                        for a in t.accounts.values()}}
                                for name, t in self.tenants.items()}}

    def seed(self, data):
        """{"tenants": [{"name", "extensions"?: [...], "disabled"?: [...]}]}."""
        for row in data.get("tenants", []):
            self.add_tenant(row["name"], extensions=row.get("extensions", ()))
            for account in row.get("disabled", ()):
                self.set_disabled(row["name"], account, True)

    def reset(self):
        super().reset()
        with self.lock:
            self.tenants.clear()


def _config(name):
    return {"primary": name, "alias": [], "admins": [], "country_code": "1", "display": name, "max_extensions": 0,
            "max_calls": 0, "max_trunk_calls": 0, "max_call_duration": 0, "cdr_keep": 0, "visible": True}


# --- pushed call records (cdr-formats.md §4) ---------------------------------------------------------------


def json_leg(*, call_id, primary_call_id=None, direction="O", extension="", extension_name="", trunk="",
             local_party="", remote_party="", start=None, connect=None, end=None, system="sim-vodia"):
    """One `json:` leg as Vodia POSTs it ("action": "call-data-record")."""
    return {
        "action": "call-data-record", "System": system, "PrimaryCallID": primary_call_id or call_id, "CallID": call_id,
        "Type": "extcall", "Direction": direction, "Extension": extension, "ExtensionName": extension_name,
        "TrunkName": trunk, "TrunkID": "10" if trunk else "", "LocalParty": local_party, "RemoteParty": remote_party,
        "IPAdr": "192.0.2.10", "TimeStart": start, "TimeConnected": connect, "TimeEnd": end,
    }


def webcdr(*, call_id, domain, from_, to, start, connect=None, end=None, legs=(), version="69.5.3"):
    """One `webcdr:` call record (one POST per call)."""
    return {
        "version": version, "system": "sim-vodia", "domain": domain, "callid": call_id, "from": from_, "to": to,
        "cmc": "", "comment": "", "category": "", "rating": "", "abandoned": connect is None, "available": 0,
        "start": start, "connect": connect, "end": end, "legs": list(legs), "recordings": [], "log": [],
    }


def push_cdrs(tenant, count, *, dids=("15484815577",), extensions=("8300",), seed=1, start=PUSH_START):
    """`count` calls as json legs (two per outbound call, one trunk leg per inbound call), deterministic for the
    same arguments: about 60% outbound, 30% inbound to the DIDs, 10% unanswered."""
    rng = random.Random(f"{tenant}:{seed}")
    legs, at = [], start
    for number in range(count):
        at += rng.randint(60, 900)
        ext, did = rng.choice(extensions), rng.choice(dids)
        remote = f"+1{rng.choice('2345678')}{rng.randint(10, 99)}{rng.choice('2345678')}{rng.randint(100000, 999999)}"
        primary = f"{tenant}-{seed}-{number}"
        roll = rng.random()
        connect = None if roll >= 0.9 else at + rng.randint(2, 15)
        end = (connect + rng.randint(1, 1200)) if connect else at + 20
        if roll < 0.6 or roll >= 0.9:
            legs.append(json_leg(call_id=primary, direction="I", extension=ext, extension_name=f"User {ext}",
                                 local_party=remote, remote_party=ext, start=at, connect=connect, end=end))
            legs.append(json_leg(call_id=f"{primary}-trunk", primary_call_id=primary, direction="O", trunk="SIP Trunk",
                                 local_party=ext, remote_party=remote, start=at, connect=connect, end=end))
        else:
            legs.append(json_leg(call_id=primary, direction="I", trunk="SIP Trunk", local_party=did,
                                 remote_party=remote, start=at, connect=connect, end=end))
    return legs


def push(url, body, *, username="", password="", timeout=5):
    """POST one pushed body to the portal's receiver as the PBX does; returns the requests Response."""
    auth = (username, password) if username else None
    return requests.post(url, json=body, auth=auth, timeout=timeout)
