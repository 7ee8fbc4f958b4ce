"""The PolarisMail / EmailArray provisioning module (seed 003), over the API in shared/providers/polarismail.md.

Lifecycle: Create checks that the domain is available and adds it (a domain already in this reseller account is
taken as made by an earlier attempt; one elsewhere is refused); Suspend/Unsuspend switch the domain off and on
(`updateDomain editdomainactive`); Terminate removes the domain with all its mail (PolarisMail keeps nothing:
there is no keep-the-files choice); Change password sets the password of the service's login mailbox, when it
has one. Usage is one listing per domain. PolarisMail has no domain-administrator login, so staff's
domain-level single sign-on is not offered; mailbox owners get Webmail and their User Control Panel.

The mailbox capability covers everything the client area offers: mailboxes with their type (Basic 1,
Enhanced 2), quota (GB on the wire, MB here) and on/off switch; aliases (one target each, as the API takes
one); forwards (through the user API, per mailbox); distribution lists with members; DKIM (after the domain's
ownership is verified); webmail branding; domain aliases. A change of several calls is all or nothing: when a
later call fails, the earlier ones are undone before the error is raised.
"""
import base64
from decimal import ROUND_HALF_UP, Decimal
from urllib.parse import urlencode, urlsplit

from provisioning.modules.base import (
    ActionResult,
    ModuleError,
    ProvisioningModule,
    SsoTarget,
    Usage,
    planned_mailboxes,
)
from provisioning.modules.mailboxes import (
    MAILBOX_CONTROL_PANEL,
    Alias,
    Branding,
    DistributionList,
    Dkim,
    Forward,
    Mailbox,
    MailboxError,
    MailboxManagement,
    Reason,
    address_in_domain,
)
from provisioning.modules.polarismail.client import PolarisMailClient, PolarisMailError
from provisioning.modules.polarismail.options import PRODUCT_OPTIONS, SERVER_SETTINGS

TYPE_CODES = {"basic": "1", "enhanced": "2"}
TYPE_NAMES = {code: name for name, code in TYPE_CODES.items()}
MB_PER_GB = Decimal(1024)
LEGACY_TYPE_OPTION = "mailbox_type"  # the older plans' select option: the type of all their mailboxes
LIST_TYPE = "1"  # the vendor's module creates lists of type 1 (its default; other values are undocumented)


