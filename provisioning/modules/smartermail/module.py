"""The SmarterMail provisioning module (seed 000), over the REST API in shared/providers/smartermail.md.

Create makes the domain with its storage path (option 5), outbound IP (6) and user limit (7), together with
its domain administrator, the service's primary login. Suspend/unsuspend switch the domain off and on; nothing
is deleted. Terminate deletes the domain, and its files only when option 8 says so. Usage is one call per
server. SSO asks the server for a one-minute auto-login URL. Mailboxes, aliases, forwarding, mailing lists,
domain aliases and DKIM for the mail client area: SmarterMailMailboxes (mailboxes.py).

"Already in that state" counts as success: suspending a disabled domain, terminating a domain that is gone,
and creating a domain that an earlier attempt of this same service created (proved by logging in as its
domain administrator with the service's password; someone else's domain of that name stays an error).
"""
import secrets
import string
from decimal import ROUND_HALF_UP, Decimal

from provisioning.modules.base import (
    ActionResult,
    ModuleError,
    ProvisioningModule,
    SsoTarget,
    Usage,
    planned_mailboxes,
)
from provisioning.modules.smartermail.client import SmarterMailClient, SmarterMailError
from provisioning.modules.smartermail.mailboxes import SmarterMailMailboxes
from provisioning.modules.smartermail.options import PRODUCT_OPTIONS, SERVER_SETTINGS

MB = Decimal(1024 * 1024)
CENT = Decimal("0.01")
NAME_IN_USE = "DOMAIN_ADD_ERROR_NAME_IN_USE"
DEFAULT_ADMIN = "admin"


