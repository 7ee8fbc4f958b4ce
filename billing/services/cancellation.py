"""Cancellation requests (seed 003): immediately, or at the end of the billing period.

A request is recorded on the service and audited. Unpaid invoices for later periods are cancelled at once (for
an immediate request: every unpaid line of the service). The cancellation itself goes through
provisioning.lifecycle.service_cancel: at once for an immediate request, and for an end-of-period one when
`cancellations_process(date=…)` (the automation run) finds its paid-up period over. A module error leaves the
request in place, so the next run tries again."""
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from billing import hooks
from billing.models import Service
from billing.services.invoices import cancel_unpaid_items
from billing.services.ledger import lock_client
from portal.activity import log_activity

CT = Service.CancellationType
REQUESTABLE = Service.LIVE_STATUSES


def cancellation_request(*, service, cancellation_type, reason, actor):
    """Record the request; an immediate one is carried out now. Returns the service (refreshed)."""
    if cancellation_type not in CT.values:
        raise ValidationError({"cancellation_type": "Choose immediately or at the end of the billing period."})
    _record_request(service=service, cancellation_type=cancellation_type, reason=reason, actor=actor)
    if cancellation_type == CT.IMMEDIATE:
        _carry_out(Service.objects.select_related("product").get(pk=service.pk), actor=actor, raise_errors=True)
    service.refresh_from_db()
    return service


@transaction.atomic
def _record_request(*, service, cancellation_type, reason, actor):
    lock_client(service.client_id)
    service = Service.objects.select_for_update().get(pk=service.pk)
    if service.status not in REQUESTABLE:
        raise ValidationError(f"{service.domain} is {service.get_status_display().lower()}: there is nothing to cancel.")
    if service.cancellation_type:
        raise ValidationError(
            f"Cancellation of {service.domain} was already requested on {timezone.localdate(service.cancellation_requested_at)}."
        )
    service.cancellation_type = cancellation_type
    service.cancellation_reason = (reason or "").strip()[:2000]
    service.cancellation_requested_at = timezone.now()
    service.save(update_fields=["cancellation_type", "cancellation_reason", "cancellation_requested_at", "updated_at"])
    log_activity(
        actor=actor, action="service.cancellation_request", target=service,
        message=f"Cancellation of {service.domain} requested ({service.get_cancellation_type_display().lower()})"
        + (f": {service.cancellation_reason}" if service.cancellation_reason else ""),
        data={"type": cancellation_type, "next_due_date": str(service.next_due_date or "")},
    )
    if cancellation_type == CT.END_OF_PERIOD and service.next_due_date is not None:
        cancel_unpaid_items(
            service_ids=[service.pk], from_date=service.next_due_date, actor=actor,
            reason=f"cancellation of {service.domain} at the end of the period",
        )


def _carry_out(service, *, actor, raise_errors=False):

    try:
        hooks.service_cancel(service=service, actor=actor)
    except (hooks.ProviderError, hooks.ActionRefused):
        if raise_errors:
            raise
        return False
    with transaction.atomic():
        lock_client(service.client_id)
        cancel_unpaid_items(service_ids=[service.pk], actor=actor, reason=f"{service.domain} cancelled")
    return True


@dataclass
class CancellationRun:
    cancelled: list = field(default_factory=list)
    failed: list = field(default_factory=list)


def due_cancellations(date):
    """Services whose cancellation is due on `date`: immediate ones not yet done, end-of-period ones whose
    paid-up period has ended."""
    due = Q(cancellation_type=CT.IMMEDIATE) | Q(cancellation_type=CT.END_OF_PERIOD) & (
        Q(next_due_date__lte=date) | Q(next_due_date__isnull=True)
    )
    return Service.objects.filter(due, status__in=REQUESTABLE).select_related("product").order_by("pk")


def cancellations_process(*, date, actor):
    """Carry out the cancellations due on `date` (for the automation run). Each one calls the module on its own."""
    run = CancellationRun()
    for service in due_cancellations(date):
        (run.cancelled if _carry_out(service, actor=actor) else run.failed).append(service)
    return run
