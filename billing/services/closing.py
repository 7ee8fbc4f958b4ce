"""Closing a client (WHMCS's CloseClient; the staff action "Close client").

In one transaction, with the client row locked: the client becomes Closed (it can no longer sign in), every
unpaid invoice is cancelled (money already received on one goes to the client's credit, as for any cancelled
invoice), each service that is pending, active or suspended gets an immediate cancellation request (an
end-of-period request becomes immediate), and the
audit log records it all. Billable items still waiting for an invoice are dropped.

Then, after the commit, each service is cancelled through provisioning.lifecycle.service_cancel, as an
immediate cancellation request is: a pending service simply becomes Cancelled; a live one is removed from its
server by its module (which keeps or deletes data as the product's delete-data option says). Provider calls are
never made inside the database transaction, and each service goes on its own: a module error leaves that
service's request in place (and the module call queued for retry), so the daily automation run
(cancellations_process) finishes it; closing again retries at once. The client stays closed either way.
"""
from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone

from billing import hooks
from billing.models import BillableItem, Invoice, Service
from billing.services.cancellation import REQUESTABLE, _carry_out
from billing.services.invoices import refund_to_credit
from billing.services.ledger import lock_client
from portal.activity import build_entry, log_activities, log_activity
from portal.models import Client

CLOSE_REASON = "client closed"


@dataclass
class CloseResult:
    client: Client
    invoices_cancelled: list = field(default_factory=list)
    services_cancelled: list = field(default_factory=list)
    services_failed: list = field(default_factory=list)  # (service, error message)


def client_close(*, client, actor, reason=""):
    """Close the client, cancel its unpaid invoices and its services. Returns a CloseResult."""

    result = _close_records(client=client, actor=actor, reason=(reason or "").strip())
    for service in Service.objects.filter(
        client_id=result.client.pk, status__in=REQUESTABLE, cancellation_type=Service.CancellationType.IMMEDIATE
    ).select_related("product").order_by("pk"):
        try:
            _carry_out(service, actor=actor, raise_errors=True)
        except hooks.ProviderError as exc:  # recorded (and queued for retry) by lifecycle; the daily run tries again
            result.services_failed.append((service, exc.message))
        except hooks.ActionRefused as exc:  # cancelled meanwhile by another path
            result.services_failed.append((service, str(exc)))
        else:
            result.services_cancelled.append(service)
    return result


@transaction.atomic
def _close_records(*, client, actor, reason):
    client = lock_client(client)
    now = timezone.now()
    result = CloseResult(client)
    previous = client.status
    if previous != Client.Status.CLOSED:
        client.status = Client.Status.CLOSED
        client.save(update_fields=["status", "updated_at"])
    invoices = list(
        Invoice.objects.select_for_update()
        .filter(client=client, status__in=[Invoice.Status.UNPAID, Invoice.Status.DRAFT]).order_by("pk")
    )
    for invoice in invoices:
        invoice.status, invoice.cancelled_at = Invoice.Status.CANCELLED, now
    Invoice.objects.filter(pk__in=[i.pk for i in invoices]).update(status=Invoice.Status.CANCELLED, cancelled_at=now, updated_at=now)
    for invoice in invoices:  # only the few that received money write a ledger entry
        refund_to_credit(invoice=invoice, amount=invoice.amount_paid + invoice.credit_applied, actor=actor,
                         reason=CLOSE_REASON)
    result.invoices_cancelled = invoices
    services = list(
        Service.objects.select_for_update().filter(client=client, status__in=REQUESTABLE)
        .exclude(cancellation_type=Service.CancellationType.IMMEDIATE).order_by("pk")
    )
    Service.objects.filter(pk__in=[s.pk for s in services]).update(
        cancellation_type=Service.CancellationType.IMMEDIATE, cancellation_requested_at=now, updated_at=now,
        cancellation_reason=f"{CLOSE_REASON}: {reason}" if reason else CLOSE_REASON,
    )
    dropped = BillableItem.objects.filter(client=client, awaiting_invoice=True).update(awaiting_invoice=False, updated_at=now)
    log_activities(
        [build_entry(actor=actor, action="invoice.cancel", target=i, message=f"Invoice {i} cancelled: {CLOSE_REASON}",
                     data={"returned_to_credit": str(i.amount_paid + i.credit_applied)}) for i in invoices]
        + [build_entry(actor=actor, action="service.cancellation_request", target=s,
                       message=f"Cancellation of {s.domain} requested (immediate): {CLOSE_REASON}",
                       data={"type": Service.CancellationType.IMMEDIATE}) for s in services]
    )
    log_activity(
        actor=actor, action="client.close", target=client,
        message=f"Client {client} closed" + (f": {reason}" if reason else "")
        + f"; {len(invoices)} unpaid invoice(s) cancelled, {len(services)} service(s) to cancel",
        data={"from": previous, "invoices": [i.pk for i in invoices], "services": [s.pk for s in services],
              "billable_items_dropped": dropped, "reason": reason},
    )
    return result
