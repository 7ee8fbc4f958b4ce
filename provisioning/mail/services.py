"""Writes of the mail client area. Each one locks the service row, checks what the portal can check (the service
is active, the plan has room), calls the module, and only when the provider said yes records what the portal
keeps (MailboxRecord rows, billing's type change) and writes the audit entry with the acting user — all in one
transaction. When the provider refuses, nothing is recorded: the failed ModuleCall is kept for staff (its
number goes into the customer's message) and the ModuleError is raised with `.call` set.

Reads go through `provider_read`, which keeps a ModuleCall only when the read failed (listing pages are read
often; their successes are not worth a row each)."""
from dataclasses import replace

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from billing.models import Service
from billing.services.changes import change_mailbox_type, change_mailbox_type_quote
from billing.services.ledger import lock_client
from portal.activity import Actor, log_activity
from portal.money import amount_shown
from provisioning.calls import call_module
from provisioning.mail import plan
from provisioning.mail.models import MailboxRecord
from provisioning.mail.selectors import type_counts
from provisioning.modules.mailboxes import (
    Alias,
    DistributionList,
    Forward,
    MailboxChanges,
    NewMailbox,
)

S = Service.Status
RECORD_FIELDS = ("mailbox_type", "name", "quota_mb", "used_mb", "enabled", "is_admin")


class MailRefused(Exception):
    """The portal refuses before asking the provider (service not active, plan full, protected mailbox)."""

    def __init__(self, message, *, field=None):
        super().__init__(message)
        self.message = message
        self.field = field


# --- the two ways to talk to the provider ------------------------------------------------------------------------

def provider_read(ctx, action, fn):
    """Run a read; on failure keep the ModuleCall (for staff) and raise the ModuleError with `.call`."""
    call, result, error = call_module(module_key=ctx.module.key, action=f"mail.{action}", fn=fn, service=ctx.service)
    if error is not None:
        call.save()
        error.call = call
        raise error
    return result


# --- reads: the provider calls a page shows, by name (each raises ModuleError with `.call` on failure) ---------

def mailboxes_list(ctx):
    return provider_read(ctx, "list_mailboxes", lambda: ctx.module.list_mailboxes(ctx.ref))


def dkim_get(ctx):
    return provider_read(ctx, "get_dkim", lambda: ctx.module.get_dkim(ctx.ref))


def aliases_list(ctx):
    return provider_read(ctx, "list_aliases", lambda: ctx.module.list_aliases(ctx.ref))


def forwards_list(ctx):
    return provider_read(ctx, "list_forwards", lambda: ctx.module.list_forwards(ctx.ref))


def forward_get(ctx, *, address):
    return provider_read(ctx, "get_forward", lambda: ctx.module.get_forward(ctx.ref, address))


def lists_list(ctx):
    return provider_read(ctx, "list_lists", lambda: ctx.module.list_distribution_lists(ctx.ref))


def list_get(ctx, *, address):
    return provider_read(ctx, "get_list", lambda: ctx.module.get_distribution_list(ctx.ref, address))


def branding_get(ctx):
    return provider_read(ctx, "get_branding", lambda: ctx.module.get_branding(ctx.ref))


def domain_aliases_list(ctx):
    return provider_read(ctx, "list_domain_aliases", lambda: ctx.module.list_domain_aliases(ctx.ref))


def _write(ctx, actor, action, fn, *, message, args=None, check=None, apply=None, lock_client_first=False):
    """One change on the provider, recorded and audited only when it succeeded (see the module docstring).
    `check(service)` runs under the row lock before the call; `apply(result, service)` records what the portal
    keeps; `message(result)` is the audit text."""
    with transaction.atomic():
        if lock_client_first:  # billing's lock order: the client, then the service
            lock_client(ctx.service.client_id)
        service = Service.objects.select_for_update().select_related("server").get(pk=ctx.service.pk)
        if service.status != S.ACTIVE:
            raise MailRefused(f"Your service is {service.get_status_display().lower()}: changes are possible again "
                              "once it is active.")
        if check is not None:
            check(service)
        call, result, failure = call_module(module_key=ctx.module.key, action=f"mail.{action}", fn=fn, service=service,
                                            args=args)
        if failure is None:
            call.save()
            value = apply(result, service) if apply is not None else result
            log_activity(actor=actor, action=f"mail.{action}", target=service, message=message(result),
                         data={"domain": service.domain, **(args or {})})
            return value
    call.save()
    failure.call = call
    raise failure


# --- mailboxes ------------------------------------------------------------------------------------------------------

