"""SmarterMail's mailbox capability (provisioning.modules.mailboxes), mixed into SmarterMailModule: the domain-admin
endpoints of shared/providers/smartermail.md §4.2, called with the domain administrator's token that the system
admin obtains by impersonation (manage-domain).

- Mailboxes: user-put, post-user, get-user, account-list-search (searchFlags users), account-list-delete. Sizes
  are bytes on the wire. No per-mailbox on/off switch appears in the sources, so it is not offered.
- Aliases: alias-put, alias (update), alias/{name}, alias-delete/{name}; listed with searchFlags aliases.
- Forwarding: get-/post-mailbox-forward-list (deleteOnForward: forward without keeping a copy).
- Domain aliases: domain-aliases, domain-alias-put/{alias}/false, domain-alias-delete/{alias}.
- DKIM: a key of the product's size (option 20) through dkim-create-rollover/{size} when there is none, then
  dkim-enable/false: signing starts once SmarterMail sees the DNS record. Read from domainKeysSettings.
- Distribution lists are SmarterMail mailing lists (settings/domain/mailing-lists/*, as SolidCP's SmarterMail100
  provider and SmarterMailMcp call them; the spec's own tables do not list them): listed with `list`, made with
  `add` (the domain administrator moderates them), found by their numeric id, members read with
  `{id}/subscriber-search` and changed with `{id}/subscriber-add` / `subscriber-remove`, removed with
  `{id}/delete`. A list made with members is all or nothing: when adding them fails, the list is deleted again.
- Webmail single sign-on: the module's sso_url(target=WEBMAIL). No branding: the sources do not cover it, so the
  client area does not offer it for SmarterMail.
"""
from decimal import ROUND_HALF_UP, Decimal

from provisioning.modules.base import ModuleError, SsoTarget
from provisioning.modules.mailboxes import (
    Alias,
    DistributionList,
    Dkim,
    Forward,
    Mailbox,
    MailboxError,
    MailboxManagement,
    Reason,
    address_in_domain,
)
from provisioning.modules.smartermail.client import SmarterMailError

BYTES_PER_MB = 1024 * 1024
ADMIN_ACCOUNT = 1  # accountType of a domain administrator in account-list-search
LISTS = "settings/domain/mailing-lists"
REGULAR_SUBSCRIBERS = 0  # subscriber-search's subscriberType: regular (not digest) subscribers
# The vendor's codes by what they mean (the simulator's extra codes for aliases follow the same pattern).
REASONS = {
    "NAME_IN_USE": Reason.TAKEN,
    "INVALID_NAME": Reason.INVALID_NAME,
    "PASSWORD": Reason.PASSWORD,
    "NOT_FOUND": Reason.NOT_FOUND,
    "INVALID": Reason.INVALID,
}


