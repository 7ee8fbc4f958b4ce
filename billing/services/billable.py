"""Billable items: one-off or recurring charges waiting for an invoice (WHMCS's AddBillableItem).

An item says when it is invoiced (BillableItem.InvoiceAction):
- nextcron: on the next run of the recurring invoice generator;
- duedate: by the generator once its due date is within the "invoice days before due" window, like a service;
- nextinvoice: on the client's next invoice, whatever else puts it out (the generator's, for a service);
- noinvoice: never by itself; staff invoice it by hand (`billable_items_invoice`).
The generator (billing.services.generation) takes open items of the clients it has locked, with a fixed number
of queries per batch. Each billing of an item is an invoice line with the unique period key
"billable:<id>:<n>", so an item is never billed twice for the same time. A recurring item then moves its due
date on one step and waits for that date (invoice action duedate) until it has been invoiced `recur_for` times.
"""
from collections import defaultdict
from datetime import timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from billing.models import BillableItem, InvoiceItem
from billing.money import add_months
from billing.services.invoices import Draft, Line, issue_invoices
from portal.activity import build_entry, log_activities, log_activity
from portal.updates import model_update
from portal.models import Client
from portal.money import quantize

IA = BillableItem.InvoiceAction


def billable_item_create(*, client, description, amount, actor, invoice_action=IA.DUE_DATE, due_date=None,
                         recur_every=0, recur_cycle="", recur_for=0, taxable=True):
    """Record a billable item for a client (validated, audited). It is invoiced as its invoice action says."""
    item = BillableItem(
        client=client, description=(description or "").strip(), amount=amount, taxable=taxable,
        invoice_action=invoice_action, due_date=due_date or timezone.localdate(), recur_every=recur_every or 0,
        recur_cycle=recur_cycle or "", recur_for=recur_for or 0,
    )
    if item.amount is not None and item.amount != quantize(item.amount):
        raise ValidationError({"amount": "Use at most two decimal places."})
    item.full_clean(exclude=["client"])
    item.save()
    log_activity(
        actor=actor, action="billable_item.create", target=item, client=client,
        message=f"Billable item '{item.description}' for {item.amount} {client.currency} added "
        f"({item.get_invoice_action_display().lower()}"
        + (f", every {item.recur_every} {item.recur_cycle}" if item.recurring else "") + ")",
        data={"amount": str(item.amount), "invoice_action": item.invoice_action, "due_date": str(item.due_date),
              "recur_every": item.recur_every, "recur_cycle": item.recur_cycle, "recur_for": item.recur_for},
    )
    return item


def next_due(item):
    """The due date of a recurring item's next billing."""
    step = item.recur_every
    if item.recur_cycle == BillableItem.RecurCycle.DAYS:
        return item.due_date + timedelta(days=step)
    if item.recur_cycle == BillableItem.RecurCycle.WEEKS:
        return item.due_date + timedelta(weeks=step)
    months = step * (12 if item.recur_cycle == BillableItem.RecurCycle.YEARS else 1)
    return add_months(item.due_date, months)


def due_items_filter(horizon):
    """Open items the generator bills on their own: next-cron ones, and due-date ones due by `horizon`."""
    return Q(awaiting_invoice=True) & (
        Q(invoice_action=IA.NEXT_CRON) | Q(invoice_action=IA.DUE_DATE, due_date__lte=horizon)
    )


def item_lines(items):
    """{client id: [(item, Line)]} for items about to be billed. The line's period start is the item's due date
    (the invoice is due on the earliest of its lines)."""
    by_client = defaultdict(list)
    for item in items:
        key = f"billable:{item.pk}:{item.invoice_count + 1}"
        line = Line(InvoiceItem.Kind.ITEM, item.description, item.amount, period_start=item.due_date,
                    period_key=key, taxable=item.taxable)
        by_client[item.client_id].append((item, line))
    return by_client


