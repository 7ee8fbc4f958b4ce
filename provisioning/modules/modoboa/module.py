"""The Modoboa provisioning module, over Modoboa's REST API v2 (shared/providers/modoboa.md, docs/modoboa.md).

Create makes the domain with its quota and default mailbox quota together with its domain administrator (a
mailbox, the service's primary login) in one atomic call. Suspend/unsuspend switch the domain off and on
(`enabled`); nothing is deleted. Terminate deletes the domain, its mail files only when the product says so,
and the administrator accounts Modoboa leaves behind. Change password resets the primary mailbox's password.
Usage is two listings per server; Modoboa reports mailbox usage only as a whole percentage of each mailbox's
quota (filled in by Dovecot), so the MB figure is an estimate to within 1% of each quota. Modoboa has no
login-token API, so there is no single sign-on. Mailboxes, aliases and forwards: see MailboxManagement.

"Already in that state" counts as success: suspending a disabled domain, terminating a domain that is gone,
deleting a mailbox or alias that is gone, and creating a domain that an earlier attempt of this same service
created (proved by the service's password being its administrator's).
"""
import secrets
import string
from decimal import Decimal

from provisioning.modules.base import DELETE_DATA_OPTION, ActionResult, ModuleError, ProvisioningModule, Usage
from provisioning.modules.mailboxes import (
    Alias,
    Forward,
    Mailbox,
    MailboxManagement,
    address_in_domain,
)
from provisioning.modules.modoboa.client import ModoboaClient, ModoboaError, NotFound
from provisioning.options import BoolOption, IntOption, OptionSchema, TextOption

DEFAULT_ADMIN = "admin"
ADMIN_ROLES = ("SuperAdmins", "Resellers")

PRODUCT_OPTIONS = OptionSchema(
    IntOption("domain_quota_mb", "Domain quota (MB)", default=1000, min_value=0,
              help="Disk space for the whole domain; 0 = unlimited (needs a super administrator's token)."),
    IntOption("mailbox_quota_mb", "Default mailbox quota (MB)", default=100, min_value=0,
              help="Quota of a new mailbox unless one is given; at most the domain quota."),
    BoolOption("create_aliases", "Create the postmaster alias", default=True,
               help="postmaster@ the domain, delivered to the domain administrator."),
    BoolOption(DELETE_DATA_OPTION, "Delete mail files on terminate", default=False,
               help="Off: Modoboa keeps the mailbox folders on disk when the domain is deleted."),
)
SERVER_SETTINGS = OptionSchema(
    TextOption("host_header", "Host header", check="hostname",
               help="Only when the server's host name is not in Modoboa's ALLOWED_HOSTS (e.g. reached by IP)."),
    IntOption("throttle_wait_seconds", "Longest wait for Modoboa's throttling (s)", default=30, min_value=0,
              help="Modoboa allows 5 writes a second per endpoint and 300 calls a minute per token by default."),
)