def mailbox_create(ctx, *, actor, local_part, password, name="", quota_mb=None, mailbox_type=""):
    """Create a mailbox of the plan's type `mailbox_type` when the plan has room for one more."""
    address = f"{local_part.strip().lower()}@{ctx.domain}"
    _check_quota(ctx, quota_mb)

    def check(service):
        counts = type_counts(service)
        if not ctx.allowance.room(counts, mailbox_type):
            raise MailRefused(ctx.allowance.full_message(counts, mailbox_type))

    new = NewMailbox(address=address, password=password, name=name.strip(), quota_mb=quota_mb,
                     type=mailbox_type if mailbox_type in ctx.module.mailbox_types else "")

    def apply(mailbox, service):
        record, _ = MailboxRecord.objects.update_or_create(
            service=service,
            address=mailbox.address,
            defaults={
                **_record_values(mailbox),
                "mailbox_type": mailbox_type or mailbox.type,
                "seen_at": timezone.now(),
            },
        )
        return record

    label = ctx.allowance.label(mailbox_type) if mailbox_type else ""
    return _write(ctx, actor, "mailbox_create", lambda: ctx.module.create_mailbox(ctx.ref, new), check=check,
                  apply=apply, args={"address": address, "type": mailbox_type, "quota_mb": quota_mb},
                  message=lambda mailbox: f"Mailbox {mailbox.address} created{f' ({label})' if label else ''}.")


def mailbox_update(ctx, *, actor, record, name=None, quota_mb=None, enabled=None):
    _check_quota(ctx, quota_mb)
    changes = MailboxChanges(name=name, quota_mb=quota_mb, enabled=enabled)
    what = {key: value for key, value in (("name", name), ("quota_mb", quota_mb), ("enabled", enabled))
            if value is not None}
    return _write(
        ctx,
        actor,
        "mailbox_update",
        lambda: ctx.module.update_mailbox(ctx.ref, record.address, changes),
        apply=lambda mailbox, service: _refresh_record(record, mailbox),
        args={"address": record.address, **what},
        message=lambda mailbox: (
            f"Mailbox {record.address} changed: " + ", ".join(f"{key} {value}" for key, value in what.items()) + "."
        ),
    )


def mailbox_set_password(ctx, *, actor, record, password):
    changes = MailboxChanges(password=password)
    return _write(ctx, actor, "mailbox_password", lambda: ctx.module.update_mailbox(ctx.ref, record.address, changes),
                  apply=lambda mailbox, service: _refresh_record(record, mailbox), args={"address": record.address},
                  message=lambda mailbox: f"Password of {record.address} changed.")


def mailbox_delete(ctx, *, actor, record):
    def check(service):
        if record.is_admin or record.address == service.username.lower():
            raise MailRefused(f"{record.address} administers your domain (it is your service's login), so it cannot "
                              "be deleted here. Contact support if you need it removed.")

    def apply(result, service):
        MailboxRecord.objects.filter(pk=record.pk).delete()

    return _write(ctx, actor, "mailbox_delete", lambda: ctx.module.delete_mailbox(ctx.ref, record.address),
                  check=check, apply=apply, args={"address": record.address, "type": record.mailbox_type},
                  message=lambda result: f"Mailbox {record.address} deleted with its mail.")


def mailbox_type_quote(ctx, *, record, to_type):
    """Billing's prorated quote for moving this mailbox to `to_type` (ValidationError when it cannot)."""
    return change_mailbox_type_quote(service=ctx.service, from_type=record.mailbox_type, to_type=to_type)


def mailbox_change_type(ctx, *, actor, record, to_type, expected_amount):
    """Change one mailbox's type (seed 003's Manage): the provider first (where it has types), then billing moves
    one unit between the plan's `mailboxes_<type>` options and bills or credits the prorated difference. The
    amount the customer saw must still be right; if billing refuses after the provider changed, the provider
    is changed back. Returns billing's ChangeResult."""
    from_type = record.mailbox_type
    on_provider = to_type in ctx.module.mailbox_types

    def check(service):
        quote = change_mailbox_type_quote(service=service, from_type=from_type, to_type=to_type)
        if amount_shown(expected_amount) != quote.amount:
            raise ValidationError(f"The amount changed to {quote.amount} {service.currency} since it was shown; "
                                  "please review it again.")

    def provider():
        if on_provider:
            return ctx.module.update_mailbox(ctx.ref, record.address, MailboxChanges(type=to_type))
        return None

    def apply(mailbox, service):
        try:
            change = change_mailbox_type(service=service, from_type=from_type, to_type=to_type, actor=actor,
                                         expected_amount=expected_amount, mailbox=record.address)
        except ValidationError:
            if on_provider and from_type in ctx.module.mailbox_types:
                ctx.module.update_mailbox(ctx.ref, record.address, MailboxChanges(type=from_type))
            raise
        MailboxRecord.objects.filter(pk=record.pk).update(mailbox_type=to_type)
        return change

    labels = ctx.allowance.label(from_type), ctx.allowance.label(to_type)
    return _write(ctx, actor, "mailbox_type", provider, check=check, apply=apply, lock_client_first=True,
                  args={"address": record.address, "from": from_type, "to": to_type},
                  message=lambda result: f"Mailbox {record.address} changed from {labels[0]} to {labels[1]}.")


