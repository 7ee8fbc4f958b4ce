"""The only way a service changes state: one function per lifecycle action.

Each function locks the service row, checks that the action is allowed from its current status, calls the
product's module (if it has one), and then, only on success, changes the status and writes ActivityLog, all in
one transaction. On a module error the service keeps its status; the failed ModuleCall is recorded (and queued
for retry) with an ActivityLog entry, and ModuleError is raised for the caller to show or retry.
The admin buttons, the automation engine, the API and the client area all call these functions.
"""
from dataclasses import dataclass
from typing import Callable

from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from billing.hooks import ActionRefused
from billing.models import Service
from billing.pricing import granted_option_values
from portal.activity import log_activity
from provisioning.calls import call_module
from provisioning.models import ModuleCall
from provisioning.modules.base import DELETE_DATA_OPTION, ActionResult, ModuleError, ServerRef, ServiceRef
from provisioning.registry import get_module

S = Service.Status
LIVE = (S.ACTIVE, S.SUSPENDED)


class InvalidTransition(ActionRefused):
    """The action is not allowed from the service's current status (a billing.hooks.ActionRefused)."""


@dataclass(frozen=True)
class _Action:
    name: str  # ActivityLog action suffix and ModuleCall action
    verb: str  # for messages: "suspend"
    allowed_from: tuple
    call: Callable  # (module, ServiceRef) -> ActionResult
    uses_module: Callable = lambda service: True  # False: no provider call for this service (e.g. Pending cancel)
    args: dict = None  # the action's non-secret arguments, kept on the ModuleCall so the retry queue can replay it
    with_config_options: bool = False  # the module reads the service's configurable options (one more query)


def service_create(*, service, actor):
    """Pending → Active: provision the service (picking a server from the product's group if needed)."""
    return _transition(
        service,
        actor,
        _Action("create", "create", (S.PENDING,), lambda module, ref: module.create(ref), with_config_options=True),
        apply=lambda svc, result: _apply(svc, status=S.ACTIVE),
        prepare=_assign_server,
    )


def service_suspend(*, service, actor, reason, reason_text="", mode=""):
    """Active → Suspended, remembering why and how, so that unsuspension undoes exactly that."""
    action, apply, log_data = suspend_action(reason=reason, reason_text=reason_text, mode=mode)
    return _transition(service, actor, action, apply=apply, log_data=log_data)


def suspend_action(*, reason, reason_text="", mode=""):
    """The suspension as (action, apply, audit data): one service (service_suspend) or a batch
    (provisioning.lifecycle_batch) run the same steps."""
    if reason not in Service.SuspendReason.values:
        raise ValueError(f"Unknown suspend reason {reason!r}.")

    def apply(svc, result, now=None):  # a batch passes one `now` for all its services (one UPDATE)
        return _apply(
            svc,
            status=S.SUSPENDED,
            suspend_reason=reason,
            suspend_reason_text=reason_text,
            suspend_mode=result.suspend_mode or mode,
            suspended_at=now or timezone.now(),
        )

    args = {"reason": reason, "reason_text": reason_text, "mode": mode}
    action = _Action(
        "suspend", "suspend", (S.ACTIVE,), lambda module, ref: module.suspend(ref, reason=reason, mode=mode), args=args
    )
    return action, apply, {"reason": reason, "reason_text": reason_text}


def service_unsuspend(*, service, actor):
    """Suspended → Active. The module sees the stored suspend mode and reverses that one."""

    def apply(svc, result):
        return _apply(svc, status=S.ACTIVE, suspend_reason="", suspend_reason_text="", suspend_mode="", suspended_at=None)

    action = _Action("unsuspend", "unsuspend", (S.SUSPENDED,), lambda module, ref: module.unsuspend(ref))
    return _transition(service, actor, action, apply=apply)


def service_terminate(*, service, actor, delete_data=None):
    """Active/Suspended → Terminated. `delete_data=None` follows the product's delete-data option."""
    action, apply, log_data = terminate_action(delete_data=delete_data)
    return _transition(service, actor, action, apply=apply, log_data=log_data)


def terminate_action(*, delete_data=None):
    """The termination as (action, apply, audit data), for one service or a batch."""

    def apply(svc, result, now=None):
        return _apply(svc, status=S.TERMINATED, terminated_at=now or timezone.now())

    log_data = {"delete_data": delete_data} if delete_data is not None else {}
    action = _Action("terminate", "terminate", LIVE, _terminate_call(delete_data), args=log_data)
    return action, apply, log_data


def service_cancel(*, service, actor):
    """Pending → Cancelled (nothing was provisioned, so no provider call), or Active/Suspended → Cancelled (the
    module removes it, keeping data as the product says): a cancellation request carried out."""
    action = _Action("cancel", "cancel", (S.PENDING, *LIVE), _terminate_call(None),
                     uses_module=lambda svc: svc.status != S.PENDING)
    return _transition(
        service, actor, action, apply=lambda svc, result: _apply(svc, status=S.CANCELLED, terminated_at=timezone.now())
    )


def service_change_password(*, service, actor, new_password):
    """Set the service's (primary mailbox's) password on the provider and store it encrypted."""
    action = _Action(
        "change_password", "change the password of", LIVE,
        lambda module, ref: module.change_password(ref, new_password=new_password),
    )
    return _transition(service, actor, action, apply=lambda svc, result: _apply(svc, password=new_password))