class ModoboaModule(MailboxManagement, ProvisioningModule):
    key = "modoboa"
    hosts_domain_once = True
    label = "Modoboa"
    supports_usage = True
    supports_mailboxes = True
    supports_sso = False  # the API has no login token or impersonation endpoint
    product_options_schema = PRODUCT_OPTIONS
    server_settings_schema = SERVER_SETTINGS

    # --- lifecycle -----------------------------------------------------------------------------------------

    def create(self, service):
        options = self.product_options(service)
        client = self._client(service)
        domain, admin = service.domain.lower(), admin_name(service)
        address = f"{admin}@{domain}"
        password = service.password or generate_password()
        body = {
            "name": domain, "type": "domain", "enabled": True,
            "quota": options["domain_quota_mb"], "default_mailbox_quota": options["mailbox_quota_mb"],
            "domain_admin": {"username": admin, "password": password, "with_mailbox": True,
                             "with_aliases": options["create_aliases"]},
        }
        try:
            created = client.call("POST", "domains/", body)
            message = f"Created {domain} on {service.server.hostname} with its administrator {address}"
        except ModoboaError as exc:
            created = self._created_earlier(client, exc, domain, address, password)
            message = f"{domain} already existed on {service.server.hostname} from an earlier attempt; kept it"
        quota = f"{options['domain_quota_mb']} MB" if options["domain_quota_mb"] else "unlimited"
        return ActionResult(
            message=f"{message} (domain quota {quota}, mailboxes {options['mailbox_quota_mb']} MB).",
            module_data={"modoboa_domain_id": created["pk"]},
            username=address,
            password="" if service.password else password,
        )

    def change_package(self, service):
        """The domain's quota and default mailbox quota from the (new) product, as Create sets them; one PATCH
        (skipped when Modoboa already has both). Existing mailboxes keep their own quotas: Modoboa applies the
        default to new mailboxes and to those that use the domain's quota. The plan's mailbox count is applied
        by the portal (Modoboa's per-domain limits are an optional extension the API does not expose)."""
        options = self.product_options(service)
        client = self._client(service)
        found = self._domain(client, service)
        wanted = {"quota": options["domain_quota_mb"], "default_mailbox_quota": options["mailbox_quota_mb"]}
        quota = f"{wanted['quota']} MB" if wanted["quota"] else "unlimited"
        summary = f"domain quota {quota}, mailboxes {wanted['default_mailbox_quota']} MB"
        if all(str(found.get(key)) == str(value) for key, value in wanted.items()):
            return ActionResult(message=f"{found['name']} already had {summary}; nothing to change.")
        client.call("PATCH", f"domains/{found['pk']}/", wanted, idempotent=True)
        return ActionResult(message=f"Updated {found['name']} on {service.server.hostname}: {summary}.")

    def suspend(self, service, *, reason, mode=""):
        return self._set_enabled(service, False, suspend_mode=mode or "domain")

    def unsuspend(self, service):
        return self._set_enabled(service, True)

    def terminate(self, service, *, delete_data):
        client = self._client(service)
        domain = service.domain.lower()
        found = find_domain(client, domain)
        if found is not None:
            try:
                client.call("POST", f"domains/{found['pk']}/delete/", {"keep_folder": not delete_data},
                            idempotent=True)
            except NotFound:
                found = None
        # Modoboa keeps the user accounts of a deleted domain's administrators (unless its auto_account_removal
        # parameter is on); left behind, they would block creating the domain again.
        leftovers = [
            account["pk"] for account in client.pages("accounts/", {"search": f"@{domain}"})
            if account["username"].lower().endswith(f"@{domain}") and not account.get("mailbox")
            and not account.get("domains")
        ]
        if leftovers:
            try:
                client.call("POST", "accounts/bulk_delete/", {"ids": leftovers}, idempotent=True)
            except NotFound:  # one of them went meanwhile; a retry cleans up the rest
                pass
        if found is None:
            return ActionResult(message=f"{domain} was already removed from {service.server.hostname}.")
        kept = "its mail files deleted" if delete_data else "its mail files kept on disk"
        return ActionResult(message=f"Removed {domain} from {service.server.hostname}, {kept}.")

    def change_password(self, service, *, new_password):
        address = f"{admin_name(service)}@{service.domain.lower()}"
        client = self._client(service)
        client.call("PATCH", f"accounts/{self._account(client, service, address)['pk']}/",
                    {"password": new_password}, idempotent=True)
        return ActionResult(message=f"Password of {address} changed.")

    # --- server-wide ---------------------------------------------------------------------------------------

    def test_connection(self, server):
        client = self._server_client(server)
        me = client.call("GET", "account/me/")
        role = me.get("role", "")
        if role not in ADMIN_ROLES:
            raise ModuleError(
                f"The API token of {server.hostname} belongs to {me.get('username')}, a {role or 'user'}: creating "
                "domains needs a super administrator's (or a reseller's) token.", permanent=True,
            )
        count = client.call("GET", "domains/", params={"page_size": 1})["count"]
        return ActionResult(message=f"Connected to Modoboa at {server.base_url} as {me['username']} ({role}); "
                                    f"{count} domain(s).")

    def usage(self, server):
        client = self._server_client(server)
        usage = {}
        for domain in client.pages("domains/"):
            limit = int(domain.get("quota") or 0)
            usage[domain["name"].lower()] = [Decimal(0), Decimal(limit) if limit else None]
        for account in client.pages("accounts/"):
            mailbox = _mailbox(account)
            row = usage.get(mailbox.address.rpartition("@")[2]) if mailbox else None
            if row is not None and mailbox.used_mb:
                row[0] += mailbox.used_mb
        return {name: Usage(disk_mb=used, disk_limit_mb=limit) for name, (used, limit) in usage.items()}

    # --- mailboxes -----------------------------------------------------------------------------------------

    def list_mailboxes(self, service):
        client = self._client(service)
        found = self._domain(client, service)
        return sorted(filter(None, map(_mailbox, client.pages("accounts/", {"domain": found["pk"]}))),
                      key=lambda mailbox: mailbox.address)

    def create_mailbox(self, service, mailbox):
        address = address_in_domain(mailbox.address, service.domain)
        first, _, last = mailbox.name.strip().partition(" ")
        quota = {"use_domain_quota": True} if mailbox.quota_mb is None else {
            "use_domain_quota": False, "quota": str(mailbox.quota_mb)}
        created = self._client(service).call("POST", "accounts/", {
            "username": address, "role": "SimpleUsers", "password": mailbox.password,
            "first_name": first, "last_name": last, "mailbox": quota,
        })
        return _mailbox({**created, "mailbox": {"full_address": address, **created["mailbox"]}})

    def update_mailbox(self, service, address, changes):
        client = self._client(service)
        account = self._account(client, service, address_in_domain(address, service.domain))
        body = {}
        if changes.name is not None:
            body["first_name"], _, body["last_name"] = changes.name.strip().partition(" ")
        if changes.password is not None:
            body["password"] = changes.password
        if changes.quota_mb is not None:
            body["mailbox"] = {"use_domain_quota": False, "quota": str(changes.quota_mb)}
        if changes.enabled is not None:
            body["is_active"] = changes.enabled
        if body:
            client.call("PATCH", f"accounts/{account['pk']}/", body, idempotent=True)
        return _mailbox(client.call("GET", f"accounts/{account['pk']}/"))

    def delete_mailbox(self, service, address, *, delete_data=True):
        client = self._client(service)
        try:
            account = self._account(client, service, address_in_domain(address, service.domain))
            client.call("POST", f"accounts/{account['pk']}/delete/", {"keepdir": not delete_data}, idempotent=True)
        except NotFound:
            pass

    def list_aliases(self, service):
        client = self._client(service)
        mailboxes = {mailbox.address for mailbox in self.list_mailboxes(service)}
        # An alias at a mailbox's own address is that mailbox's forward (get_forward), not an alias.
        return [_alias(row) for row in self._alias_rows(client, service) if row["address"] not in mailboxes]

    def create_alias(self, service, alias):
        body = {"address": address_in_domain(alias.address, service.domain), "enabled": alias.enabled,
                "recipients": list(alias.targets)}
        return _alias(self._client(service).call("POST", "aliases/", body))

    def update_alias(self, service, alias):
        client = self._client(service)
        row = self._alias_row(client, service, alias.address)
        body = {"enabled": alias.enabled, "recipients": list(alias.targets)}
        return _alias(client.call("PATCH", f"aliases/{row['pk']}/", body, idempotent=True))

    def delete_alias(self, service, address):
        client = self._client(service)
        try:
            client.call("DELETE", f"aliases/{self._alias_row(client, service, address)['pk']}/")
        except NotFound:
            pass

    def list_forwards(self, service):
        """Every mailbox's forward from one listing of the mailboxes and one of the aliases (the default would
        read the account and every alias again for each mailbox)."""
        client = self._client(service)
        rows = {row["address"]: row for row in self._alias_rows(client, service)}
        return [_forward(mailbox.address, rows.get(mailbox.address)) for mailbox in self.list_mailboxes(service)]

    def get_forward(self, service, address):
        client = self._client(service)
        address = self._account(client, service, address_in_domain(address, service.domain))["username"]
        return _forward(address, next((row for row in self._alias_rows(client, service) if row["address"] == address),
                                      None))

    def set_forward(self, service, forward):
        if forward.targets and not forward.keep_copy:
            raise ModuleError(
                "Modoboa's API lets the portal forward a mailbox only while keeping a copy in it; forwarding "
                "without a copy can be set by the mailbox's owner in Modoboa.", permanent=True,
            )
        client = self._client(service)
        address = self._account(client, service, address_in_domain(forward.address, service.domain))["username"]
        row = next((row for row in self._alias_rows(client, service) if row["address"] == address), None)
        recipients = [address, *(target for target in forward.targets if target != address)]
        if not forward.targets:
            if row is not None:
                client.call("DELETE", f"aliases/{row['pk']}/")
        elif row is None:
            client.call("POST", "aliases/", {"address": address, "enabled": True, "recipients": recipients})
        else:
            client.call("PATCH", f"aliases/{row['pk']}/", {"recipients": recipients}, idempotent=True)
        return Forward(address=address, targets=tuple(recipients[1:]), keep_copy=True)

    # --- helpers -------------------------------------------------------------------------------------------

    def _client(self, service):
        return self._server_client(self.require_server(service))

    def _server_client(self, server):
        settings = self.server_settings(server)
        return ModoboaClient(server.base_url, server.api_token, verify=server.verify_tls,
                             host_header=settings["host_header"], throttle_wait=settings["throttle_wait_seconds"])

    def _set_enabled(self, service, enabled, **result):
        client = self._client(service)
        found = self._domain(client, service)
        verb = "enabled" if enabled else "disabled"
        if found["enabled"] == enabled:
            return ActionResult(message=f"{found['name']} was already {verb}.", **result)
        client.call("PATCH", f"domains/{found['pk']}/", {"enabled": enabled}, idempotent=True)
        return ActionResult(message=f"{found['name']} {verb} on {service.server.hostname}.", **result)

    def _domain(self, client, service):
        found = find_domain(client, service.domain.lower())
        if found is None:
            raise ModuleError(f"The domain {service.domain} does not exist on the Modoboa server "
                              f"{service.server.hostname}.", permanent=True)
        return found

    def _account(self, client, service, address):
        account = find_row(client, "accounts/", "username", address)
        if account is None:
            raise NotFound(f"There is no mailbox {address} on the Modoboa server {service.server.hostname}.",
                           status=404)
        return account

    def _alias_rows(self, client, service):
        return client.pages("aliases/", {"domain": service.domain.lower()})

    def _alias_row(self, client, service, address):
        address = address_in_domain(address, service.domain)
        row = find_row(client, "aliases/", "address", address)
        if row is None:
            raise NotFound(f"There is no alias {address} on the Modoboa server {service.server.hostname}.",
                           status=404)
        return row

    def _created_earlier(self, client, error, domain, address, password):
        """After a refused create: the domain when an earlier attempt of this service made it (its administrator
        has this service's password), else a clear permanent error."""
        taken = " ".join(map(str, error.fields.get("name", ()))) if isinstance(error.fields, dict) else ""
        if error.status == 409:
            raise ModuleError(
                f"The account {address} already exists on Modoboa, outside any domain of this name (a leftover of "
                f"a domain deleted in Modoboa?). Delete that account in Modoboa, then create again.", permanent=True,
            ) from error
        if error.status != 400 or "already exists" not in taken:
            raise error
        found = find_domain(client, domain)
        if found is not None and _password_matches(client, address, password):
            return found
        raise ModuleError(
            f"The domain {domain} already exists on the Modoboa server and is not this service's ({taken}). "
            "Remove it in Modoboa, or move the service to another server, then create again.", permanent=True,
        ) from error