class SmarterMailModule(SmarterMailMailboxes, ProvisioningModule):
    key = "smartermail"
    hosts_domain_once = True
    label = "SmarterMail"
    supports_sso = True
    supports_usage = True
    product_options_schema = PRODUCT_OPTIONS
    server_settings_schema = SERVER_SETTINGS

    # --- lifecycle -----------------------------------------------------------------------------------------

    def create(self, service):
        options = self.product_options(service)
        client = self._client(service)
        domain, admin = service.domain.lower(), admin_name(service)
        password = service.password or generate_password(options)
        path = storage_path(options["storage_path"], domain)
        body = {
            "domainData": {
                "name": domain, "path": path, "hostname": "", "isEnabled": True,
                "userLimit": user_limit(options, service.config_options), "aliasLimit": 0, "listLimit": 0, "domainAliasCount": 0,
                "maxSize": 0,
            },
            "adminUsername": admin, "adminPassword": password, "domainLocation": 0,
            "deliverLocallyForExternalDomain": False, "domainLocationAddress": "",
        }
        message = f"Created {domain} on {service.server.hostname} in {path}"
        try:
            client.call("POST", "settings/sysadmin/domain-put", body)
        except SmarterMailError as exc:
            if exc.code != NAME_IN_USE:
                raise
            if not self._created_earlier(client, domain, admin, password):
                raise ModuleError(
                    f"The domain {domain} already exists on the SmarterMail server {service.server.hostname} and "
                    "is not this service's (its administrator's password differs). Remove it on the server, or "
                    "move the service to another server, then create again.", permanent=True,
                ) from exc
            message = f"{domain} already existed on {service.server.hostname} from an earlier attempt; kept it"
        if options["outbound_ip"]:
            client.call("POST", f"settings/sysadmin/domain-settings/{domain}",
                        {"domainSettings": {"outgoingIP": options["outbound_ip"]}}, idempotent=True)
        users = user_limit(options, service.config_options)
        limit = f"{users} users" if users else "unlimited users"
        ip = f", sending from {options['outbound_ip']}" if options["outbound_ip"] else ""
        return ActionResult(
            message=f"{message} ({limit}{ip}).",
            module_data={"smartermail_admin": admin, "smartermail_path": path},
            username=f"{admin}@{domain}",
            password="" if service.password else password,
        )

    def change_package(self, service):
        """The domain's settings that come from the plan: its user limit (the plan's mailboxes, else option 7),
        its domain-alias limit (options 14 and 15; -1 turns domain aliases off) and its outbound IP (option 6;
        blank goes back to the server's default). One merging settings call, so repeating it is harmless."""
        options = self.product_options(service)
        users = user_limit(options, service.config_options)
        aliases = options["domain_aliases_max"] if options["domain_aliases_allowed"] else -1
        self._post_settings(service, {"maxUsers": users, "maxDomainAliases": aliases,
                                      "outgoingIP": options["outbound_ip"]})
        described = ", ".join([
            f"{users} users" if users else "unlimited users",
            "no domain aliases" if aliases < 0 else f"{aliases or 'unlimited'} domain aliases",
            f"sending from {options['outbound_ip']}" if options["outbound_ip"] else "sending from the server's IP",
        ])
        return ActionResult(message=f"Updated {service.domain.lower()} on {service.server.hostname}: {described}.")

    def suspend(self, service, *, reason, mode=""):
        self._set_enabled(service, False)
        return ActionResult(message=f"Disabled {service.domain}: mail refused, logins blocked, nothing deleted.",
                            suspend_mode="domain")

    def unsuspend(self, service):
        self._set_enabled(service, True)
        return ActionResult(message=f"Enabled {service.domain} again.")

    def terminate(self, service, *, delete_data):
        client = self._client(service)
        domain = service.domain.lower()
        try:
            client.call("POST", f"settings/sysadmin/domain-delete/{domain}/{'true' if delete_data else 'false'}", {})
        except SmarterMailError:
            if self._exists(client, domain):
                raise
            return ActionResult(message=f"{domain} was already removed from {service.server.hostname}.")
        kept = "its files deleted" if delete_data else "its files kept on disk"
        return ActionResult(message=f"Removed {domain} from {service.server.hostname}, {kept}.")

    def change_password(self, service, *, new_password):
        options = self.product_options(service)
        problem = password_problem(new_password, options)
        if problem:
            raise ModuleError(problem, permanent=True)
        client = self._client(service)
        domain, admin = service.domain.lower(), admin_name(service)
        token = self._domain_admin_token(client, service)
        client.call_with_token(token, "POST", "settings/domain/post-user",
                               {"email": f"{admin}@{domain}", "userData": {"password": new_password}}, idempotent=True)
        return ActionResult(message=f"Password of {admin}@{domain} changed.")

    # --- server-wide ---------------------------------------------------------------------------------------

    def usage(self, server):
        data = SmarterMailClient(server, settings=self.server_settings(server)).call(
            "GET", "settings/sysadmin/domains")
        usage = {}
        for row in data.get("data") or []:
            name = str(row.get("name") or "").lower()
            if not name:
                continue
            size, limit = int(row.get("size") or 0), int(row.get("maxSize") or 0)
            usage[name] = Usage(disk_mb=to_mb(size), disk_limit_mb=to_mb(limit) if limit > 0 else None)
        return usage

    def sso_url(self, service, *, target=SsoTarget.DOMAIN_ADMIN, user=""):
        if target == SsoTarget.DOMAIN_ADMIN:
            username = admin_name(service)
        elif target == SsoTarget.WEBMAIL:
            local, _, domain = user.partition("@")
            if not local or (domain and domain.lower() != service.domain.lower()):
                raise ModuleError(f"Webmail login needs a mailbox of {service.domain}, not {user!r}.", permanent=True)
            username = local.lower()
        else:
            raise ModuleError(f"SmarterMail has no {target} login.", permanent=True)
        data = self._client(service).call(
            "POST", "auth/retrieve-login-token",
            {"username": username, "domain": service.domain.lower(), "isSystemAdmin": False}, idempotent=True,
        )
        url = str(data.get("autoLoginUrl") or "")
        if not url.startswith(("http://", "https://")):
            raise ModuleError(f"SmarterMail at {service.server.hostname} gave no auto-login URL.", permanent=False)
        return url

    def test_connection(self, server):
        client = SmarterMailClient(server, settings=self.server_settings(server))
        login = client.login()
        about = client.call("GET", "licensing/about")
        version = about.get("version") or "version unknown"
        return ActionResult(message=f"Connected to SmarterMail {version} at {server.base_url} as "
                                    f"{login.get('username') or server.username}.")

    # --- helpers -------------------------------------------------------------------------------------------

    def _client(self, service):
        server = self.require_server(service)
        return SmarterMailClient(server, settings=self.server_settings(server))

    def _set_enabled(self, service, enabled):
        self._post_settings(service, {"isEnabled": enabled})

    def _post_settings(self, service, settings):
        client = self._client(service)
        domain = service.domain.lower()
        try:
            client.call("POST", f"settings/sysadmin/domain-settings/{domain}",
                        {"domainSettings": settings}, idempotent=True)
        except SmarterMailError as exc:
            if not self._exists(client, domain):
                raise ModuleError(
                    f"The domain {domain} does not exist on the SmarterMail server {service.server.hostname} "
                    "(removed by hand?). Create it again, or terminate the service.", permanent=True,
                ) from exc
            raise

    @staticmethod
    def _exists(client, domain):
        """Whether the domain is on the server: GET domain/{d} answers 200 when it is, 404 when not."""
        try:
            client.call("GET", f"settings/sysadmin/domain/{domain}")
        except SmarterMailError as exc:
            if exc.status == 404:
                return False
            raise
        return True

    @staticmethod
    def _created_earlier(client, domain, admin, password):
        """A domain of this name exists: is it ours from an earlier attempt? Only then does its administrator
        log in with this service's password."""
        response = client.http.request(
            "POST", "auth/authenticate-user", json={"username": f"{admin}@{domain}", "password": password},
            idempotent=True,
        )
        try:
            return response.status_code == 200 and bool(response.json().get("isDomainAdmin"))
        except ValueError:
            return False

    @staticmethod
    def _admin_address(service):
        """The domain administrator's address (the moderator of the mailing lists the module makes)."""
        return f"{admin_name(service)}@{service.domain.lower()}"

    @staticmethod
    def _domain_admin_token(client, service):
        try:
            return client.impersonate_domain(service.domain.lower())
        except SmarterMailError as exc:
            raise ModuleError(
                f"Could not act as the administrator of {service.domain} on {service.server.hostname}: "
                f"{exc.message}", permanent=exc.permanent,
            ) from exc