def mailbox_sso_url(ctx, *, actor, record, target):
    """A one-minute login link to the mailbox's webmail or control panel (never stored); audited."""
    if not ctx.writable:
        raise MailRefused(f"Your service is {ctx.service.get_status_display().lower()}: logins are possible again once "
                          "it is active.")
    call, url, error = call_module(module_key=ctx.module.key, action="mail.sso", service=ctx.service,
                                   args={"target": target, "user": record.address},
                                   fn=lambda: ctx.module.sso_url(ctx.ref, target=target, user=record.address))
    call.response_summary = "" if error else "Login URL issued (not stored)."
    call.save()
    if error is not None:
        error.call = call
        raise error
    log_activity(actor=actor, action="mail.sso", target=ctx.service, data={"target": target, "user": record.address},
                 message=f"{target.replace('_', ' ').capitalize()} login as {record.address}.")
    return url


def reconcile_mailboxes(ctx, *, mailboxes):
    """Bring the service's MailboxRecords in line with the provider's list (the source of truth): record new
    mailboxes (the provider's type, else the plan's first type with room), drop vanished ones, refresh the
    figures. A fixed number of queries whatever the number of mailboxes. Returns the records, by address."""
    now = timezone.now()
    with transaction.atomic():
        existing = {record.address: record for record in MailboxRecord.objects.filter(service=ctx.service)}
        counts = {}
        for record in existing.values():
            counts[record.mailbox_type] = counts.get(record.mailbox_type, 0) + 1
        created, changed, current = [], [], {}
        for mailbox in mailboxes:
            record = existing.get(mailbox.address)
            if record is None:
                kind = mailbox.type or ctx.allowance.default_type(counts)
                counts[kind] = counts.get(kind, 0) + 1
                record = MailboxRecord(service=ctx.service, address=mailbox.address, mailbox_type=kind, seen_at=now,
                                       **_record_values(mailbox))
                created.append(record)
            else:
                # On a plan of one type every mailbox has it (a record may keep the type of an earlier plan).
                kind = mailbox.type or ctx.allowance.sole_type or record.mailbox_type
                values = {**_record_values(mailbox), "mailbox_type": kind}
                if any(getattr(record, key) != value for key, value in values.items()):
                    for key, value in values.items():
                        setattr(record, key, value)
                    changed.append(record)
            current[mailbox.address] = record
        gone = [record for address, record in existing.items() if address not in current]
        if created:
            MailboxRecord.objects.bulk_create(created, ignore_conflicts=True)
        if changed:
            MailboxRecord.objects.bulk_update(changed, RECORD_FIELDS)
        if gone:
            MailboxRecord.objects.filter(pk__in=[record.pk for record in gone]).delete()
        if created or gone:
            log_activity(
                actor=Actor.system("mail-reconcile"), action="mail.reconcile", target=ctx.service,
                message=f"{ctx.domain}: the provider lists {len(current)} mailbox(es); recorded "
                        f"{len(created)} new, removed {len(gone)} gone.",
                data={"added": [r.address for r in created], "removed": [r.address for r in gone]},
            )
    return [current[address] for address in sorted(current)]


# --- aliases, forwards, lists -----------------------------------------------------------------------------------

def alias_create(ctx, *, actor, local_part, targets):
    alias = Alias(address=f"{local_part.strip().lower()}@{ctx.domain}", targets=tuple(targets))
    return _write(ctx, actor, "alias_create", lambda: ctx.module.create_alias(ctx.ref, alias),
                  args={"address": alias.address, "targets": list(alias.targets)},
                  message=lambda made: f"Alias {made.address} → {', '.join(made.targets)} created.")


def alias_update(ctx, *, actor, alias, targets):
    changed = replace(alias, targets=tuple(targets))
    return _write(ctx, actor, "alias_update", lambda: ctx.module.update_alias(ctx.ref, changed),
                  args={"address": alias.address, "targets": list(changed.targets)},
                  message=lambda made: f"Alias {made.address} now delivers to {', '.join(made.targets)}.")


def alias_delete(ctx, *, actor, address):
    return _write(ctx, actor, "alias_delete", lambda: ctx.module.delete_alias(ctx.ref, address),
                  args={"address": address}, message=lambda result: f"Alias {address} deleted.")


