"""A SmarterMail REST API (v16+) simulator, following shared/providers/smartermail.md and its "Simulator
contract": the same paths under /api/v1/, the envelope on every answer with resultCode equal to the HTTP
status, business errors as 400 + success:false + the vendor's code in `message`, real token expiry (access,
refresh and 60-second single-use auto-login tokens), 401 without a valid token and 403 for a domain admin on
settings/sysadmin/*, sizes in bytes.

Mailing lists follow the paths and fields of the clients the spec cites (SolidCP's SmarterMail100 provider and
SmarterMailMcp, which agree): settings/domain/mailing-lists/list, /add, /{id}/delete, /{id}/subscriber-search,
/{id}/subscriber-add and /{id}/subscriber-remove (these two take a JSON array of addresses). The sources give no
error codes for lists; this simulator's follow the vendor's pattern: MAILING_LIST_ADD_ERROR_NAME_IN_USE (the
name is a mailbox's, an alias's or another list's), MAILING_LIST_ADD_ERROR_INVALID_NAME, MAILING_LIST_NOT_FOUND,
MAILING_LIST_ERROR_INVALID_ADDRESS, MAILING_LIST_ERROR_INVALID_MODERATOR. Adding a subscriber twice, or removing
one that is not there, changes nothing and succeeds.

Storage is simulated too: each domain's `path` is a folder in `files`, removed by domain-delete only when
deleteFiles is true, so tests can tell "files kept" from "files deleted".

Run it alone with `python manage.py run_simulator smartermail --port 9998`.
"""
import base64
import re
import secrets
import threading
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from html import escape

from provisioning.simulation.base import NO_ICON, Response, Simulator, route