def admin_name(service):
    """The local part of the domain administrator, the service's primary login."""
    stored = service.module_data.get("smartermail_admin")
    if stored:
        return stored
    return (service.username.partition("@")[0] or DEFAULT_ADMIN).lower()


def user_limit(options, config_options):
    """The domain's most users: the mailboxes the plan's configurable options pay for (all types together),
    else option 7 (0 = unlimited)."""
    planned = planned_mailboxes(config_options)
    return sum(planned.values()) if planned is not None else options["max_users"]


def storage_path(base, domain):
    """Option 5 with the domain: `{domain}` replaced where given, else the domain appended as a folder."""
    if "{domain}" in base:
        return base.replace("{domain}", domain)
    separator = "\\" if "\\" in base else "/"
    return base.rstrip("/\\") + separator + domain


def to_mb(size_bytes):
    return (Decimal(size_bytes) / MB).quantize(CENT, rounding=ROUND_HALF_UP)


def password_problem(password, options):
    """Why a password breaks the product's rules (options 9 and 10), or ''."""
    minimum = options["password_min_length"]
    if len(password) < minimum:
        return f"The password must be at least {minimum} characters (the product's minimum password length)."
    if options["password_require_complexity"] and not (
        any(c.islower() for c in password) and any(c.isupper() for c in password) and any(c.isdigit() for c in password)
    ):
        return "The password needs upper- and lower-case letters and a digit (product option 10)."
    return ""


def generate_password(options):
    """A random password that meets the product's rules."""
    length = max(16, options["password_min_length"])
    alphabet = string.ascii_letters + string.digits
    while True:
        password = "".join(secrets.choice(alphabet) for _ in range(length))
        if not password_problem(password, {**options, "password_require_complexity": True}):
            return password