def forward_set(ctx, *, actor, address, targets, keep_copy=True):
    forward = Forward(address=address, targets=tuple(targets), keep_copy=keep_copy)
    return _write(ctx, actor, "forward_set", lambda: ctx.module.set_forward(ctx.ref, forward),
                  args={"address": address, "targets": list(forward.targets), "keep_copy": keep_copy},
                  message=lambda made: f"Forwarding of {address}: " + (
                      f"to {', '.join(made.targets)}{'' if made.keep_copy else ' (no copy kept)'}."
                      if made.targets else "off."))


def list_create(ctx, *, actor, local_part, members):
    new = DistributionList(address=f"{local_part.strip().lower()}@{ctx.domain}", members=tuple(members))
    return _write(ctx, actor, "list_create", lambda: ctx.module.create_distribution_list(ctx.ref, new),
                  args={"address": new.address, "members": list(new.members)},
                  message=lambda made: f"Distribution list {made.address} created with {len(made.members or ())} "
                                       "member(s).")


def list_delete(ctx, *, actor, address):
    return _write(ctx, actor, "list_delete", lambda: ctx.module.delete_distribution_list(ctx.ref, address),
                  args={"address": address}, message=lambda result: f"Distribution list {address} deleted.")


def list_member_add(ctx, *, actor, address, member):
    return _write(ctx, actor, "list_member_add", lambda: ctx.module.add_list_member(ctx.ref, address, member),
                  args={"address": address, "member": member},
                  message=lambda result: f"{member} added to the list {address}.")


def list_member_remove(ctx, *, actor, address, member):
    return _write(ctx, actor, "list_member_remove", lambda: ctx.module.remove_list_member(ctx.ref, address, member),
                  args={"address": address, "member": member},
                  message=lambda result: f"{member} removed from the list {address}.")


# --- DKIM, branding, domain aliases -----------------------------------------------------------------------------

def dkim_enable(ctx, *, actor):
    key_size = int(ctx.options.get("dkim_key_size") or 2048)
    return _write(ctx, actor, "dkim_enable", lambda: ctx.module.enable_dkim(ctx.ref, key_size=key_size),
                  args={"key_size": key_size}, message=lambda dkim: f"DKIM turned on for {ctx.domain} ({dkim.status}).")


def dkim_disable(ctx, *, actor):
    return _write(ctx, actor, "dkim_disable", lambda: ctx.module.disable_dkim(ctx.ref),
                  message=lambda dkim: f"DKIM turned off for {ctx.domain}.")


def branding_set(ctx, *, actor, changes):
    args = {"brand_name": changes.brand_name, "support_email": changes.support_email, "color": changes.color,
            "logo_bytes": len(changes.logo or b"")}
    return _write(ctx, actor, "branding_set", lambda: ctx.module.set_branding(ctx.ref, changes), args=args,
                  message=lambda branding: f"Webmail branding of {ctx.domain} saved"
                                           + (" with a new logo." if changes.logo else "."))


def branding_reset(ctx, *, actor):
    return _write(ctx, actor, "branding_reset", lambda: ctx.module.reset_branding(ctx.ref),
                  message=lambda branding: f"Webmail branding of {ctx.domain} reset to the default.")


def domain_alias_add(ctx, *, actor, name):
    most = int(ctx.options.get("domain_aliases_max") or 0)

    def add():
        if most and len(ctx.module.list_domain_aliases(ctx.ref)) >= most:
            raise MailRefused(f"Your plan allows {most} domain alias{'es' if most != 1 else ''}; remove one to add "
                              "another.", field="name")
        ctx.module.add_domain_alias(ctx.ref, name)

    return _write(ctx, actor, "domain_alias_add", add, args={"name": name},
                  message=lambda result: f"Domain alias {name} added to {ctx.domain}.")


def domain_alias_remove(ctx, *, actor, name):
    return _write(ctx, actor, "domain_alias_remove", lambda: ctx.module.remove_domain_alias(ctx.ref, name),
                  args={"name": name}, message=lambda result: f"Domain alias {name} removed from {ctx.domain}.")


# --- helpers ------------------------------------------------------------------------------------------------------

def _check_quota(ctx, quota_mb):
    """A mailbox's quota is at most the plan's disk (whoever asks: a form, the API, staff tools)."""
    problem = plan.quota_problem(ctx.quota_limit_mb, quota_mb)
    if problem:
        raise MailRefused(problem, field="quota_mb")


def _record_values(mailbox):
    return {"name": mailbox.name[:200], "quota_mb": mailbox.quota_mb, "used_mb": mailbox.used_mb,
            "enabled": mailbox.enabled, "is_admin": mailbox.is_admin}


def _refresh_record(record, mailbox):
    values = _record_values(mailbox)
    if mailbox.type:
        values["mailbox_type"] = mailbox.type
    MailboxRecord.objects.filter(pk=record.pk).update(**values)
    for key, value in values.items():
        setattr(record, key, value)
    return record
