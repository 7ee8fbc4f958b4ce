"""Suspend or terminate many services at once: the automation pass's path near the provider's limit.

The same steps as provisioning.lifecycle's one-service functions (same status rules, same provider calls, same
ModuleCall and audit rows), arranged so that the cost per service is the provider call and little else:

- the caller has claimed the services' rows in its open transaction (billing's automation: one
  SELECT … FOR UPDATE SKIP LOCKED for the whole batch); they are read here with their product and server in one
  query, without a lock (a locking read over the join would lock the shared product and server rows too);
- the provider calls run on a thread pool, `threads` at once. Threads, not asyncio: the modules are synchronous
  code over `requests` (provisioning.http), which releases the interpreter lock while it waits for the provider,
  so a thread per call in flight overlaps the waits with no change to any module; an asyncio version would need
  an async rewrite of every module and its HTTP client. The calls touch no database row: call_module builds
  each ModuleCall in memory;
- then, in the caller's transaction and in a fixed number of statements whatever the batch size: the changed
  services (one UPDATE per distinct set of new values: one for a batch of suspensions), the earlier failed calls
  of the succeeded ones taken off the retry queue, every ModuleCall in one INSERT, every audit entry in one
  INSERT.

A failed call leaves its service unchanged and keeps its ModuleCall (awaiting retry) and its
`service.<action>_failed` entry, as the one-service path does. The caller's transaction covers the batch: if it
rolls back, nothing of the batch is kept and the next pass calls again; the provider then answers "already
suspended / already deleted", which the modules count as success.
"""
from collections import defaultdict
from dataclasses import dataclass

from django.utils import timezone

from billing.models import Service
from portal.activity import build_entry, log_activities
from portal.concurrency import run_on_threads
from provisioning.calls import call_module
from provisioning.lifecycle import success_message, service_ref, suspend_action, terminate_action
from provisioning.models import ModuleCall
from provisioning.modules.base import ActionResult, ModuleError
from provisioning.registry import get_module

NO_MODULE = "No provisioning module: status changed only."
# Results that change more than the action's own fields (new credentials, module data) are saved row by row:
# rare for suspend and terminate, and their values differ per service anyway.
OWN_SAVE_FIELDS = {"username", "password", "module_data"}


@dataclass
class Outcome:
    """What happened to one service of the batch: done, failed (`error`), or refused by its status (`refused`)."""

    service: Service
    error: ModuleError | None = None
    refused: str = ""

    @property
    def done(self):
        return self.error is None and not self.refused


def services_suspend_batch(*, service_ids, actor, reason, reason_text="", mode="", threads=1):
    """Active → Suspended for each service (rows locked by the caller). Returns {service id: Outcome}."""
    action, apply, log_data = suspend_action(reason=reason, reason_text=reason_text, mode=mode)
    return _batch_transition(service_ids, actor, action, apply=apply, log_data=log_data, threads=threads)


def services_terminate_batch(*, service_ids, actor, delete_data=None, threads=1):
    """Active/Suspended → Terminated for each service (rows locked by the caller; `delete_data=None` follows each
    product's option). Returns {service id: Outcome}."""
    action, apply, log_data = terminate_action(delete_data=delete_data)
    return _batch_transition(service_ids, actor, action, apply=apply, log_data=log_data, threads=threads)


def _batch_transition(service_ids, actor, action, *, apply, log_data, threads):
    services = list(
        Service.objects.select_related("product", "product__server_group", "server")
        .filter(pk__in=list(service_ids)).order_by("pk")
    )
    outcomes = {service.pk: Outcome(service) for service in services}
    allowed = []
    for service in services:
        if service.status in action.allowed_from:
            allowed.append(service)
        else:
            outcomes[service.pk].refused = (
                f"Cannot {action.verb} {service.domain}: the service is {service.get_status_display()}."
            )
    called = run_on_threads(allowed, lambda service: _call(service, action), threads=threads,
                            name=f"lifecycle-{action.name}")
    _record(allowed, called, outcomes, actor, action, apply=apply, log_data=log_data)
    return outcomes


def _call(service, action):
    """One provider call, as (unsaved ModuleCall or None, result or None, ModuleError or None)."""
    module = get_module(service.product.module) if action.uses_module(service) else None
    if module is None:
        return None, ActionResult(message=NO_MODULE), None
    return call_module(
        module_key=module.key, action=action.name, fn=lambda: action.call(module, service_ref(service)),
        service=service, args=action.args, queue_for_retry=True,
    )


def _record(services, called, outcomes, actor, action, *, apply, log_data):
    now = timezone.now()
    calls, entries, succeeded_calls = [], [], []
    same_changes = defaultdict(list)  # ((field, value), …) → service ids: one UPDATE each
    for service, (call, result, failure) in zip(services, called):
        if call is not None:
            calls.append(call)
        if failure is not None:
            outcomes[service.pk].error = failure
            entries.append(build_entry(
                actor=actor, action=f"service.{action.name}_failed", target=service,
                message=f"Could not {action.verb} {service.domain}: {failure.message}",
                data={"status": service.status, "permanent": failure.permanent, **log_data},
            ))
            continue
        previous = service.status
        changed = apply(service, result, now=now)
        if result.username and result.username != service.username:
            service.username = result.username
            changed.append("username")
        if result.password:
            service.password = result.password
            changed.append("password")
        if result.module_data:
            service.module_data = {**service.module_data, **result.module_data}
            changed.append("module_data")
        service.updated_at = now
        if OWN_SAVE_FIELDS.intersection(changed):
            service.save(update_fields=[*changed, "updated_at"])
        else:
            same_changes[tuple((name, getattr(service, name)) for name in changed)].append(service.pk)
        if call is not None:
            succeeded_calls.append(service.pk)
        entries.append(build_entry(
            actor=actor, action=f"service.{action.name}", target=service,
            message=success_message(action, service, previous, result),
            data={"from": previous, "to": service.status, **log_data},
        ))
    for changes, ids in same_changes.items():
        Service.objects.filter(pk__in=ids).update(**dict(changes), updated_at=now)
    if succeeded_calls:
        ModuleCall.objects.filter(service_id__in=succeeded_calls, action=action.name, awaiting_retry=True).update(
            awaiting_retry=False
        )
    ModuleCall.objects.bulk_create(calls, batch_size=500)
    log_activities(entries)
