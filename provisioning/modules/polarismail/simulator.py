"""A PolarisMail / EmailArray API simulator, following shared/providers/polarismail.md: the admin API at
POST /admin/json.php and the user API at POST /json.php, form-encoded bodies with `action=<name>` and a
`token` (PHP bracket names such as brand[brandname] kept as they are), every answer
{"returncode": 1|0, "returndata": …} with HTTP 200 (failures carry the message in returndata), string values
on the wire ("1"/"0"), quotas given in GB and read back in MB.

Tokens expire for real: admin tokens after `admin_token_lifetime` seconds (the vendor client re-logs in every
300 s; the server-side lifetime is not documented, so it is a knob), one-time passwords after 60 s and on
first use, user tokens after `user_token_lifetime`. Single sign-on lands on pages of this simulator:
GET /processlogin.php?u=<base64 address>&p=<base64 OTP> (the user control panel) and GET /webmail/?otp=…&token=…
(webmail, from getOTPassAndToken's `url`), each naming who is signed in.

Where the vendor's documents are silent this simulator decides (and the module follows): list rows are
{"username", "uname", "account_type", "quota" (MB), "diskused" (MB, with showQuota=1), "active"}; aliases
{"alias", "forward"} (one target each); forwards {"username", "forward"}; lists {"lname", "listtype",
"members"}; members {"member"}; DKIM {"dkim_enabled", "dkim_host", "dkim_key" (the whole TXT value)}; branding
{"brandname", "supportemail", "brandcolor" (hex without #), "haslogo", "isdefault"}; a logo is a base64 PNG,
JPEG or GIF of at most 512,000 bytes (the vendor's Blesta module's limit).

Run it alone with `python manage.py run_simulator polarismail --port 9997`.
"""
import base64
import binascii
import re
import secrets
import threading
from dataclasses import asdict, dataclass, field
from decimal import Decimal, InvalidOperation
from html import escape
from urllib.parse import parse_qsl

from provisioning.simulation.base import NO_ICON, Response, Simulator, route