class PolarisMailModule(MailboxManagement, ProvisioningModule):
    key = "polarismail"
    hosts_domain_once = True
    label = "PolarisMail / EmailArray"
    supports_usage = True
    supports_mailboxes = True
    supports_sso = False  # no domain-administrator login; mailbox SSO: mailbox_sso_targets
    supports_distribution_lists = True
    supports_dkim = True
    supports_branding = True
    supports_domain_aliases = True
    mailbox_types = tuple(TYPE_CODES)
    mailbox_sso_targets = frozenset({SsoTarget.WEBMAIL, MAILBOX_CONTROL_PANEL})
    alias_max_targets = 1
    product_options_schema = PRODUCT_OPTIONS
    server_settings_schema = SERVER_SETTINGS

    # --- lifecycle -----------------------------------------------------------------------------------------

    def create(self, service):
        client = self._client(service)
        domain = service.domain.lower()
        try:
            client.call("isDomainAvailable", {"domain": domain}, read=True)
        except PolarisMailError as exc:
            if exc.reason != Reason.TAKEN or not self._in_account(client, domain):
                raise ModuleError(
                    f"PolarisMail will not add {domain}: {exc.vendor_message}. If it is in another PolarisMail "
                    "account, its owner must remove it there first.",
                    permanent=True,
                ) from exc
            message = f"{domain} was already in the PolarisMail account (an earlier attempt); kept it."
        else:
            client.call("addDomain", {"newdomain": domain})
            message = f"Added {domain} to the PolarisMail account."
        if self._verification(client, domain) is not None:
            message += " PolarisMail asks the customer to verify the domain's ownership (shown in the client area)."
        return ActionResult(message=message, module_data={"polarismail_domain": domain})

    def change_package(self, service):
        """PolarisMail keeps no per-domain limits (no user cap, no domain quota): the portal holds the plan's
        mailbox counts. What the provider does keep is each mailbox's type, so a plan of one type (no
        per-type mailbox options: the older `mailbox_type` choice, else option "Default account type") has
        its mailboxes of another type changed to it, keeping their names and quotas. A plan with per-type
        counts (mailboxes_basic, mailboxes_enhanced) mixes types by the customer's choice: nothing is
        changed, and types over the plan's count are named in the message (the customer picks which mailbox
        changes type in the client area). Existing quotas stay; option "Default mailbox quota" is for new
        mailboxes. Repeating it converts only what is still of the wrong type."""
        options = self.product_options(service)
        client = self._client(service)
        domain = service.domain.lower()
        users = self._users(client, domain, quota=True)
        counts = {}
        for row in users:
            kind = TYPE_NAMES.get(str(row.get("account_type")), "basic")
            counts[kind] = counts.get(kind, 0) + 1
        planned = planned_mailboxes(service.config_options)
        if planned is not None and "" not in planned:
            over = [f"{counts[kind]} {kind} (the plan has {planned.get(kind, 0)})" for kind in sorted(counts)
                    if counts[kind] > planned.get(kind, 0)]
            note = f" More mailboxes than the plan pays for: {', '.join(over)}." if over else ""
            return ActionResult(message=f"Nothing to change on PolarisMail for {domain} (no domain limits; the "
                                        f"portal applies the plan's mailbox counts).{note}")
        chosen = str(service.config_options.get(LEGACY_TYPE_OPTION) or "")
        kind = chosen if chosen in TYPE_CODES else options["default_account_type"]
        changed = []
        for row in users:
            if str(row.get("account_type")) != TYPE_CODES[kind]:
                address = f"{str(row['username']).lower()}@{domain}"
                self._update_user(client, service, address, before=row, kind=kind)
                changed.append(address)
        if not changed:
            return ActionResult(message=f"Every mailbox of {domain} is already {kind}; nothing to change.")
        return ActionResult(message=f"Changed {len(changed)} mailbox(es) of {domain} to {kind}: "
                                    f"{', '.join(changed)}.")

    def suspend(self, service, *, reason, mode=""):
        self._set_active(service, False)
        return ActionResult(message=f"Disabled {service.domain} on PolarisMail: mail refused, nothing deleted.",
                            suspend_mode="domain")

    def unsuspend(self, service):
        self._set_active(service, True)
        return ActionResult(message=f"Enabled {service.domain} on PolarisMail again.")

    def terminate(self, service, *, delete_data):
        domain = service.domain.lower()
        if not self._client(service).remove("removeDomain", {"domain": domain}):
            return ActionResult(message=f"{domain} was already removed from PolarisMail.")
        return ActionResult(message=f"Removed {domain} from PolarisMail with all its mailboxes and mail "
                                    "(PolarisMail keeps no files of a removed domain).")

    def change_password(self, service, *, new_password):
        if "@" not in service.username:
            raise ModuleError(
                f"{service.domain} has no login mailbox on PolarisMail (a PolarisMail domain has no administrator "
                "account): change mailbox passwords in the client area under Email › Accounts.", permanent=True,
            )
        address = address_in_domain(service.username, service.domain)
        self._update_user(self._client(service), service, address, password=new_password)
        return ActionResult(message=f"Password of {address} changed.")

    # --- server-wide ---------------------------------------------------------------------------------------

    def test_connection(self, server):
        client = self._server_client(server)
        client.login()
        domains = client.call("getAllDomains", read=True) or []
        return ActionResult(message=f"Connected to PolarisMail at {server.base_url} as {server.username}; "
                                    f"{len(domains)} domain(s) in the account.")

    def usage(self, server):
        client = self._server_client(server)
        usage = {}
        for row in client.call("getAllDomains", read=True) or []:
            name = str(row.get("domain") or "").lower()
            if not name:
                continue
            users = self._users(client, name)
            limit = sum((Decimal(user.get("quota") or 0) for user in users), Decimal(0))
            usage[name] = Usage(disk_mb=sum((Decimal(user.get("diskused") or 0) for user in users), Decimal(0)),
                                disk_limit_mb=limit or None)
        return usage

    def sso_url(self, service, *, target=SsoTarget.DOMAIN_ADMIN, user=""):
        if target == SsoTarget.DOMAIN_ADMIN and "@" in service.username:
            target, user = MAILBOX_CONTROL_PANEL, service.username
        if target not in self.mailbox_sso_targets:
            raise ModuleError(f"PolarisMail has no {target.replace('_', ' ')} login (a PolarisMail domain has no "
                              "administrator account).", permanent=True)
        domain = service.domain.lower()
        local = address_in_domain(user, domain).partition("@")[0]
        client = self._client(service)
        if target == SsoTarget.WEBMAIL:
            data = client.call("getOTPassAndToken", {"username": local, "domain": domain})
            if not isinstance(data, dict) or not str(data.get("url") or "").startswith(("http://", "https://")):
                raise ModuleError("PolarisMail gave no webmail login address.", permanent=False)
            url = str(data["url"])
            if str(data.get("token")) in url:  # already a complete login link
                return url
            query = urlencode({"otp": data.get("otp"), "token": data.get("token")})
            return f"{url}{'&' if urlsplit(url).query else '?'}{query}"
        otp = str(client.call("getOTPass", {"username": local, "domain": domain}))
        settings = self.server_settings(service.server)
        panel = (settings["control_panel_url"] or service.server.base_url).rstrip("/")
        encode = lambda text: base64.b64encode(text.encode()).decode()  # noqa: E731
        return f"{panel}/processlogin.php?{urlencode({'u': encode(f'{local}@{domain}'), 'p': encode(otp)})}"

    # --- mailboxes -----------------------------------------------------------------------------------------

    def list_mailboxes(self, service):
        domain = service.domain.lower()
        return [_mailbox(row, domain) for row in self._users(self._client(service), domain)]

    def create_mailbox(self, service, mailbox):
        options = self.product_options(service)
        address = address_in_domain(mailbox.address, service.domain)
        local, _, domain = address.partition("@")
        kind = mailbox.type or options["default_account_type"]
        quota_gb = to_gb(mailbox.quota_mb) if mailbox.quota_mb else options["default_quota_gb"]
        self._client(service).call(
            "addUser",
            {
                "username": local,
                "domain": domain,
                "account_type": self._type_code(kind),
                "password": mailbox.password,
                "quota": _number(quota_gb),
                "uname": mailbox.name,
                "twofa_allowed": "1" if options["twofa_allowed"] else "0",
                "user_language": options["user_language"],
            },
        )
        return Mailbox(address=address, name=mailbox.name, quota_mb=int(quota_gb * MB_PER_GB), used_mb=Decimal(0),
                       type=kind)

    def update_mailbox(self, service, address, changes):
        address = address_in_domain(address, service.domain)
        client = self._client(service)
        before = self._user(client, address)
        after = self._update_user(client, service, address, before=before, name=changes.name,
                                  password=changes.password, quota_mb=changes.quota_mb, kind=changes.type)
        if changes.enabled is not None and changes.enabled != (str(before.get("active")) == "1"):
            local, _, domain = address.partition("@")
            try:
                client.call("enableUser" if changes.enabled else "disableUser", {"username": local, "domain": domain})
            except ModuleError:
                if after is not before:  # undo the first half
                    self._update_user(client, service, address, before=after, name=before.get("uname", ""),
                                      quota_mb=int(Decimal(before.get("quota") or 0)),
                                      kind=TYPE_NAMES.get(str(before.get("account_type")), "basic"))
                raise
            after = {**after, "active": "1" if changes.enabled else "0"}
        return _mailbox(after, service.domain.lower())

    def delete_mailbox(self, service, address, *, delete_data=True):
        local, _, domain = address_in_domain(address, service.domain).partition("@")
        self._client(service).remove("removeUser", {"username": local, "domain": domain})

    # --- aliases -------------------------------------------------------------------------------------------

    def list_aliases(self, service):
        domain = service.domain.lower()
        grouped = {}
        for row in self._client(service).call("getAllAliasesDomain", {"domain": domain}, read=True) or []:
            address = _address(row.get("alias"), domain)
            grouped.setdefault(address, []).append(str(row.get("forward") or "").lower())
        return [
            Alias(address=address, targets=tuple(filter(None, targets))) for address, targets in sorted(grouped.items())
        ]

    def create_alias(self, service, alias):
        address = address_in_domain(alias.address, service.domain)
        target = self._one_target(alias)
        local, _, domain = address.partition("@")
        self._client(service).call("addAlias", {"alias": local, "domain": domain, "forward": target})
        return Alias(address=address, targets=(target,))

    def update_alias(self, service, alias):
        address = address_in_domain(alias.address, service.domain)
        target = self._one_target(alias)
        current = next((found for found in self.list_aliases(service) if found.address == address), None)
        if current is None:
            raise MailboxError(f"There is no alias {address} on PolarisMail.", reason=Reason.NOT_FOUND)
        if current.targets == (target,):
            return current
        client = self._client(service)
        local, _, domain = address.partition("@")
        client.call("removeAlias", {"alias": local, "domain": domain})
        try:
            client.call("addAlias", {"alias": local, "domain": domain, "forward": target})
        except ModuleError:
            for old in current.targets:  # put the alias back as it was
                client.call("addAlias", {"alias": local, "domain": domain, "forward": old})
            raise
        return Alias(address=address, targets=(target,))

    def delete_alias(self, service, address):
        local, _, domain = address_in_domain(address, service.domain).partition("@")
        self._client(service).remove("removeAlias", {"alias": local, "domain": domain})

    # --- forwards ------------------------------------------------------------------------------------------

    def list_forwards(self, service):
        client = self._client(service)
        domain = service.domain.lower()
        targets = self._forward_targets(client, domain)
        return [
            Forward(
                address=f"{row['username']}@{domain}".lower(), targets=tuple(targets.get(row["username"].lower(), ()))
            )
            for row in self._users(client, domain, quota=False)
        ]

    def get_forward(self, service, address):
        address = address_in_domain(address, service.domain)
        client = self._client(service)
        self._user(client, address)
        local, _, domain = address.partition("@")
        return Forward(address=address, targets=tuple(self._forward_targets(client, domain).get(local, ())))

    def set_forward(self, service, forward):
        if forward.targets and not forward.keep_copy:
            raise MailboxError("PolarisMail forwards always keep a copy in the mailbox.", reason=Reason.UNSUPPORTED)
        current = self.get_forward(service, forward.address)
        wanted = tuple(dict.fromkeys(target.strip().lower() for target in forward.targets if target.strip()))
        to_add = [target for target in wanted if target not in current.targets]
        to_remove = [target for target in current.targets if target not in wanted]
        if to_add or to_remove:
            client = self._client(service)
            local, _, domain = current.address.partition("@")
            token = client.user_token(local, domain)
            steps = [("addForward", {"newforward": t}, ("removeForward", {"forward": t})) for t in to_add]
            steps += [("removeForward", {"forward": t}, ("addForward", {"newforward": t})) for t in to_remove]
            _all_or_nothing(client, token, steps)
        return Forward(address=current.address, targets=wanted, keep_copy=True)

    # --- distribution lists --------------------------------------------------------------------------------

    def list_distribution_lists(self, service):
        domain = service.domain.lower()
        rows = self._client(service).call("getAllListsDomain", {"domain": domain}, read=True) or []
        return [DistributionList(address=_address(row.get("lname"), domain)) for row in rows]

    def get_distribution_list(self, service, address):
        local, _, domain = address_in_domain(address, service.domain).partition("@")
        rows = self._client(service).call("getListMembers", {"lname": local, "domain": domain}, read=True) or []
        members = [str(row.get("member") if isinstance(row, dict) else row).lower() for row in rows]
        return DistributionList(address=f"{local}@{domain}", members=tuple(members))

    def create_distribution_list(self, service, distribution_list):
        local, _, domain = address_in_domain(distribution_list.address, service.domain).partition("@")
        client = self._client(service)
        client.call("addList", {"newlname": local, "domain": domain, "newlisttype": LIST_TYPE})
        members = tuple(dict.fromkeys(m.strip().lower() for m in distribution_list.members or () if m.strip()))
        try:
            for member in members:
                client.call("addListMember", {"editlname": local, "editdomain": domain, "newmember": member})
        except ModuleError:
            client.call("removeList", {"lname": local, "domain": domain})
            raise
        return DistributionList(address=f"{local}@{domain}", members=members)

    def delete_distribution_list(self, service, address):
        local, _, domain = address_in_domain(address, service.domain).partition("@")
        self._client(service).remove("removeList", {"lname": local, "domain": domain})

    def add_list_member(self, service, address, member):
        local, _, domain = address_in_domain(address, service.domain).partition("@")
        self._client(service).call("addListMember", {"editlname": local, "editdomain": domain,
                                                     "newmember": member.strip().lower()})

    def remove_list_member(self, service, address, member):
        local, _, domain = address_in_domain(address, service.domain).partition("@")
        self._client(service).remove("removeListMember", {"lname": local, "domain": domain,
                                                          "member": member.strip().lower()})

    # --- DKIM ----------------------------------------------------------------------------------------------

    def get_dkim(self, service):
        client = self._client(service)
        domain = service.domain.lower()
        verification = self._verification(client, domain)
        if verification is not None:
            value, note = verification
            return Dkim(status=Dkim.UNVERIFIED, verification_host=domain, verification_record=value, message=note)
        data = client.call("getDKIM", {"domain": domain}, read=True) or {}
        host, key = str(data.get("dkim_host") or ""), str(data.get("dkim_key") or "")
        if str(data.get("dkim_enabled")) == "1":
            status = Dkim.ACTIVE
        else:
            status = Dkim.PENDING if host or key else Dkim.DISABLED
        record = key if not key or key.startswith("v=DKIM1") else f"v=DKIM1; k=rsa; p={key}"
        return Dkim(status=status, host=host, record=record)

    def enable_dkim(self, service, *, key_size=2048):
        self._client(service).call("enableDKIM", {"domain": service.domain.lower()})  # PolarisMail picks the key
        return self.get_dkim(service)

    def disable_dkim(self, service):
        self._client(service).call("disableDKIM", {"domain": service.domain.lower()})
        return self.get_dkim(service)

    # --- branding ------------------------------------------------------------------------------------------

    def get_branding(self, service):
        data = self._client(service).call("getDomainBrandInfo", {"domain": service.domain.lower()}, read=True) or {}
        color = str(data.get("brandcolor") or "").lstrip("#")
        return Branding(brand_name=str(data.get("brandname") or ""), support_email=str(data.get("supportemail") or ""),
                        color=f"#{color.lower()}" if color else "", has_logo=str(data.get("haslogo")) == "1",
                        is_default=str(data.get("isdefault", "1")) == "1")

    def set_branding(self, service, changes):
        body = {"domain": service.domain.lower(), "brand[brandname]": changes.brand_name,
                "brand[supportemail]": changes.support_email, "brand[brandcolor]": changes.color.lstrip("#")}
        if changes.logo:
            body["brand[newlogo]"] = base64.b64encode(changes.logo).decode()
        self._client(service).call("setDomainBrandingV2", body, opaque=bool(changes.logo))
        return self.get_branding(service)

    def reset_branding(self, service):
        self._client(service).call("resetDomainBranding", {"domain": service.domain.lower()})
        return self.get_branding(service)

    # --- domain aliases ------------------------------------------------------------------------------------

    def list_domain_aliases(self, service):
        rows = self._client(service).call("getAliasDomains", {"domain": service.domain.lower()}, read=True) or []
        names = (row.get("adomain") or row.get("domain") if isinstance(row, dict) else row for row in rows)
        return sorted(str(name).lower() for name in names if name)

    def add_domain_alias(self, service, name):
        self._client(service).call(
            "addAliasDomain", {"domain": service.domain.lower(), "adomain": name.strip().lower()}
        )

    def remove_domain_alias(self, service, name):
        self._client(service).remove("removeAliasDomain", {"domain": service.domain.lower(),
                                                           "adomain": name.strip().lower()})

    # --- helpers -------------------------------------------------------------------------------------------

    def _client(self, service):
        return self._server_client(self.require_server(service))

    def _server_client(self, server):
        return PolarisMailClient(server, settings=self.server_settings(server))

    def _set_active(self, service, active):
        self._client(service).call("updateDomain", {"domain": service.domain.lower(),
                                                    "editdomainactive": "1" if active else "0"})

    @staticmethod
    def _in_account(client, domain):
        return any(
            str(row.get("domain") or "").lower() == domain for row in client.call("getAllDomains", read=True) or []
        )

    @staticmethod
    def _verification(client, domain):
        """(TXT value, note) while PolarisMail wants proof that the customer owns the domain, else None.
        getDomainVerification is inverted: returncode 1 means "still to verify"."""
        body = client.call_raw("getDomainVerification", {"domain": domain}, read=True)
        if str(body.get("returncode")) != "1":
            if "does not exist" in str(body.get("returndata", "")):
                raise PolarisMailError(f"PolarisMail: {body['returndata']}", vendor_message=str(body["returndata"]),
                                       reason=Reason.NOT_FOUND)
            return None
        return str(body.get("returndata") or ""), str(body.get("message") or "")

    @staticmethod
    def _users(client, domain, *, quota=True):
        return client.call("getAllUsersDomain", {"domain": domain, "slicing": "0", "getOTPAndToken": "0",
                                                 "showQuota": "1" if quota else "0"}, read=True) or []

    @staticmethod
    def _user(client, address):
        local, _, domain = address.partition("@")
        return client.call("getUserInfo", {"username": local, "domain": domain}, read=True)

    @staticmethod
    def _forward_targets(client, domain):
        targets = {}
        for row in client.call("getAllForwardsDomain", {"domain": domain}, read=True) or []:
            targets.setdefault(str(row.get("username") or "").lower(), []).append(str(row.get("forward") or "").lower())
        return targets

    def _update_user(
        self, client, service, address, *, before=None, name=None, password=None, quota_mb=None, kind=None
    ):
        """updateUser with every field (the vendor's module always sends them all), the current values where
        nothing changes. Returns the user's row as it is afterwards (`before` when nothing was sent)."""
        before = before if before is not None else self._user(client, address)
        local, _, domain = address.partition("@")
        after = dict(before)
        if name is not None:
            after["uname"] = name
        if quota_mb is not None:
            after["quota"] = str(quota_mb)
        if kind is not None:
            after["account_type"] = self._type_code(kind)
        if after == before and password is None:
            return before
        body = {"editusername": local, "editdomain": domain, "edituname": after.get("uname", ""),
                "editaccount_type": str(after.get("account_type") or "1"),
                "editquota": _number(to_gb(Decimal(after.get("quota") or 0)))}
        if password is not None:
            body["editpassword"] = password
        client.call("updateUser", body)
        return after

    @staticmethod
    def _type_code(kind):
        if kind not in TYPE_CODES:
            raise MailboxError(f"PolarisMail has no '{kind}' account type (it has: basic, enhanced).",
                               reason=Reason.INVALID)
        return TYPE_CODES[kind]

    def _one_target(self, alias):
        targets = [target.strip().lower() for target in alias.targets if target.strip()]
        if len(targets) != 1:
            raise MailboxError(
                "A PolarisMail alias delivers to exactly one address; use a distribution list for several.",
                reason=Reason.INVALID,
            )
        return targets[0]