API = "/api/v1/"
MB = 1024 * 1024
DOMAIN_NAME = re.compile(r"^(?=.{4,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
USER_NAME = re.compile(r"^[a-z0-9._+-]{1,64}$", re.IGNORECASE)
LINUX_DOMAINS_ROOT = "/var/lib/smartermail/Domains"


@dataclass
class SimUser:
    username: str  # local part
    password: str
    full_name: str = ""
    is_domain_admin: bool = False
    max_mailbox_size: int = 0  # bytes, 0 = unlimited
    bytes_used: int = 0
    is_enabled: bool = True
    forward_list: list = field(default_factory=list)  # the mailbox's forwarding addresses
    delete_on_forward: bool = False  # forward without keeping a copy


@dataclass
class SimMailingList:
    """A mailing list (settings/domain/mailing-lists/*): found by its numeric id, addressed by its local part."""

    id: int
    list_address: str  # local part
    moderator_address: str
    description: str = ""
    subscribers: list = field(default_factory=list)  # addresses, in the order they were added

    def row(self):
        """One item of GET settings/domain/mailing-lists/list."""
        return {"id": self.id, "listAddress": self.list_address, "moderatorAddress": self.moderator_address,
                "description": self.description, "status": 0, "postingPermissions": 1, "enableDigest": False,
                "doubleOptIn": False, "disableSubscriptions": False, "listSubscriberCount": len(self.subscribers),
                "digestSubscriberCount": 0, "posterCount": 0, "bannedUserCount": 0}


@dataclass
class SimDomain:
    name: str
    path: str
    hostname: str = ""
    is_enabled: bool = True
    user_limit: int = 0
    alias_limit: int = 0
    list_limit: int = 0
    domain_alias_count: int = 0
    max_size: int = 0  # bytes, 0 = unlimited
    outgoing_ip: str = ""
    size: int = 0  # bytes used
    main_admin: str = ""
    users: dict = field(default_factory=dict)  # local part -> SimUser
    aliases: dict = field(default_factory=dict)  # alias name -> list of target addresses
    mailing_lists: dict = field(default_factory=dict)  # list id -> SimMailingList
    domain_aliases: list = field(default_factory=list)  # other domain names delivering here
    dkim: dict = field(default_factory=lambda: dict(DKIM_OFF))  # domainKeysSettings

    def listing(self):
        """One row of GET settings/sysadmin/domains."""
        users = [u for u in self.users.values()]
        return {
            "name": self.name,
            "path": self.path,
            "hostname": self.hostname,
            "isEnabled": self.is_enabled,
            "userCount": len(users),
            "userLimit": self.user_limit,
            "aliasCount": len(self.aliases),
            "aliasLimit": self.alias_limit,
            "domainAliasCount": self.domain_alias_count,
            "listCount": len(self.mailing_lists),
            "listLimit": self.list_limit,
            "size": self.size,
            "maxSize": self.max_size,
            "fileStorageSize": 0,
            "sizeMb": round(self.size / MB, 2),
            "fileStorageSizeMb": 0,
            "imgLink": "",
            "status": "Enabled" if self.is_enabled else "Disabled",
        }

    def taken(self, local):
        """Whether a mailbox, alias or mailing list has this local part: each address exists once."""
        return local in self.users or local in self.aliases or any(
            item.list_address == local for item in self.mailing_lists.values())

    def settings(self):
        """domainSettings as GET settings/sysadmin/domain-settings/{d} returns them."""
        return {
            "domainPath": self.path,
            "isEnabled": self.is_enabled,
            "hostname": self.hostname,
            "maxSize": self.max_size,
            "maxUsers": self.user_limit,
            "maxAliases": self.alias_limit,
            "maxDomainAliases": self.domain_alias_count,
            "maxLists": self.list_limit,
            "maxMessageSize": 0,
            "maxRecipients": 0,
            "maxMailboxSize": 0,
            "outgoingIP": self.outgoing_ip,
            "catchAll": "",
            "showDomainAliasMenu": True,
            "showListMenu": True,
            "showSpamMenu": True,
            "sharedGlobalAddressList": False,
            "requireSmtpAuthentication": True,
            "listCommandAddress": "",
            "mainDomainAdmin": self.main_admin,
            "throttleSettings": {
                "messagesPerHour": 0, "messagesAction": 0, "bandwidthPerHour": 0, "bandwidthAction": 0,
                "bouncesPerHour": 0, "bouncesAction": 0,
            },
            "domainKeysSettings": dict(self.dkim),
        }


DKIM_OFF = {"selector": "", "publicKey": "", "keySize": 0, "pending": False, "isActive": False}

# domainSettings fields a POST may change, and the attribute each one sets.
SETTINGS_FIELDS = {
    "isEnabled": ("is_enabled", bool),
    "maxUsers": ("user_limit", int),
    "maxSize": ("max_size", int),
    "maxAliases": ("alias_limit", int),
    "maxDomainAliases": ("domain_alias_count", int),
    "maxLists": ("list_limit", int),
    "hostname": ("hostname", str),
    "outgoingIP": ("outgoing_ip", str),
}


@dataclass
class Token:
    value: str
    username: str  # "admin" for the system admin, "user@domain" otherwise
    level: str  # "sa", "da" or "user"
    domain: str
    expires_at: float


class SmarterMailSimulator(Simulator):
    name = "smartermail"
    DEFAULT_ADMIN_USERNAME = "admin"
    DEFAULT_ADMIN_PASSWORD = "sim-admin-pass"  # a simulator's: never a real server's

    def __init__(self, *, latency_ms=0, admin_username=DEFAULT_ADMIN_USERNAME, admin_password=DEFAULT_ADMIN_PASSWORD,
                 access_token_lifetime=900, refresh_token_lifetime=86400, autologin_lifetime=60,
                 password_min_length=6):
        super().__init__(latency_ms=latency_ms)
        self.admin_username = admin_username
        self.admin_password = admin_password
        self.access_token_lifetime = access_token_lifetime
        self.refresh_token_lifetime = refresh_token_lifetime
        self.autologin_lifetime = autologin_lifetime
        self.password_min_length = password_min_length
        self.domains = {}  # name -> SimDomain
        self.files = {}  # storage path -> domain name whose data lies there
        self.access_tokens = {}
        self.refresh_tokens = {}
        self.autologin_tokens = {}
        self.logins = 0  # successful authenticate-user calls
        self.refreshes = 0
        self.last_list_id = 0  # mailing-list ids are unique on the server
        self._token_lock = threading.Lock()

    # --- envelope ----------------------------------------------------------------------------------------

    @staticmethod
    def ok(**payload):
        return Response(200, {"success": True, "resultCode": 200, **payload})

    @staticmethod
    def error(status, message=""):
        body = {"success": False, "resultCode": status}
        if message:
            body["message"] = message
        return Response(status, body)

    def failure_response(self, status):
        return self.error(status, "Internal server error")

    def not_found(self, request, allowed_methods):
        if allowed_methods:
            return self.error(405, "Method not allowed")
        return self.error(404, "Not found")

    # --- tokens ------------------------------------------------------------------------------------------

    def _issue(self, username, level, domain):
        now = self.now()
        access = Token(secrets.token_urlsafe(24), username, level, domain, now + self.access_token_lifetime)
        refresh = Token(secrets.token_urlsafe(24), username, level, domain, now + self.refresh_token_lifetime)
        with self._token_lock:
            self.access_tokens[access.value] = access
            self.refresh_tokens[refresh.value] = refresh
        expiration = datetime.fromtimestamp(access.expires_at, UTC).isoformat().replace("+00:00", "Z")
        return access, refresh, expiration

    def _caller(self, request):
        with self._token_lock:
            token = self.access_tokens.get(request.bearer)
        if token is None or token.expires_at <= self.now():
            return None
        return token

    def expire_access_tokens(self):
        """Let every access token run out now (refresh tokens stay valid): a run meets expiry mid-way."""
        with self._token_lock:
            for token in self.access_tokens.values():
                token.expires_at = self.now() - 1

    def expire_refresh_tokens(self):
        with self._token_lock:
            for token in self.refresh_tokens.values():
                token.expires_at = self.now() - 1

    def call_route(self, handler, request, params):
        """Privilege levels (spec §3, §8): a route marked `access="sa"` needs a system admin's token and one
        marked "da" a domain admin's (401 without a valid token, 403 for the wrong level). A "da" route, or an
        "sa" route with `{name}` in its path, gets the `domain` it acts on (400 when unknown, or `missing`)."""
        access = handler.meta.get("access")
        if access is None:
            return handler(request, **params)
        caller = self._caller(request)
        if caller is None:
            return self.error(401, "Unauthorized")
        if caller.level != access:
            return self.error(403, "Forbidden")
        name = params.pop("name", None) if access == "sa" else caller.domain
        if name is None:
            return handler(request, **params)
        with self.lock:
            domain = self.domains.get(name.lower())
            if domain is None:
                return self.error(handler.meta.get("missing", 400), "Domain not found")
            return handler(request, domain=domain, **params)

    # --- auth --------------------------------------------------------------------------------------------

    @route("POST", API + "auth/authenticate-user")
    def authenticate_user(self, request):
        body = request.json or {}
        username, password = str(body.get("username", "")), str(body.get("password", ""))
        with self.lock:
            if username == self.admin_username:
                if password != self.admin_password:
                    return self.error(401, "Invalid username or password")
                level, domain_name, email = "sa", "", username
            else:
                local, _, domain_name = username.lower().partition("@")
                domain = self.domains.get(domain_name)
                user = domain.users.get(local) if domain else None
                if user is None or user.password != password:
                    return self.error(401, "Invalid username or password")
                if not domain.is_enabled or not user.is_enabled:
                    return self.error(401, "Account or domain disabled")
                level, email = ("da" if user.is_domain_admin else "user"), f"{user.username}@{domain.name}"
            self.logins += 1
        access, refresh, expiration = self._issue(email, level, domain_name)
        extra = {}
        if body.get("retrieveAutoLoginToken"):
            extra = self._autologin(request, email, level, domain_name)
        return self.ok(
            emailAddress=email, changePasswordNeeded=False, displayWelcomeWizard=False, isAdmin=level == "sa",
            isDomainAdmin=level == "da", isLicensed=True, autoLoginToken=extra.get("autoLoginToken", ""),
            autoLoginUrl=extra.get("autoLoginUrl", ""), localeId="en", isImpersonating=False,
            canViewPasswords=level == "sa", accessToken=access.value, refreshToken=refresh.value,
            accessTokenExpiration=expiration, username=email,
        )

    @route("POST", API + "auth/refresh-token")
    def refresh_token(self, request):
        value = str((request.json or {}).get("token", ""))
        with self._token_lock:
            old = self.refresh_tokens.pop(value, None)  # refresh tokens are single-use: rotated
        if old is None or old.expires_at <= self.now():
            return self.error(401, "Invalid or expired refresh token")
        self.refreshes += 1
        access, refresh, expiration = self._issue(old.username, old.level, old.domain)
        return self.ok(isImpersonating=False, canViewPasswords=old.level == "sa", accessToken=access.value,
                       refreshToken=refresh.value, accessTokenExpiration=expiration, username=old.username)

    @route("POST", API + "auth/retrieve-login-token", access="sa")
    def retrieve_login_token(self, request):
        body = request.json or {}
        username, domain_name = str(body.get("username", "")), str(body.get("domain", "")).lower()
        if "@" in username:
            username, _, domain_name = username.partition("@")
        with self.lock:
            domain = self.domains.get(domain_name)
            user = domain.users.get(username.lower()) if domain else None
            if user is None:
                return self.error(400, "USER_NOT_FOUND")
            level = "da" if user.is_domain_admin else "user"
        return self.ok(**self._autologin(request, f"{user.username}@{domain.name}", level, domain.name))

    def _autologin(self, request, email, level, domain):
        token = Token(secrets.token_urlsafe(24), email, level, domain, self.now() + self.autologin_lifetime)
        with self._token_lock:
            self.autologin_tokens[token.value] = token
        return {"autoLoginToken": token.value, "autoLoginUrl": f"{request.root_url}/interface/autologin?autologin={token.value}"}

    @route("GET", "/interface/autologin")
    def autologin_page(self, request):
        """Where the browser lands: a page naming who is signed in. Tokens last 60 s and work once."""
        with self._token_lock:
            token = self.autologin_tokens.pop(request.query.get("autologin", ""), None)
        if token is None or token.expires_at <= self.now():
            return Response(401, _page("Login link expired", "<p>This login link has expired or was already used. "
                                       "Ask for a new one.</p>"))
        with self.lock:
            domain = self.domains.get(token.domain)
            state = "enabled" if domain and domain.is_enabled else "disabled"
        role = "domain administrator" if token.level == "da" else "webmail user"
        body = (f'<h1 id="signed-in">Signed in as {escape(token.username)}</h1>'
                f'<p>SmarterMail {escape(role)} interface for <strong id="domain">{escape(token.domain)}</strong> '
                f'(domain <span id="domain-state">{state}</span>).</p>')
        return Response(200, _page(f"SmarterMail – {token.domain}", body))

    # --- system admin: domains ---------------------------------------------------------------------------

    @route("POST", API + "settings/sysadmin/domain-put", access="sa")
    def domain_put(self, request):
        body = request.json or {}
        data = body.get("domainData") or {}
        name = str(data.get("name", "")).strip().lower()
        admin_username = str(body.get("adminUsername", "")).strip().lower()
        admin_password = str(body.get("adminPassword", ""))
        if not DOMAIN_NAME.match(name):
            return self.error(400, "DOMAIN_ADD_ERROR_INVALID_NAME")
        if not USER_NAME.match(admin_username or "-") or not admin_username:
            return self.error(400, "USER_ADD_ERROR_INVALID_NAME")
        if len(admin_password) < self.password_min_length:
            return self.error(400, "USER_ADD_ERROR_PASSWORD_TOO_SHORT")
        with self.lock:
            if name in self.domains:
                return self.error(400, "DOMAIN_ADD_ERROR_NAME_IN_USE")
            domain = SimDomain(
                name=name,
                path=str(data.get("path") or f"{LINUX_DOMAINS_ROOT}/{name}"),
                hostname=str(data.get("hostname") or f"mail.{name}"),
                is_enabled=bool(data.get("isEnabled", True)),
                user_limit=int(data.get("userLimit") or 0),
                alias_limit=int(data.get("aliasLimit") or 0),
                list_limit=int(data.get("listLimit") or 0),
                domain_alias_count=int(data.get("domainAliasCount") or 0),
                max_size=int(data.get("maxSize") or 0),
                main_admin=admin_username,
            )
            domain.users[admin_username] = SimUser(admin_username, admin_password, is_domain_admin=True)
            self.domains[name] = domain
            self.files[domain.path] = name
        return self.ok()

    @route("GET", API + "settings/sysadmin/domains", access="sa")
    def domains_list(self, request):
        with self.lock:
            rows = [domain.listing() for domain in self.domains.values()]
        return self.ok(data=rows)

    @route("GET", API + "settings/sysadmin/domain/{name}", access="sa", missing=404)
    def domain_get(self, request, domain):
        return self.ok(domainData=domain.listing())

    @route("GET", API + "settings/sysadmin/domain-settings/{name}", access="sa")
    def domain_settings_get(self, request, domain):
        return self.ok(domainSettings=domain.settings())

    @route("POST", API + "settings/sysadmin/domain-settings/{name}", access="sa")
    def domain_settings_post(self, request, domain):
        changes = (request.json or {}).get("domainSettings")
        if not isinstance(changes, dict):
            return self.error(400, "domainSettings is required")
        for key, value in changes.items():  # the server merges: unknown fields are ignored
            if key in SETTINGS_FIELDS:
                attribute, kind = SETTINGS_FIELDS[key]
                setattr(domain, attribute, kind(value))
        return self.ok()

    @route("POST", API + "settings/sysadmin/domain-delete/{name}/{delete_files}", access="sa")
    def domain_delete(self, request, domain, delete_files):
        del self.domains[domain.name]
        if delete_files.lower() == "true":
            self.files.pop(domain.path, None)
        return self.ok()

    @route("POST", API + "settings/sysadmin/manage-domain/{name}", access="sa")
    def manage_domain(self, request, domain):
        email = f"{domain.main_admin}@{domain.name}"
        access, refresh, expiration = self._issue(email, "da", domain.name)
        return self.ok(impersonateAccessToken=access.value, impersonateRefreshToken=refresh.value,
                       impersonateAccessTokenExpiration=expiration, username=domain.main_admin, email=email)

    @route("GET", API + "licensing/about", access="sa")
    def licensing_about(self, request):
        return self.ok(version="100.0.9000 (simulator)", productName="SmarterMail", isLicensed=True)

    @route("GET", API + "licensing/info", access="sa")
    def licensing_info(self, request):
        return self.ok(edition=0, isLicensed=True)

    # --- domain admin (the caller's own domain) ---------------------------------------------------------

    @route("GET", API + "settings/domain/data", access="da")
    def domain_data(self, request, domain):
        listing = domain.listing()
        keys = ("name", "hostname", "isEnabled", "userCount", "aliasCount", "size", "sizeMb", "maxSize",
                "userLimit", "aliasLimit")
        return self.ok(domainData={key: listing[key] for key in keys})

    @route("POST", API + "settings/domain/user-put", access="da")
    def user_put(self, request, domain):
        data = (request.json or {}).get("userData") or {}
        username = str(data.get("userName", "")).strip().lower()
        password = str(data.get("password", ""))
        if not USER_NAME.match(username):
            return self.error(400, "USER_ADD_ERROR_INVALID_NAME")
        if len(password) < self.password_min_length:
            return self.error(400, "USER_ADD_ERROR_PASSWORD_TOO_SHORT")
        if domain.taken(username):
            return self.error(400, "USER_ADD_ERROR_NAME_IN_USE")
        flags = data.get("securityFlags") or {}
        domain.users[username] = SimUser(
            username, password, full_name=str(data.get("fullName", "")),
            is_domain_admin=bool(flags.get("isDomainAdmin")), max_mailbox_size=int(data.get("maxMailboxSize") or 0),
        )
        return self.ok()

    @route("POST", API + "settings/domain/post-user", access="da")
    def post_user(self, request, domain):
        body = request.json or {}
        data = body.get("userData") or {}
        user = domain.users.get(str(body.get("email", "")).partition("@")[0].lower())
        if user is None:
            return self.error(400, "USER_NOT_FOUND")
        if "password" in data:
            if len(str(data["password"])) < self.password_min_length:
                return self.error(400, "USER_ADD_ERROR_PASSWORD_TOO_SHORT")
            user.password = str(data["password"])
        if "fullName" in data:
            user.full_name = str(data["fullName"])
        if "maxMailboxSize" in data:
            user.max_mailbox_size = int(data["maxMailboxSize"] or 0)
        return self.ok()

    @route("POST", API + "settings/domain/get-user", access="da")
    def get_user(self, request, domain):
        user = domain.users.get(str((request.json or {}).get("email", "")).partition("@")[0].lower())
        if user is None:
            return self.error(400, "USER_NOT_FOUND")
        return self.ok(userData={
            "userName": user.username, "fullName": user.full_name, "maxMailboxSize": user.max_mailbox_size,
            "isEnabled": user.is_enabled, "securityFlags": {"isDomainAdmin": user.is_domain_admin, "authType": 0},
        })

    @route("POST", API + "settings/domain/account-list-search", access="da")
    def account_list_search(self, request, domain):
        """Users by default (searchFlags ["users"]); aliases with ["aliases"] (accountType 4)."""
        flags = (request.json or {}).get("searchFlags") or ["users"]
        results = []
        if "users" in flags:
            results += [
                {"userName": u.username, "displayName": u.full_name, "accountType": 1 if u.is_domain_admin else 0,
                 "isEnabled": u.is_enabled, "totalMailboxSize": u.bytes_used, "maxMailboxSize": u.max_mailbox_size}
                for u in sorted(domain.users.values(), key=lambda u: u.username)
            ]
        if "aliases" in flags:
            results += [{"userName": name, "displayName": "", "accountType": 4, "isEnabled": True}
                        for name in sorted(domain.aliases)]
        return self.ok(results=results)

    @route("POST", API + "settings/domain/account-list-delete", access="da")
    def account_list_delete(self, request, domain):
        for name in (request.json or {}).get("input") or []:
            domain.users.pop(str(name).lower(), None)
        return self.ok()

    # --- domain admin: aliases, forwarding, domain aliases, DKIM -------------------------------------------

    @route("POST", API + "settings/domain/alias-put", access="da")
    def alias_put(self, request, domain):
        alias = (request.json or {}).get("alias") or {}
        name = str(alias.get("name", "")).strip().lower()
        if not USER_NAME.match(name):
            return self.error(400, "ALIAS_ADD_ERROR_INVALID_NAME")
        if domain.taken(name):
            return self.error(400, "ALIAS_ADD_ERROR_NAME_IN_USE")
        targets = _addresses(alias.get("aliasTargetList"))
        if targets is None:
            return self.error(400, "ALIAS_ERROR_INVALID_TARGET")
        domain.aliases[name] = targets
        return self.ok()

    @route("POST", API + "settings/domain/alias", access="da")
    def alias_post(self, request, domain):
        body = request.json or {}
        old = str(body.get("oldName", "")).strip().lower()
        alias = body.get("alias") or {}
        if old not in domain.aliases:
            return self.error(400, "ALIAS_NOT_FOUND")
        targets = _addresses(alias.get("aliasTargetList"))
        if targets is None:
            return self.error(400, "ALIAS_ERROR_INVALID_TARGET")
        new = str(alias.get("name") or old).strip().lower()
        del domain.aliases[old]
        domain.aliases[new] = targets
        return self.ok()

    @route("GET", API + "settings/domain/alias/{alias}", access="da")
    def alias_get(self, request, domain, alias):
        if alias.lower() not in domain.aliases:
            return self.error(400, "ALIAS_NOT_FOUND")
        return self.ok(alias={"name": alias.lower(), "displayName": "", "allowSending": False, "hideFromGAL": False,
                              "internalOnly": False, "aliasTargetList": list(domain.aliases[alias.lower()])})

    @route("POST", API + "settings/domain/alias-delete/{alias}", access="da")
    def alias_delete(self, request, domain, alias):
        if domain.aliases.pop(alias.lower(), None) is None:
            return self.error(400, "ALIAS_NOT_FOUND")
        return self.ok()

    @route("POST", API + "settings/domain/get-mailbox-forward-list", access="da")
    def get_forward_list(self, request, domain):
        user = domain.users.get(str((request.json or {}).get("email", "")).partition("@")[0].lower())
        if user is None:
            return self.error(400, "USER_NOT_FOUND")
        return self.ok(mailboxForwardList={"forwardList": list(user.forward_list), "keepRecipients": True,
                                           "deleteOnForward": user.delete_on_forward, "spamForwardOption": "None"})

    @route("POST", API + "settings/domain/post-mailbox-forward-list", access="da")
    def post_forward_list(self, request, domain):
        body = request.json or {}
        user = domain.users.get(str(body.get("email", "")).partition("@")[0].lower())
        if user is None:
            return self.error(400, "USER_NOT_FOUND")
        data = body.get("mailboxForwardList") or {}
        targets = _addresses(data.get("forwardList"), empty_ok=True)
        if targets is None:
            return self.error(400, "FORWARD_ERROR_INVALID_ADDRESS")
        user.forward_list, user.delete_on_forward = targets, bool(data.get("deleteOnForward"))
        return self.ok()

    @route("GET", API + "settings/domain/domain-aliases", access="da")
    def domain_aliases_get(self, request, domain):
        return self.ok(domainAliasData=[{"name": name} for name in domain.domain_aliases])

    @route("POST", API + "settings/domain/domain-alias-put/{alias}/{check_mx}", access="da")
    def domain_alias_put(self, request, domain, alias, check_mx):
        alias = alias.lower()
        if not DOMAIN_NAME.match(alias):
            return self.error(400, "DOMAIN_ALIAS_ERROR_INVALID_NAME")
        if alias in domain.domain_aliases or alias in self.domains:
            return self.error(400, "DOMAIN_ALIAS_ERROR_NAME_IN_USE")
        domain.domain_aliases.append(alias)
        return self.ok()

    @route("POST", API + "settings/domain/domain-alias-delete/{alias}", access="da")
    def domain_alias_delete(self, request, domain, alias):
        if alias.lower() not in domain.domain_aliases:
            return self.error(400, "DOMAIN_ALIAS_NOT_FOUND")
        domain.domain_aliases.remove(alias.lower())
        return self.ok()

    @route("GET", API + "settings/domain/domain", access="da")
    def domain_settings_da(self, request, domain):
        return self.ok(domainSettings=domain.settings())

    @route("POST", API + "settings/domain/dkim-create-rollover/{key_size}", access="da")
    def dkim_create_rollover(self, request, domain, key_size):
        if key_size not in ("1024", "2048"):
            return self.error(400, "DKIM_ERROR_INVALID_KEY_SIZE")
        _new_dkim_key(domain, int(key_size))
        return self.ok()

    @route("POST", API + "settings/domain/dkim-enable/{force}", access="da")
    def dkim_enable(self, request, domain, force):
        """A pending key until the DNS record is seen (verify_dkim), or at once when forced."""
        if not domain.dkim["publicKey"]:
            _new_dkim_key(domain, 2048)
        active = force.lower() == "true"
        domain.dkim.update(isActive=active, pending=not active)
        return self.ok()

    @route("POST", API + "settings/domain/dkim-disable", access="da")
    def dkim_disable(self, request, domain):
        domain.dkim.update(isActive=False, pending=False)
        return self.ok()

    # --- domain admin: mailing lists -----------------------------------------------------------------------

    @route("GET", API + "settings/domain/mailing-lists/list", access="da")
    def mailing_lists_list(self, request, domain):
        return self.ok(items=[item.row() for item in sorted(domain.mailing_lists.values(), key=lambda i: i.id)])

    @route("POST", API + "settings/domain/mailing-lists/add", access="da")
    def mailing_list_add(self, request, domain):
        body = request.json or {}
        local = str(body.get("listAddress", "")).strip().lower()
        moderator = str(body.get("moderatorAddress", "")).strip().lower()
        if not USER_NAME.match(local):
            return self.error(400, "MAILING_LIST_ADD_ERROR_INVALID_NAME")
        if domain.taken(local):
            return self.error(400, "MAILING_LIST_ADD_ERROR_NAME_IN_USE")
        if _addresses([moderator]) is None:
            return self.error(400, "MAILING_LIST_ERROR_INVALID_MODERATOR")
        self.last_list_id += 1
        item = SimMailingList(self.last_list_id, local, moderator, description=str(body.get("description") or ""))
        domain.mailing_lists[item.id] = item
        return self.ok(item=item.row())

    @route("POST", API + "settings/domain/mailing-lists/{list_id}/delete", access="da")
    def mailing_list_delete(self, request, domain, list_id):
        if domain.mailing_lists.pop(_number(list_id), None) is None:
            return self.error(400, "MAILING_LIST_NOT_FOUND")
        return self.ok()

    @route("POST", API + "settings/domain/mailing-lists/{list_id}/subscriber-search", access="da")
    def mailing_list_subscriber_search(self, request, domain, list_id):
        item = domain.mailing_lists.get(_number(list_id))
        if item is None:
            return self.error(400, "MAILING_LIST_NOT_FOUND")
        body = request.json or {}
        search = str(body.get("search") or "").lower()
        found = [address for address in item.subscribers if search in address]
        skip, take = int(body.get("skip") or 0), int(body.get("take") or 100)
        return self.ok(items=[{"emailAddress": address, "bounceCount": 0} for address in found[skip:skip + take]],
                       totalCount=len(found))

    @route("POST", API + "settings/domain/mailing-lists/{list_id}/subscriber-add", access="da")
    def mailing_list_subscriber_add(self, request, domain, list_id):
        """The body is a JSON array of addresses; ones already subscribed are left as they are."""
        item = domain.mailing_lists.get(_number(list_id))
        if item is None:
            return self.error(400, "MAILING_LIST_NOT_FOUND")
        addresses = _addresses(request.json if isinstance(request.json, list) else None)
        if addresses is None:
            return self.error(400, "MAILING_LIST_ERROR_INVALID_ADDRESS")
        item.subscribers += [address for address in dict.fromkeys(addresses) if address not in item.subscribers]
        return self.ok()

    @route("POST", API + "settings/domain/mailing-lists/{list_id}/subscriber-remove", access="da")
    def mailing_list_subscriber_remove(self, request, domain, list_id):
        """The body is a JSON array of addresses; ones not subscribed are ignored."""
        item = domain.mailing_lists.get(_number(list_id))
        if item is None:
            return self.error(400, "MAILING_LIST_NOT_FOUND")
        gone = {str(address).strip().lower() for address in (request.json if isinstance(request.json, list) else [])}
        item.subscribers = [address for address in item.subscribers if address not in gone]
        return self.ok()

    # --- inspection (non-vendor) ------------------------------------------------------------------------

    def mailing_list(self, domain_name, local):
        """The domain's mailing list with this local part, or None (tests)."""
        with self.lock:
            return next((item for item in self.domains[domain_name.lower()].mailing_lists.values()
                         if item.list_address == local.lower()), None)

    def verify_dkim(self, name):
        """The domain's DKIM record is published: a pending key starts signing."""
        with self.lock:
            dkim = self.domains[name.lower()].dkim
            if dkim["pending"]:
                dkim.update(pending=False, isActive=True)

    def domain(self, name):
        """The simulated domain, or None (tests read state directly when in-process)."""
        with self.lock:
            return self.domains.get(name.lower())

    def has_files(self, path):
        with self.lock:
            return path in self.files

    def set_size(self, name, size_bytes):
        with self.lock:
            self.domains[name.lower()].size = int(size_bytes)

    def snapshot(self):
        with self.lock:
            return {
                "domains": {
                    name: {**asdict(domain), "users": sorted(domain.users)} for name, domain in self.domains.items()
                },
                "files": dict(self.files),
                "logins": self.logins,
                "refreshes": self.refreshes,
            }

    def seed(self, data):
        """{"domains": [{"name", "admin_username", "admin_password", "path"?, "is_enabled"?, "size"?,
        "user_limit"?, "outgoing_ip"?, "hostname"?, "admin_bytes_used"?}]}: add missing domains, update the others'
        state."""
        with self.lock:
            for row in data.get("domains", []):
                name = str(row["name"]).lower()
                domain = self.domains.get(name)
                if domain is None:
                    admin = str(row.get("admin_username") or "admin").lower()
                    domain = SimDomain(name=name, path=row.get("path") or f"{LINUX_DOMAINS_ROOT}/{name}",
                                       hostname=row.get("hostname") or f"mail.{name}", main_admin=admin)
                    domain.users[admin] = SimUser(admin, str(row.get("admin_password") or secrets.token_urlsafe(12)),
                                                  is_domain_admin=True)
                    self.domains[name] = domain
                    self.files[domain.path] = name
                for key, attribute in (("is_enabled", "is_enabled"), ("size", "size"), ("user_limit", "user_limit"),
                                       ("outgoing_ip", "outgoing_ip"), ("max_size", "max_size")):
                    if key in row:
                        setattr(domain, attribute, row[key])
                admin = domain.users.get(domain.main_admin)
                if "admin_bytes_used" in row and admin is not None:
                    admin.bytes_used = int(row["admin_bytes_used"])

    def reset(self):
        super().reset()
        with self.lock, self._token_lock:
            self.domains.clear()
            self.files.clear()
            self.access_tokens.clear()
            self.refresh_tokens.clear()
            self.autologin_tokens.clear()
            self.logins = self.refreshes = self.last_list_id = 0

    def set_knobs(self, data):
        super().set_knobs(data)
        if "access_token_lifetime" in data:
            self.access_token_lifetime = float(data["access_token_lifetime"])
        if data.get("expire_access_tokens"):
            self.expire_access_tokens()
        if data.get("expire_refresh_tokens"):
            self.expire_refresh_tokens()


def _addresses(values, *, empty_ok=False):
    """A list of e-mail addresses, lower-case; None when one is not an address (or the list is empty)."""
    addresses = [str(value).strip().lower() for value in values or []]
    if (not addresses and not empty_ok) or not all(re.match(r"^[^@\s]+@[^@\s]+\.[^@\s]+$", a) for a in addresses):
        return None
    return addresses


def _number(text):
    """A numeric path segment (a mailing list's id), or None."""
    return int(text) if str(text).isdigit() else None


def _new_dkim_key(domain, key_size):
    public_key = base64.b64encode(secrets.token_bytes(key_size // 8 + 38)).decode()
    domain.dkim.update(selector=f"sm{secrets.token_hex(3)}", publicKey=public_key, keySize=key_size, pending=True,
                       isActive=False)


def _page(title, body):
    return (f"<!doctype html><html lang=en><head><meta charset=utf-8><title>{escape(title)}</title>{NO_ICON}"
            f"<style>body{{font-family:sans-serif;margin:3em;color:#223}}h1{{color:#1a5fb4}}</style></head>"
            f"<body><p><em>SmarterMail simulator</em></p>{body}</body></html>")


class TransitionRecordingSimulator(SmarterMailSimulator):
    """Records each change of a domain's state that a call really made (enabled → disabled, present → gone):
    what the provider did, as opposed to what it answered. For fault-injection runs (a timed-out call may still
    have been carried out): `transitions[domain]` lists the states it went to, e.g. ["disabled"], ["deleted"]."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.transitions = defaultdict(list)

    def _states(self):
        return {name: ("enabled" if domain.is_enabled else "disabled") for name, domain in self.domains.items()}

    def call_route(self, handler, request, params):
        with self.lock:
            before = self._states()
            response = super().call_route(handler, request, params)
            after = self._states()
        for name in before.keys() | after.keys():
            if before.get(name) != after.get(name):
                self.transitions[name].append(after.get(name, "deleted"))
        return response