ADMIN_PATH = "/admin/json.php"
USER_PATH = "/json.php"
DOMAIN_NAME = re.compile(r"^(?=.{4,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
LOCAL_PART = re.compile(r"^[a-z0-9](?:[a-z0-9._+-]{0,62}[a-z0-9])?$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
COLOR = re.compile(r"^[0-9a-fA-F]{6}$")
LOGO_MAX_BYTES = 512_000
IMAGE_MAGIC = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"GIF87a", b"GIF89a")
MIN_PASSWORD = 8
MAX_USER_QUOTA_GB = Decimal(100)

# The simulator's error texts (the vendor publishes none; these read like the service's).
INVALID_LOGIN = "Invalid username or password"
INVALID_TOKEN = "Invalid or expired token"
NO_DOMAIN = "Domain does not exist"
NO_USER = "User does not exist"


@dataclass
class SimUser:
    username: str
    password: str
    uname: str = ""
    account_type: int = 1  # 1 basic, 2 enhanced
    quota_gb: Decimal = Decimal(10)
    used_mb: Decimal = Decimal(0)
    active: bool = True
    twofa_allowed: bool = True
    language: str = "en"
    forwards: list = field(default_factory=list)

    def row(self, *, show_quota=True):
        data = {"username": self.username, "uname": self.uname, "account_type": str(self.account_type),
                "quota": _text(self.quota_gb * 1024), "active": "1" if self.active else "0"}
        if show_quota:
            data["diskused"] = _text(self.used_mb)
        return data


@dataclass
class SimList:
    name: str
    list_type: str = "1"
    members: list = field(default_factory=list)


@dataclass
class SimDomain:
    name: str
    active: bool = True
    verified: bool = True
    verification_value: str = ""
    catchall: str = ""
    dtzone: str = "America/New_York"
    exchange_enabled: bool = False
    users: dict = field(default_factory=dict)  # local part -> SimUser
    aliases: dict = field(default_factory=dict)  # local part -> target address
    lists: dict = field(default_factory=dict)  # local part -> SimList
    dkim_enabled: bool = False
    dkim_host: str = ""
    dkim_key: str = ""
    branding: dict = field(default_factory=dict)
    logo: bytes = b""
    alias_domains: list = field(default_factory=list)
    footer: str = ""

    def info(self):
        enhanced = any(user.account_type == 2 for user in self.users.values())
        return {
            "dtzone": self.dtzone, "expiry_notifications": "1", "catchall": self.catchall,
            "domaintype": "2" if enhanced else "1", "webmail": "1", "vusers": str(len(self.users)),
            "aliases": str(len(self.aliases)), "lists": str(len(self.lists)), "active": "1" if self.active else "0",
            "exchange_enabled": "1" if self.exchange_enabled else "0", "audit_enabled": "0", "localdelivery": "1",
            "totalQuota": _text(self.assigned_gb()), "homecountry": "US",
        }

    def assigned_gb(self):
        return sum((user.quota_gb for user in self.users.values()), Decimal(0))

    def taken(self, local):
        return local in self.users or local in self.aliases or local in self.lists


@dataclass
class Token:
    value: str
    subject: str  # the reseller's username, or "user@domain"
    expires_at: float


class Failed(Exception):
    """A failure answer: {"returncode": 0, "returndata": message}."""


class PolarisMailSimulator(Simulator):
    name = "polarismail"
    DEFAULT_USERNAME = "reseller"
    DEFAULT_PASSWORD = "sim-reseller-pass"  # a simulator's: never a real account's

    def __init__(self, *, latency_ms=0, admin_username=DEFAULT_USERNAME, admin_password=DEFAULT_PASSWORD,
                 admin_token_lifetime=3600, otp_lifetime=60, user_token_lifetime=900, require_verification=False):
        super().__init__(latency_ms=latency_ms)
        self.admin_username = admin_username
        self.admin_password = admin_password
        self.admin_token_lifetime = admin_token_lifetime
        self.otp_lifetime = otp_lifetime
        self.user_token_lifetime = user_token_lifetime
        self.require_verification = require_verification  # new domains must prove ownership first
        self.domains = {}  # name -> SimDomain (this reseller's)
        self.foreign = set()  # domain names in other reseller accounts: not available
        self.admin_tokens = {}
        self.otps = {}
        self.user_tokens = {}
        self.webmail_tokens = {}
        self.logins = 0  # successful admin logins
        self._token_lock = threading.Lock()

    # --- envelope ----------------------------------------------------------------------------------------

    @staticmethod
    def ok(data=""):
        return Response(200, {"returncode": 1, "returndata": data})

    @staticmethod
    def refused(message):
        return Response(200, {"returncode": 0, "returndata": message})

    def failure_response(self, status):
        return Response(status, _page("Server error", f"<p>HTTP {status}</p>"))

    def not_found(self, request, allowed_methods):
        return Response(405 if allowed_methods else 404, _page("Not found", f"<p>{escape(request.path)}</p>"))

    # --- tokens ------------------------------------------------------------------------------------------

    def _issue(self, store, subject, lifetime):
        token = Token(secrets.token_hex(16), subject, self.now() + lifetime)
        with self._token_lock:
            store[token.value] = token
        return token.value

    def _valid(self, store, value, *, consume=False):
        with self._token_lock:
            token = store.pop(value, None) if consume else store.get(value)
        if token is None or token.expires_at <= self.now():
            return None
        return token

    def expire_tokens(self):
        """Let every admin and user token run out now (the module must log in again)."""
        with self._token_lock:
            for store in (self.admin_tokens, self.user_tokens):
                for token in store.values():
                    token.expires_at = self.now() - 1

    # --- routes ------------------------------------------------------------------------------------------

    @route("POST", ADMIN_PATH)
    def admin_api(self, request):
        return self._dispatch(request, "admin")

    @route("POST", USER_PATH)
    def user_api(self, request):
        return self._dispatch(request, "user")

    def _dispatch(self, request, api):
        form = dict(parse_qsl(request.body.decode("utf-8", "replace"), keep_blank_values=True))
        action = form.get("action", "")
        handler = getattr(self, f"{api}_{action}", None) if re.fullmatch(r"[A-Za-z0-9]+", action) else None
        if handler is None:
            return self.refused(f"Unknown action {action}")
        if action != "login":
            store = self.admin_tokens if api == "admin" else self.user_tokens
            caller = self._valid(store, form.get("token", ""))
            if caller is None:
                return self.refused(INVALID_TOKEN)
            form["_caller"] = caller.subject
        try:
            with self.lock:
                return self.ok(handler(form, request))
        except Failed as exc:
            return self.refused(str(exc))

    @route("GET", "/processlogin.php")
    def control_panel_login(self, request):
        """The user control panel's login from a one-time password (base64 address and OTP)."""
        try:
            address = base64.b64decode(request.query.get("u", "")).decode()
            otp = base64.b64decode(request.query.get("p", "")).decode()
        except (binascii.Error, UnicodeDecodeError):
            address = otp = ""
        token = self._valid(self.otps, otp, consume=True)
        if token is None or token.subject != address:
            return Response(401, _page("Login failed", "<p>This login link has expired or was already used.</p>"))
        return Response(
            200,
            _page(
                f"Control panel – {address}",
                f'<h1 id="signed-in">Signed in as {escape(address)}</h1>'
                '<p id="panel">User Control Panel: vacation messages, spam quarantine, rules.</p>',
            ),
        )

    @route("GET", "/webmail/")
    def webmail_login(self, request):
        otp = self._valid(self.otps, request.query.get("otp", ""), consume=True)
        token = self._valid(self.webmail_tokens, request.query.get("token", ""), consume=True)
        if otp is None or token is None or otp.subject != token.subject:
            return Response(401, _page("Login failed", "<p>This webmail link has expired or was already used.</p>"))
        return Response(
            200,
            _page(
                f"Webmail – {token.subject}",
                f'<h1 id="signed-in">Signed in as {escape(token.subject)}</h1><p id="webmail">Webmail inbox.</p>',
            ),
        )

    # --- admin: session ----------------------------------------------------------------------------------

    def admin_login(self, form, request):
        if form.get("username") != self.admin_username or form.get("password") != self.admin_password:
            raise Failed(INVALID_LOGIN)
        self.logins += 1
        return self._issue(self.admin_tokens, self.admin_username, self.admin_token_lifetime)

    def admin_getAdminStats(self, form, request):
        return {"domains": str(len(self.domains)), "users": str(sum(len(d.users) for d in self.domains.values()))}

    def admin_getAdminBrandInfo(self, form, request):
        return {"brandname": "Simulated Reseller", "supportemail": "support@reseller.example"}

    # --- admin: domains ------------------------------------------------------------------------------------

    def admin_isDomainAvailable(self, form, request):
        name = form.get("domain", "").strip().lower()
        if not DOMAIN_NAME.match(name):
            raise Failed("Invalid domain name")
        if name in self.domains or name in self.foreign:
            raise Failed("Domain is not available")
        return ""

    def admin_addDomain(self, form, request):
        name = (form.get("newdomain") or form.get("domain") or "").strip().lower()
        if not DOMAIN_NAME.match(name):
            raise Failed("Invalid domain name")
        if name in self.domains or name in self.foreign:
            raise Failed("Domain already exists")
        self.domains[name] = SimDomain(name, verified=not self.require_verification,
                                       verification_value=f"polarismail-verify={secrets.token_hex(8)}")
        return ""

    def admin_removeDomain(self, form, request):
        if self.domains.pop(form.get("domain", "").lower(), None) is None:
            raise Failed(NO_DOMAIN)
        return ""

    def admin_updateDomain(self, form, request):
        domain = self._domain(form)
        if "editdomainactive" in form:
            domain.active = form["editdomainactive"] == "1"
        if "editcatchall" in form:
            domain.catchall = form["editcatchall"]
        if "editdtzone" in form:
            domain.dtzone = form["editdtzone"]
        if "editexchangeenabled" in form:
            domain.exchange_enabled = form["editexchangeenabled"] == "1"
        return ""

    def admin_getDomainInfo(self, form, request):
        return self._domain(form).info()

    def admin_getAllDomains(self, form, request):
        return [
            {
                "id": str(number),
                "domain": domain.name,
                "isauditdomain": "0",
                "domaintype": domain.info()["domaintype"],
                "active": "1" if domain.active else "0",
            }
            for number, domain in enumerate(self.domains.values(), 1)
        ]

    def admin_getDomainVerification(self, form, request):
        domain = self._domain(form)
        if domain.verified:
            raise Failed("Domain is verified")  # inverted on purpose: 0 = nothing left to verify
        return domain.verification_value

    def admin_getDomainAssignedQuota(self, form, request):
        return {"totalquota": _text(self._domain(form).assigned_gb())}

    # --- admin: users --------------------------------------------------------------------------------------

    def admin_addUser(self, form, request):
        domain = self._usable_domain(form)
        local = form.get("username", "").strip().lower()
        if not LOCAL_PART.match(local):
            raise Failed("Invalid username")
        if domain.taken(local):
            raise Failed("User already exists")
        password = form.get("password", "")
        if len(password) < MIN_PASSWORD:
            raise Failed(f"Password must be at least {MIN_PASSWORD} characters")
        domain.users[local] = SimUser(
            local, password, uname=form.get("uname", ""), account_type=_account_type(form.get("account_type", "1")),
            quota_gb=_quota(form.get("quota", "10")), twofa_allowed=form.get("twofa_allowed", "1") == "1",
            language=form.get("user_language", "en"),
        )
        return ""

    def admin_updateUser(self, form, request):
        domain = self._domain(form, key="editdomain")
        user = self._user(domain, form.get("editusername", ""))
        if "editpassword" in form:
            if len(form["editpassword"]) < MIN_PASSWORD:
                raise Failed(f"Password must be at least {MIN_PASSWORD} characters")
        account_type = _account_type(form["editaccount_type"]) if "editaccount_type" in form else user.account_type
        quota = _quota(form["editquota"]) if "editquota" in form else user.quota_gb
        user.account_type, user.quota_gb = account_type, quota
        if "edituname" in form:
            user.uname = form["edituname"]
        if "editpassword" in form:
            user.password = form["editpassword"]
        return ""

    def admin_enableUser(self, form, request):
        self._user(self._domain(form), form.get("username", "")).active = True
        return ""

    def admin_disableUser(self, form, request):
        self._user(self._domain(form), form.get("username", "")).active = False
        return ""

    def admin_removeUser(self, form, request):
        domain = self._domain(form)
        if domain.users.pop(form.get("username", "").lower(), None) is None:
            raise Failed(NO_USER)
        return ""

    def admin_getUserInfo(self, form, request):
        user = self._user(self._domain(form), form.get("username", ""))
        return {**user.row(), "twofa_allowed": "1" if user.twofa_allowed else "0", "user_language": user.language}

    def admin_getAllUsersDomain(self, form, request):
        users = sorted(self._domain(form).users.values(), key=lambda user: user.username)
        return [user.row(show_quota=form.get("showQuota") == "1") for user in _slice(users, form)]

    def admin_searchUsers(self, form, request):
        needle = form.get("search", "").lower()
        users = sorted(
            (u for u in self._domain(form).users.values() if needle in u.username or needle in u.uname.lower()),
            key=lambda user: user.username,
        )
        return [user.row() for user in _slice(users, form)]

    def admin_getTotalUsersDomain(self, form, request):
        atype = form.get("atype", "")
        users = self._domain(form).users.values()
        return str(sum(1 for user in users if not atype or atype == "0" or str(user.account_type) == atype))

    def admin_getOTPass(self, form, request):
        user = self._user(self._domain(form), form.get("username", ""))
        return self._issue(self.otps, f"{user.username}@{form['domain'].lower()}", self.otp_lifetime)

    def admin_getOTPassAndToken(self, form, request):
        user = self._user(self._domain(form), form.get("username", ""))
        address = f"{user.username}@{form['domain'].lower()}"
        return {"otp": self._issue(self.otps, address, self.otp_lifetime),
                "token": self._issue(self.webmail_tokens, address, self.otp_lifetime),
                "url": f"{request.root_url}/webmail/"}

    # --- admin: aliases, forwards, lists -------------------------------------------------------------------

    def admin_addAlias(self, form, request):
        domain = self._usable_domain(form)
        local = form.get("alias", "").strip().lower()
        target = form.get("forward", "").strip().lower()
        if not LOCAL_PART.match(local):
            raise Failed("Invalid alias name")
        if domain.taken(local):
            raise Failed("Address already in use")
        if not EMAIL.match(target):
            raise Failed("Invalid forward address")
        domain.aliases[local] = target
        return ""

    def admin_removeAlias(self, form, request):
        if self._domain(form).aliases.pop(form.get("alias", "").lower(), None) is None:
            raise Failed("Alias does not exist")
        return ""

    def admin_getAllAliasesDomain(self, form, request):
        return [{"alias": local, "forward": target} for local, target in sorted(self._domain(form).aliases.items())]

    def admin_getAllForwardsDomain(self, form, request):
        return [
            {"username": user.username, "forward": target}
            for user in sorted(self._domain(form).users.values(), key=lambda u: u.username)
            for target in user.forwards
        ]

    def admin_addList(self, form, request):
        domain = self._usable_domain(form)
        local = form.get("newlname", "").strip().lower()
        if not LOCAL_PART.match(local):
            raise Failed("Invalid list name")
        if domain.taken(local):
            raise Failed("Address already in use")
        domain.lists[local] = SimList(local, form.get("newlisttype", "1"))
        return ""

    def admin_removeList(self, form, request):
        if self._domain(form).lists.pop(form.get("lname", "").lower(), None) is None:
            raise Failed("List does not exist")
        return ""

    def admin_getAllListsDomain(self, form, request):
        return [{"lname": item.name, "listtype": item.list_type, "members": str(len(item.members))}
                for item in sorted(self._domain(form).lists.values(), key=lambda item: item.name)]

    def admin_getListMembers(self, form, request):
        return [{"member": member} for member in self._list(self._domain(form), form.get("lname", "")).members]

    def admin_addListMember(self, form, request):
        mailing_list = self._list(self._domain(form, key="editdomain"), form.get("editlname", ""))
        member = form.get("newmember", "").strip().lower()
        if not EMAIL.match(member):
            raise Failed("Invalid member address")
        return _append(mailing_list.members, member, "Member already exists")

    def admin_removeListMember(self, form, request):
        mailing_list = self._list(self._domain(form), form.get("lname", ""))
        return _discard(mailing_list.members, form.get("member", ""), "Member does not exist")

    # --- admin: DKIM, branding, domain aliases, footer ------------------------------------------------------

    def admin_getDKIM(self, form, request):
        domain = self._domain(form)
        return {"dkim_enabled": "1" if domain.dkim_enabled else "0", "dkim_host": domain.dkim_host,
                "dkim_key": domain.dkim_key}

    def admin_enableDKIM(self, form, request):
        domain = self._usable_domain(form)
        if not domain.dkim_key:
            key = base64.b64encode(secrets.token_bytes(270)).decode()
            domain.dkim_host = f"polaris._domainkey.{domain.name}"
            domain.dkim_key = f"v=DKIM1; k=rsa; p={key}"
        domain.dkim_enabled = True
        return "DKIM enabled"

    def admin_disableDKIM(self, form, request):
        domain = self._domain(form)
        domain.dkim_enabled, domain.dkim_host, domain.dkim_key = False, "", ""
        return "DKIM disabled"

    def admin_getDomainBrandInfo(self, form, request):
        domain = self._domain(form)
        brand = domain.branding
        return {"brandname": brand.get("brandname", ""), "supportemail": brand.get("supportemail", ""),
                "brandcolor": brand.get("brandcolor", ""), "haslogo": "1" if domain.logo else "0",
                "isdefault": "0" if brand or domain.logo else "1"}

    def admin_setDomainBrandingV2(self, form, request):
        domain = self._usable_domain(form)
        color = form.get("brand[brandcolor]", "").lstrip("#")
        email = form.get("brand[supportemail]", "").strip()
        if color and not COLOR.match(color):
            raise Failed("Invalid brand color")
        if email and not EMAIL.match(email):
            raise Failed("Invalid support email")
        logo = b""
        if form.get("brand[newlogo]"):
            try:
                logo = base64.b64decode(form["brand[newlogo]"], validate=True)
            except (binascii.Error, ValueError):
                raise Failed("Invalid logo") from None
            if len(logo) > LOGO_MAX_BYTES:
                raise Failed("Logo is too large")
            if not logo.startswith(IMAGE_MAGIC):
                raise Failed("Logo must be a PNG, JPEG or GIF image")
        domain.branding = {"brandname": form.get("brand[brandname]", "").strip(), "supportemail": email,
                           "brandcolor": color.lower()}
        if logo:
            domain.logo = logo
        return ""

    def admin_resetDomainBranding(self, form, request):
        domain = self._domain(form)
        domain.branding, domain.logo = {}, b""
        return ""

    def admin_getAliasDomains(self, form, request):
        return list(self._domain(form).alias_domains)

    def admin_addAliasDomain(self, form, request):
        domain = self._usable_domain(form)
        alias = form.get("adomain", "").strip().lower()
        if not DOMAIN_NAME.match(alias):
            raise Failed("Invalid domain name")
        if alias in self.domains or alias in self.foreign:
            raise Failed("Domain is not available")
        return _append(domain.alias_domains, alias, "Domain is not available")

    def admin_removeAliasDomain(self, form, request):
        return _discard(self._domain(form).alias_domains, form.get("adomain", ""), "Alias domain does not exist")

    def admin_getFooterDomain(self, form, request):
        return self._domain(form).footer

    def admin_setFooterDomain(self, form, request):
        self._domain(form).footer = form.get("footertxt", "")
        return ""

    # --- user API ------------------------------------------------------------------------------------------

    def user_login(self, form, request):
        address = f"{form.get('username', '').lower()}@{form.get('domain', '').lower()}"
        otp = self._valid(self.otps, form.get("password", ""), consume=True)
        if otp is None or otp.subject != address:
            raise Failed(INVALID_LOGIN)
        return self._issue(self.user_tokens, address, self.user_token_lifetime)

    def user_addForward(self, form, request):
        user = self._caller_user(form)
        target = form.get("newforward", "").strip().lower()
        if not EMAIL.match(target):
            raise Failed("Invalid forward address")
        return _append(user.forwards, target, "Forward already exists")

    def user_removeForward(self, form, request):
        return _discard(self._caller_user(form).forwards, form.get("forward", ""), "Forward does not exist")

    def user_getForwards(self, form, request):
        return list(self._caller_user(form).forwards)

    # --- lookups -------------------------------------------------------------------------------------------

    def _domain(self, form, key="domain"):
        domain = self.domains.get(form.get(key, "").strip().lower())
        if domain is None:
            raise Failed(NO_DOMAIN)
        return domain

    def _usable_domain(self, form, key="domain"):
        domain = self._domain(form, key)
        if not domain.verified:
            raise Failed("Domain verification required")
        return domain

    @staticmethod
    def _user(domain, username):
        user = domain.users.get(username.strip().lower())
        if user is None:
            raise Failed(NO_USER)
        return user

    @staticmethod
    def _list(domain, name):
        found = domain.lists.get(name.strip().lower())
        if found is None:
            raise Failed("List does not exist")
        return found

    def _caller_user(self, form):
        local, _, name = form["_caller"].partition("@")
        domain = self.domains.get(name)
        if domain is None:
            raise Failed(NO_DOMAIN)
        return self._user(domain, local)

    # --- inspection (non-vendor) ------------------------------------------------------------------------

    def domain(self, name):
        with self.lock:
            return self.domains.get(name.lower())

    def verify(self, name):
        """The customer published the verification record: the domain counts as verified from now on."""
        with self.lock:
            self.domains[name.lower()].verified = True

    def snapshot(self):
        with self.lock:
            return {
                "domains": {
                    name: {**asdict(domain), "users": {local: _user_state(user) for local, user in domain.users.items()},
                           "logo": len(domain.logo)}
                    for name, domain in self.domains.items()
                },
                "foreign": sorted(self.foreign),
                "logins": self.logins,
            }

    def seed(self, data):
        """{"domains": [{"name", "active"?, "verified"?, "users": [{"username", "password", "account_type"?,
        "quota_gb"?, "used_mb"?, "uname"?, "forwards"?}], "aliases": {local: target}, "lists": {local: [members]},
        "branding"?: {"brandname", "supportemail", "brandcolor"}, "dkim"?: bool}], "foreign": [names]}: add what is
        missing, update the rest. Idempotent."""
        with self.lock:
            self.foreign |= {str(name).lower() for name in data.get("foreign", [])}
            for row in data.get("domains", []):
                name = str(row["name"]).lower()
                domain = self.domains.setdefault(name, SimDomain(name, verification_value=f"polarismail-verify={name}"))
                for key in ("active", "verified"):
                    if key in row:
                        setattr(domain, key, bool(row[key]))
                for user in row.get("users", []):
                    local = str(user["username"]).lower()
                    current = domain.users.get(local) or SimUser(
                        local, str(user.get("password") or secrets.token_hex(8))
                    )
                    current.uname = user.get("uname", current.uname)
                    current.account_type = int(user.get("account_type", current.account_type))
                    current.quota_gb = Decimal(str(user.get("quota_gb", current.quota_gb)))
                    current.used_mb = Decimal(str(user.get("used_mb", current.used_mb)))
                    current.forwards = list(user.get("forwards", current.forwards))
                    domain.users[local] = current
                domain.aliases.update({str(k).lower(): str(v).lower() for k, v in row.get("aliases", {}).items()})
                for local, members in row.get("lists", {}).items():
                    domain.lists[str(local).lower()] = SimList(str(local).lower(), members=list(members))
                if "branding" in row:
                    domain.branding = {key: str(row["branding"].get(key, ""))
                                       for key in ("brandname", "supportemail", "brandcolor")}
                if row.get("dkim") and domain.verified:
                    self.admin_enableDKIM({"domain": name}, None)

    def reset(self):
        super().reset()
        with self.lock, self._token_lock:
            self.domains.clear()
            self.foreign.clear()
            for store in (self.admin_tokens, self.otps, self.user_tokens, self.webmail_tokens):
                store.clear()
            self.logins = 0

    def set_knobs(self, data):
        super().set_knobs(data)
        if "admin_token_lifetime" in data:
            self.admin_token_lifetime = float(data["admin_token_lifetime"])
        if data.get("expire_tokens"):
            self.expire_tokens()
        if data.get("verify"):
            self.verify(str(data["verify"]))


def _user_state(user):
    """A mailbox for GET /_simulator/state: JSON has no decimals, so its GB and MB are written as the API writes
    numbers."""
    return {**asdict(user), "quota_gb": _text(user.quota_gb), "used_mb": _text(user.used_mb)}


def _append(items, value, taken):
    """Add `value` to a list that holds each value once ("" for the envelope); `taken` when it is there."""
    if value in items:
        raise Failed(taken)
    items.append(value)
    return ""


def _discard(items, value, missing):
    value = value.strip().lower()
    if value not in items:
        raise Failed(missing)
    items.remove(value)
    return ""


def _text(value):
    """A number as the API writes it: a string, without trailing zeros."""
    value = Decimal(value).quantize(Decimal("0.01"))
    return format(value.normalize(), "f") if value else "0"


def _account_type(raw):
    if str(raw) not in ("1", "2"):
        raise Failed("Invalid account type")
    return int(raw)


def _quota(raw):
    try:
        quota = Decimal(str(raw).strip())
    except InvalidOperation:
        raise Failed("Invalid quota") from None
    if not quota.is_finite() or quota <= 0:
        raise Failed("Invalid quota")
    if quota > MAX_USER_QUOTA_GB:
        raise Failed(f"Quota exceeded: at most {MAX_USER_QUOTA_GB} GB per account")
    return quota


def _slice(rows, form):
    if form.get("slicing") != "1":
        return rows
    offset, limit = int(form.get("offset") or 0), int(form.get("limit") or 25)
    return rows[offset:offset + limit]


def _page(title, body):
    return (f"<!doctype html><html lang=en><head><meta charset=utf-8><title>{escape(title)}</title>{NO_ICON}"
            f"<style>body{{font-family:sans-serif;margin:3em;color:#223}}h1{{color:#0b6e4f}}</style></head>"
            f"<body><p><em>PolarisMail simulator</em></p>{body}</body></html>")