def service_change_package(*, service, actor):
    """Active/Suspended, status kept: bring the provider's limits in line with the service's current product and
    options (WHMCS's ChangePackage), after an upgrade/downgrade or a staff change of the product. The portal's
    side of the change is billing's (billing.services.changes); this is the provider's."""
    action = _Action(
        "change_package", "change the package of", LIVE, lambda module, ref: module.change_package(ref),
        with_config_options=True,
    )
    return _transition(service, actor, action, apply=lambda svc, result: [])


def product_deletes_data(product_options):
    """Whether terminating removes the provider's data when nobody says otherwise: the product's option."""
    return bool(product_options.get(DELETE_DATA_OPTION, False))


def _terminate_call(delete_data):
    """The module's Terminate, deleting data as asked, or as the product says when `delete_data` is None."""

    def call(module, ref):
        wipe = delete_data if delete_data is not None else product_deletes_data(ref.product_options)
        return module.terminate(ref, delete_data=wipe)

    return call


def _apply(service, **changes):
    for name, value in changes.items():
        setattr(service, name, value)
    return list(changes)


def _assign_server(service, module):
    if service.server_id is None and service.product.server_group_id:
        service.server = service.product.server_group.least_full_server()
        if service.server is None:
            raise ModuleError(
                f"No enabled server with free capacity in the group '{service.product.server_group}'.",
                permanent=True,
            )


def _transition(service, actor, action, *, apply, prepare=None, log_data=None):
    failure = call = None
    with transaction.atomic():
        # Lock the service row alone. A FOR UPDATE over a join would lock the product and server rows too
        # (MariaDB has no FOR UPDATE OF), serialising every action on the same product or server for the
        # length of its provider call. The related rows are then read without a lock.
        Service.objects.select_for_update().filter(pk=service.pk).values_list("pk", flat=True).get()
        locked = Service.objects.select_related("product", "product__server_group", "server").get(pk=service.pk)
        if locked.status not in action.allowed_from:
            raise InvalidTransition(
                f"Cannot {action.verb} {locked.domain}: the service is {locked.get_status_display()}."
            )
        previous = locked.status
        module = get_module(locked.product.module) if action.uses_module(locked) else None
        result = ActionResult(message="No provisioning module: status changed only.")
        if module is not None:

            def run():
                if prepare is not None:
                    prepare(locked, module)
                return action.call(module, service_ref(locked, config_options=action.with_config_options))

            call, result, failure = call_module(
                module_key=module.key, action=action.name, fn=run, service=locked, args=action.args,
                queue_for_retry=True,
            )
        if failure is None:
            changed = apply(locked, result)
            if result.username and result.username != locked.username:
                changed += _apply(locked, username=result.username)
            if result.password:
                changed += _apply(locked, password=result.password)
            if result.module_data:
                locked.module_data = {**locked.module_data, **result.module_data}
                changed.append("module_data")
            if locked.server_id != service.server_id:
                changed.append("server")
            locked.save(update_fields=[*changed, "updated_at"])
            if call is not None:
                ModuleCall.objects.filter(service=locked, action=action.name, awaiting_retry=True).update(
                    awaiting_retry=False
                )
                call.save()
            log_activity(
                actor=actor,
                action=f"service.{action.name}",
                target=locked,
                message=success_message(action, locked, previous, result),
                data={"from": previous, "to": locked.status, **(log_data or {})},
            )
    if failure is not None:
        # Written after the rolled-back transaction: the failure itself must be kept.
        call.save()
        log_activity(
            actor=actor,
            action=f"service.{action.name}_failed",
            target=locked,
            message=f"Could not {action.verb} {locked.domain}: {failure.message}",
            data={"status": locked.status, "permanent": failure.permanent, **(log_data or {})},
        )
        raise failure
    _copy_state(locked, service)
    return service


def success_message(action, service, previous, result):
    if previous != service.status:
        text = f"{service.domain}: {S(previous).label} → {service.get_status_display()}"
    else:
        text = f"{service.domain}: {action.name.replace('_', ' ')} done"
    return f"{text}. {result.message}".strip()


def _copy_state(source, target):
    for field in Service._meta.concrete_fields:
        setattr(target, field.attname, getattr(source, field.attname))


def service_ref(service, *, config_options=False):
    """The dataclass a module sees: never the model instance. `config_options`: read the service's
    configurable options too (Create and Change package size the provider's limits from them), as the units
    they give (included + bought: billing.pricing.granted_option_values, the mail client area's allowance)."""
    server = service.server
    return ServiceRef(
        id=service.pk,
        domain=service.domain,
        username=service.username,
        password=service.password,
        product_options=dict(service.product.module_options),
        config_options=granted_option_values(service) if config_options else {},
        module_data=dict(service.module_data),
        suspend_mode=service.suspend_mode,
        server=server_ref(server) if server is not None else None,
    )


def server_ref(server):
    return ServerRef(
        id=server.pk,
        hostname=server.hostname,
        base_url=server.base_url,
        username=server.username,
        password=server.password,
        api_token=server.api_token,
        verify_tls=server.verify_tls,
        settings=dict(server.settings),
    )


def waiting_for_staff(action):
    """EXISTS, for a Service queryset: the provider refused `action` with a permanent error that nobody has dealt
    with yet (billing's automation leaves such services to staff; billing.hooks.waiting_for_staff)."""
    return Exists(
        ModuleCall.objects.filter(service_id=OuterRef("pk"), action=action, awaiting_retry=True, permanent_error=True)
    )