def admin_name(service):
    """The local part of the domain administrator, the service's primary login."""
    return (service.username.partition("@")[0] or DEFAULT_ADMIN).lower()


def find_domain(client, name):
    return find_row(client, "domains/", "name", name)


def find_row(client, path, field, value):
    """The object of a list whose `field` is `value` (lower case), or None: the API's `search` matches parts
    of names, so the exact one is picked from its results."""
    return next((row for row in client.pages(path, {"search": value}) if row[field].lower() == value), None)


def generate_password():
    """16 random characters with the upper case, lower case and digit Modoboa's validators ask for."""
    alphabet = string.ascii_letters + string.digits
    while True:
        password = "".join(secrets.choice(alphabet) for _ in range(16))
        if all(any(test(char) for char in password) for test in (str.isupper, str.islower, str.isdigit)):
            return password


def _password_matches(client, address, password):
    """Whether `password` is the account's, asked through the v1 password endpoint: it checks the current
    password before anything else and is given the same one as the new password, so nothing changes."""
    account = find_row(client, "accounts/", "username", address)
    if account is None:
        return False
    try:
        client.call("PUT", f"/api/v1/accounts/{account['pk']}/password/",
                    {"password": password, "new_password": password})
    except ModoboaError as exc:
        return exc.status == 400 and "password" not in exc.fields
    return True


def _forward(address, row):
    """The forward of the mailbox `address` from the alias at its own address (None: no forward)."""
    targets = tuple(target for target in (row["recipients"] if row else ()) if target != address)
    return Forward(address=address, targets=targets, keep_copy=True)


def _mailbox(account):
    """A Mailbox from an account object; None for an account without a mailbox (a plain administrator)."""
    mailbox = account.get("mailbox")
    if not mailbox:
        return None
    quota = int(mailbox.get("quota") or 0)
    percent = mailbox.get("quota_usage")
    return Mailbox(
        address=(mailbox.get("full_address") or account["username"]).lower(),
        name=" ".join(filter(None, (account.get("first_name"), account.get("last_name")))),
        quota_mb=quota or None,
        used_mb=Decimal(quota) * Decimal(percent) / 100 if quota and percent is not None else None,
        enabled=account.get("is_active", True),
        is_admin=account.get("role") == "DomainAdmins",
    )


def _alias(row):
    return Alias(address=row["address"], targets=tuple(row.get("recipients") or ()), enabled=row.get("enabled", True))