def mark_billed(billed, invoice_by_client, actor):
    """After the invoices are issued: each item remembers its invoice, counts the billing, and either waits for
    its next due date (recurring) or is done. One bulk update; the audit entries in one insert."""
    entries = []
    for item in billed:
        item.invoice = invoice_by_client[item.client_id]
        item.invoice_count += 1
        more = item.recurring and (item.recur_for == 0 or item.invoice_count < item.recur_for)
        if more:
            item.due_date, item.invoice_action = next_due(item), IA.DUE_DATE
        item.awaiting_invoice = more
        entries.append(build_entry(
            actor=actor, action="billable_item.invoiced", target=item,
            message=f"Billable item '{item.description}' invoiced on {item.invoice}"
            + (f"; next due {item.due_date}" if more else ""),
            data={"invoice": item.invoice.pk, "invoice_count": item.invoice_count},
        ))
    BillableItem.objects.bulk_update(
        billed, ["invoice", "invoice_count", "due_date", "invoice_action", "awaiting_invoice", "updated_at"],
        batch_size=500,
    )
    log_activities(entries)


@transaction.atomic
def billable_items_invoice(*, items, actor):
    """Staff "invoice now": one invoice per client for the chosen open items, whatever their invoice action.
    Returns the invoices."""
    ids = [item.pk for item in items]
    client_ids = sorted(set(BillableItem.objects.filter(pk__in=ids).values_list("client_id", flat=True)))
    clients = {c.pk: c for c in Client.objects.select_for_update().filter(pk__in=client_ids).order_by("pk")}
    locked = list(
        BillableItem.objects.select_for_update().filter(pk__in=ids, awaiting_invoice=True).order_by("client_id", "pk")
    )
    if not locked:
        raise ValidationError("None of these items is waiting to be invoiced.")
    today = timezone.localdate()
    by_client = item_lines(locked)
    drafts = [
        Draft(clients[client_id], [line for _, line in pairs], due_date=max(today, min(l.period_start for _, l in pairs)))
        for client_id, pairs in by_client.items()
    ]
    invoices = issue_invoices(drafts=drafts, on_date=today, actor=actor)
    mark_billed(locked, {d.client.pk: d.invoice for d in drafts}, actor)
    return invoices


EDITABLE_FIELDS = ("description", "amount", "taxable", "invoice_action", "due_date", "recur_every", "recur_cycle",
                   "recur_for")


@transaction.atomic
def billable_item_update(*, item, actor, changes):
    """Change an item that is still waiting to be invoiced (what is billed stays as billed)."""
    unknown = sorted(set(changes) - set(EDITABLE_FIELDS))
    if unknown:
        raise ValueError(f"Not editable: {', '.join(unknown)}")
    item = BillableItem.objects.select_for_update().get(pk=item.pk)
    if not item.awaiting_invoice:
        raise ValidationError("This item has nothing more to invoice: add a new item instead.")
    return model_update(
        instance=item, changes=changes, actor=actor, action="billable_item.update", client=item.client,
        clean=_clean_item, show=str,
        message=lambda item, names: f"Billable item '{item.description}' changed: {', '.join(names)}")


def _clean_item(item):
    if item.amount != quantize(item.amount):
        raise ValidationError({"amount": "Use at most two decimal places."})
    item.full_clean(exclude=["client"])


@transaction.atomic
def billable_items_stop(*, items, actor):
    """Stop items from being invoiced again (a recurring one ends; a one-off one is dropped). Returns how many."""
    stopped = list(BillableItem.objects.select_for_update().filter(pk__in=[i.pk for i in items], awaiting_invoice=True)
                   .order_by("pk"))
    BillableItem.objects.filter(pk__in=[i.pk for i in stopped]).update(awaiting_invoice=False, updated_at=timezone.now())
    log_activities([
        build_entry(actor=actor, action="billable_item.stop", target=i,
                    message=f"Billable item '{i.description}' stopped after {i.invoice_count} invoice(s)")
        for i in stopped
    ])
    return len(stopped)