def to_gb(megabytes):
    return (Decimal(megabytes) / MB_PER_GB).quantize(Decimal("0.001"), rounding=ROUND_HALF_UP)


def _number(value):
    """A decimal as the API takes it: "10", "9.766"."""
    text = format(Decimal(value).normalize(), "f")
    return text if "." not in text else text.rstrip("0").rstrip(".")


def _address(local, domain):
    local = str(local or "").lower()
    return local if "@" in local else f"{local}@{domain}"


def _mailbox(row, domain):
    quota = Decimal(row.get("quota") or 0)
    used = row.get("diskused")
    return Mailbox(
        address=_address(row.get("username"), domain), name=str(row.get("uname") or ""),
        quota_mb=int(quota) if quota else None, used_mb=Decimal(used) if used not in (None, "") else None,
        enabled=str(row.get("active", "1")) == "1", type=TYPE_NAMES.get(str(row.get("account_type")), ""),
    )


def _all_or_nothing(client, token, steps):
    """Run user-API steps (action, params, undo); when one fails, undo the ones done, then raise."""
    done = []
    try:
        for action, params, undo in steps:
            client.user_call(token, action, params)
            done.append(undo)
    except ModuleError:
        for action, params in reversed(done):
            try:
                client.user_call(token, action, params)
            except ModuleError:
                pass  # the original error is the one to report
        raise