class SmarterMailMailboxes(MailboxManagement):
    supports_mailboxes = True
    supports_mailbox_enable = False
    supports_forward_without_copy = True
    supports_domain_aliases = True
    supports_distribution_lists = True
    supports_dkim = True
    mailbox_sso_targets = frozenset({SsoTarget.WEBMAIL})

    # --- mailboxes -----------------------------------------------------------------------------------------

    def list_mailboxes(self, service):
        return self._mailboxes(service)

    def _mailboxes(self, service, *, token=None):
        domain = service.domain.lower()
        rows = self._search(service, "users", token=token)
        return [_mailbox(row, domain) for row in rows if row.get("accountType") in (0, ADMIN_ACCOUNT)]

    def create_mailbox(self, service, mailbox):
        address = address_in_domain(mailbox.address, service.domain)
        data = {"userName": address.partition("@")[0], "password": mailbox.password, "fullName": mailbox.name,
                "securityFlags": {"isDomainAdmin": False, "authType": 0}}
        if mailbox.quota_mb is not None:
            data["maxMailboxSize"] = mailbox.quota_mb * BYTES_PER_MB
        self._domain_call(service, "POST", "settings/domain/user-put", {"userData": data})
        return Mailbox(address=address, name=mailbox.name, quota_mb=mailbox.quota_mb, used_mb=Decimal(0))

    def update_mailbox(self, service, address, changes):
        address = address_in_domain(address, service.domain)
        if changes.enabled is not None:
            raise MailboxError("SmarterMail's API has no switch for one mailbox.", reason=Reason.UNSUPPORTED)
        data = {}
        if changes.name is not None:
            data["fullName"] = changes.name
        if changes.password is not None:
            data["password"] = changes.password
        if changes.quota_mb is not None:
            data["maxMailboxSize"] = changes.quota_mb * BYTES_PER_MB
        if data:
            self._domain_call(service, "POST", "settings/domain/post-user", {"email": address, "userData": data},
                              idempotent=True)
        user = self._domain_call(service, "POST", "settings/domain/get-user", {"email": address},
                                 idempotent=True)["userData"]
        return _mailbox({**user, "displayName": user.get("fullName", ""),
                         "accountType": ADMIN_ACCOUNT if (user.get("securityFlags") or {}).get("isDomainAdmin") else 0},
                        service.domain.lower(), used=None)

    def delete_mailbox(self, service, address, *, delete_data=True):
        local = address_in_domain(address, service.domain).partition("@")[0]
        self._domain_call(service, "POST", "settings/domain/account-list-delete", {"input": [local]}, idempotent=True)

    # --- aliases -------------------------------------------------------------------------------------------

    def list_aliases(self, service):
        domain = service.domain.lower()
        names = [row["userName"] for row in self._search(service, "aliases")]
        return [self._alias(service, f"{name}@{domain}".lower()) for name in names]

    def create_alias(self, service, alias):
        address = address_in_domain(alias.address, service.domain)
        self._domain_call(service, "POST", "settings/domain/alias-put", {"alias": _alias_body(address, alias.targets)})
        return Alias(address=address, targets=tuple(alias.targets))

    def update_alias(self, service, alias):
        address = address_in_domain(alias.address, service.domain)
        local = address.partition("@")[0]
        self._domain_call(service, "POST", "settings/domain/alias",
                          {"oldName": local, "alias": _alias_body(address, alias.targets)}, idempotent=True)
        return Alias(address=address, targets=tuple(alias.targets))

    def delete_alias(self, service, address):
        local = address_in_domain(address, service.domain).partition("@")[0]
        self._domain_remove(service, f"settings/domain/alias-delete/{local}")

    # --- forwarding ----------------------------------------------------------------------------------------

    def list_forwards(self, service):
        """SmarterMail lists no forwards: one call per mailbox, but all (and the mailbox listing) as one domain
        administrator, where the default would impersonate again for each mailbox."""
        token = self._admin_token(service)
        mailboxes = self._mailboxes(service, token=token)
        return [self.get_forward(service, mailbox.address, token=token) for mailbox in mailboxes]

    def get_forward(self, service, address, *, token=None):
        address = address_in_domain(address, service.domain)
        data = self._domain_call(service, "POST", "settings/domain/get-mailbox-forward-list", {"email": address},
                                 idempotent=True, token=token).get("mailboxForwardList") or {}
        return Forward(address=address, targets=tuple(str(t).lower() for t in data.get("forwardList") or ()),
                       keep_copy=not data.get("deleteOnForward", False))

    def set_forward(self, service, forward):
        address = address_in_domain(forward.address, service.domain)
        targets = list(dict.fromkeys(t.strip().lower() for t in forward.targets if t.strip()))
        body = {"email": address, "mailboxForwardList": {
            "forwardList": targets, "keepRecipients": True, "deleteOnForward": bool(targets) and not forward.keep_copy,
            "spamForwardOption": "None"}}
        self._domain_call(service, "POST", "settings/domain/post-mailbox-forward-list", body, idempotent=True)
        return Forward(address=address, targets=tuple(targets), keep_copy=forward.keep_copy or not targets)

    # --- distribution (mailing) lists ----------------------------------------------------------------------

    def list_distribution_lists(self, service):
        domain = service.domain.lower()
        return [DistributionList(address=f"{row['listAddress']}@{domain}".lower(),
                                 name=str(row.get("description") or "")) for row in self._mailing_lists(service)]

    def get_distribution_list(self, service, address):
        address = address_in_domain(address, service.domain)
        token = self._admin_token(service)
        found = self._mailing_list(service, address, token)
        return DistributionList(address=address, members=self._subscribers(service, found["id"], token),
                                name=str(found.get("description") or ""))

    def create_distribution_list(self, service, distribution_list):
        address = address_in_domain(distribution_list.address, service.domain)
        members = _members(distribution_list.members)
        token = self._admin_token(service)
        body = {"listAddress": address.partition("@")[0], "moderatorAddress": self._admin_address(service),
                "description": distribution_list.name}
        made = self._domain_call(service, "POST", f"{LISTS}/add", body, token=token).get("item") or {}
        if "id" not in made:
            raise ModuleError(f"SmarterMail made the list {address} but did not say its id.", permanent=True)
        if members:
            try:
                self._domain_call(service, "POST", f"{LISTS}/{made['id']}/subscriber-add", list(members), token=token)
            except ModuleError:
                self._delete_list(service, made["id"], token)
                raise
        return DistributionList(address=address, members=members, name=distribution_list.name)

    def delete_distribution_list(self, service, address):
        address = address_in_domain(address, service.domain)
        token = self._admin_token(service)
        found = self._mailing_list(service, address, token, missing_ok=True)
        if found is not None:
            self._domain_call(service, "POST", f"{LISTS}/{found['id']}/delete", {}, idempotent=True, token=token)

    def add_list_member(self, service, address, member):
        address = address_in_domain(address, service.domain)
        member = member.strip().lower()
        token = self._admin_token(service)
        found = self._mailing_list(service, address, token)
        if member in self._subscribers(service, found["id"], token):
            raise MailboxError(f"{member} is already a member of {address}.", reason=Reason.TAKEN)
        self._domain_call(service, "POST", f"{LISTS}/{found['id']}/subscriber-add", [member], idempotent=True,
                          token=token)

    def remove_list_member(self, service, address, member):
        address = address_in_domain(address, service.domain)
        token = self._admin_token(service)
        found = self._mailing_list(service, address, token)
        self._domain_call(service, "POST", f"{LISTS}/{found['id']}/subscriber-remove", [member.strip().lower()],
                          idempotent=True, token=token)

    def _delete_list(self, service, list_id, token):
        """Undo a list made a moment ago; the error that made it necessary is the one to report."""
        try:
            self._domain_call(service, "POST", f"{LISTS}/{list_id}/delete", {}, token=token)
        except ModuleError:
            pass

    def _mailing_lists(self, service, token=None):
        return self._domain_call(service, "GET", f"{LISTS}/list", token=token).get("items") or []

    def _mailing_list(self, service, address, token, *, missing_ok=False):
        """The list's row (with its id) from the domain's lists; MailboxError(NOT_FOUND) when there is none."""
        local = address.partition("@")[0]
        found = next((row for row in self._mailing_lists(service, token)
                      if str(row.get("listAddress") or "").lower() == local), None)
        if found is None and not missing_ok:
            raise MailboxError(f"There is no mailing list {address} on SmarterMail.", reason=Reason.NOT_FOUND)
        return found

    def _subscribers(self, service, list_id, token):
        body = {"skip": 0, "take": 99999, "search": "", "subscriberType": REGULAR_SUBSCRIBERS,
                "sortField": "emailaddress"}
        rows = self._domain_call(service, "POST", f"{LISTS}/{list_id}/subscriber-search", body, idempotent=True,
                                 token=token).get("items") or []
        return tuple(str(row.get("emailAddress") or "").lower() for row in rows)

    # --- domain aliases ------------------------------------------------------------------------------------

    def list_domain_aliases(self, service):
        data = self._domain_call(service, "GET", "settings/domain/domain-aliases")
        return sorted(
            str(row.get("name") or "").lower() for row in data.get("domainAliasData") or [] if row.get("name")
        )

    def add_domain_alias(self, service, name):
        self._domain_call(service, "POST", f"settings/domain/domain-alias-put/{name.strip().lower()}/false", {})

    def remove_domain_alias(self, service, name):
        self._domain_remove(service, f"settings/domain/domain-alias-delete/{name.strip().lower()}")

    # --- DKIM ----------------------------------------------------------------------------------------------

    def get_dkim(self, service, *, token=None):
        keys = self._domain_keys(service, token)
        if keys.get("isActive"):
            status = Dkim.ACTIVE
        elif keys.get("pending"):
            status = Dkim.PENDING
        else:
            return Dkim(status=Dkim.DISABLED)
        selector, public_key = str(keys.get("selector") or ""), str(keys.get("publicKey") or "")
        return Dkim(status=status, host=f"{selector}._domainkey.{service.domain.lower()}" if selector else "",
                    record=f"v=DKIM1; k=rsa; p={public_key}" if public_key else "")

    def enable_dkim(self, service, *, key_size=2048):
        token = self._admin_token(service)  # one impersonation for the action's three or four calls
        if not self._domain_keys(service, token).get("publicKey"):
            self._domain_call(service, "POST", f"settings/domain/dkim-create-rollover/{int(key_size)}", {}, token=token)
        self._domain_call(service, "POST", "settings/domain/dkim-enable/false", {}, idempotent=True, token=token)
        return self.get_dkim(service, token=token)

    def disable_dkim(self, service):
        token = self._admin_token(service)
        self._domain_call(service, "POST", "settings/domain/dkim-disable", {}, idempotent=True, token=token)
        return self.get_dkim(service, token=token)

    def _domain_keys(self, service, token):
        settings = self._domain_call(service, "GET", "settings/domain/domain", token=token).get("domainSettings") or {}
        return settings.get("domainKeysSettings") or {}

    # --- helpers -------------------------------------------------------------------------------------------

    def _admin_token(self, service):
        """A domain-administrator token, for an action that makes several calls with it."""
        return self._domain_admin_token(self._client(service), service)

    def _domain_call(self, service, method, path, body=None, *, idempotent=None, token=None):
        """A call as the domain's administrator (with `token` when the caller already has the administrator's);
        a refusal with a known code becomes a MailboxError."""
        client = self._client(service)
        token = token or self._domain_admin_token(client, service)
        try:
            return client.call_with_token(token, method, path, body, idempotent=idempotent)
        except SmarterMailError as exc:
            reason = next((r for fragment, r in REASONS.items() if fragment in exc.code), "")
            if not reason:
                raise
            raise MailboxError(exc.message, reason=reason, permanent=exc.permanent) from exc

    def _domain_remove(self, service, path):
        """A POST that removes something: already gone counts as done."""
        try:
            self._domain_call(service, "POST", path, {})
        except MailboxError as exc:
            if exc.reason != Reason.NOT_FOUND:
                raise

    def _search(self, service, kind, *, token=None):
        body = {"search": None, "searchFlags": [kind], "skip": 0, "take": 99999, "sortField": "userName"}
        return self._domain_call(service, "POST", "settings/domain/account-list-search", body,
                                 idempotent=True, token=token).get("results") or []

    def _alias(self, service, address):
        local = address.partition("@")[0]
        data = self._domain_call(service, "GET", f"settings/domain/alias/{local}").get("alias") or {}
        return Alias(address=address, targets=tuple(str(t).lower() for t in data.get("aliasTargetList") or ()))


def _members(addresses):
    """Addresses as a list takes them: trimmed, lower-case, each once, in the order given."""
    return tuple(dict.fromkeys(a.strip().lower() for a in addresses or () if a.strip()))


def _alias_body(address, targets):
    return {"name": address.partition("@")[0], "displayName": "", "allowSending": False, "hideFromGAL": False,
            "internalOnly": False, "aliasTargetList": [t.strip().lower() for t in targets if t.strip()]}


def _mailbox(row, domain, *, used=...):
    quota = int(row.get("maxMailboxSize") or 0)
    total = row.get("totalMailboxSize") if used is ... else used
    return Mailbox(
        address=f"{str(row['userName']).lower()}@{domain}", name=str(row.get("displayName") or ""),
        quota_mb=quota // BYTES_PER_MB or None,
        used_mb=None if total is None else (Decimal(total) / BYTES_PER_MB).quantize(Decimal("0.01"), ROUND_HALF_UP),
        enabled=bool(row.get("isEnabled", True)), is_admin=row.get("accountType") == ADMIN_ACCOUNT,
    )

