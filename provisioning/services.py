"""Provisioning writes besides the lifecycle transitions: testing a server, single sign-on, and working the retry
queue. Each records its ModuleCall and writes ActivityLog with the acting user. Views and admin call these."""
from django.db import transaction

from billing.models import Service
from portal.activity import log_activity
from provisioning import lifecycle
from provisioning.calls import call_module
from provisioning.models import ModuleCall
from provisioning.modules.base import ModuleError, SsoTarget
from provisioning.registry import get_module

S = Service.Status


def server_test_connection(*, server, actor):
    """Ask the server's module to log in and read something; returns the module's message, raises ModuleError."""
    module = get_module(server.module)
    call, result, error = call_module(
        module_key=module.key, action="test_connection", server=server,
        fn=lambda: module.test_connection(lifecycle.server_ref(server)),
    )
    call.save()
    outcome = result.message if error is None else f"failed: {error.message}"
    log_activity(actor=actor, action="server.test_connection", target=server,
                 message=f"Connection test of {server.name}: {outcome}", data={"success": error is None})
    if error is not None:
        raise error
    return result.message


def service_sso_url(*, service, actor, target=SsoTarget.DOMAIN_ADMIN, user=""):
    """A short-lived auto-login URL from the provider (never stored or logged; the caller redirects to it at
    once). Audited as service.sso with who asked and for which login."""
    if service.status not in lifecycle.LIVE:
        raise lifecycle.InvalidTransition(
            f"Cannot log in to {service.domain}: the service is {service.get_status_display()}."
        )
    module = get_module(service.product.module)
    if module is None or not module.supports_sso:
        raise ModuleError(f"The product of {service.domain} has no module with single sign-on.", permanent=True)
    call, url, error = call_module(
        module_key=module.key, action="sso", service=service, args={"target": target, "user": user},
        fn=lambda: module.sso_url(lifecycle.service_ref(service), target=target, user=user),
    )
    call.response_summary = "" if error else "Auto-login URL issued (not stored)."
    call.save()
    who = user or "the domain administrator"
    log_activity(
        actor=actor, action="service.sso" if error is None else "service.sso_failed", target=service,
        message=f"Control panel login to {service.domain} as {who}"
                + ("" if error is None else f" failed: {error.message}"),
        data={"target": target, "user": user},
    )
    if error is not None:
        raise error
    return url


# What each lifecycle action needs to run again from the arguments kept on its ModuleCall.
RETRYABLE = {
    "create": lambda service, actor, args: lifecycle.service_create(service=service, actor=actor),
    "suspend": lambda service, actor, args: lifecycle.service_suspend(
        service=service, actor=actor, reason=args.get("reason") or Service.SuspendReason.MANUAL,
        reason_text=args.get("reason_text", ""), mode=args.get("mode", ""),
    ),
    "unsuspend": lambda service, actor, args: lifecycle.service_unsuspend(service=service, actor=actor),
    "terminate": lambda service, actor, args: lifecycle.service_terminate(
        service=service, actor=actor, delete_data=args.get("delete_data"),
    ),
    "cancel": lambda service, actor, args: lifecycle.service_cancel(service=service, actor=actor),
    "change_package": lambda service, actor, args: lifecycle.service_change_package(service=service, actor=actor),
}
# The status each action leads to: a queued action whose service already got there needs no retry.
REACHED = {"create": (S.ACTIVE, S.SUSPENDED), "suspend": (S.SUSPENDED,), "unsuspend": (S.ACTIVE,),
           "terminate": (S.TERMINATED,), "cancel": (S.CANCELLED,), "change_package": ()}


def module_call_retry(*, call, actor):
    """Run a queued failed lifecycle action again through the lifecycle. Returns a message for staff; raises
    ModuleError (still failing: it stays queued) or InvalidTransition."""
    if not call.awaiting_retry:
        return f"{call} is not waiting for a retry."
    if call.action == "change_password":
        raise lifecycle.InvalidTransition(
            "A password change cannot be retried from the queue: the new password is not kept. Use Change "
            "password on the service page, then dismiss this entry."
        )
    if call.service is None or call.action not in RETRYABLE:
        raise lifecycle.InvalidTransition(f"{call} cannot be retried; dismiss it once handled.")
    service = call.service
    if service.status in REACHED[call.action]:
        _dequeue(call, actor, f"{service.domain} is already {service.get_status_display()}; nothing to retry.")
        return f"{service.domain} is already {service.get_status_display()}; removed from the queue."
    RETRYABLE[call.action](service, actor, call.request.get("args") or {})
    # Success clears every queued failure of this action for the service (see lifecycle._transition).
    return f"{call.action.replace('_', ' ').capitalize()} of {service.domain} done."


def module_call_dismiss(*, call, actor):
    """Take a failed call out of the retry queue without running it (staff handled it another way)."""
    _dequeue(call, actor, f"Dismissed from the retry queue: {call.module}.{call.action}"
                          f"{' for ' + call.service.domain if call.service else ''}.")


def _dequeue(call, actor, message):
    with transaction.atomic():
        ModuleCall.objects.filter(pk=call.pk).update(awaiting_retry=False)
        log_activity(actor=actor, action="modulecall.dismiss", target=call.service or call, message=message,
                     data={"module_call": call.pk, "action": call.action})
    call.awaiting_retry = False
