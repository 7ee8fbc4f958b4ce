"""Recurring invoices: a function of the run date.

`generate_invoices(date=…)` bills every live service whose next period starts within
AutomationSettings.invoice_days_before_due days of `date`: one invoice per client per run, grouping what is due,
with disk tranches added where the product bills them. Service.next_invoice_date is the "billed up to" pointer:
the start of the first period not yet invoiced (WHMCS's nextinvoicedate); it moves on one cycle as the period is
billed, while next_due_date moves on only when the period is paid.

Safe to run twice and in two processes at once:
- clients are taken in batches and claimed with SELECT … FOR UPDATE SKIP LOCKED, so two runs share the work
  instead of both doing it; their due services are re-read under the lock, so a period billed by the other run
  (its pointer moved on) is no longer due;
- clients skipped because another transaction held them get a second, waiting pass;
- InvoiceItem.period_key ("service:<id>:<period start>") is unique, and keys already billed are checked inside the
  locked transaction: a period is never billed twice, even by another path.
Queries are set-based: a fixed number per batch of clients, never one per service.

Billable items (billing.services.billable) ride along: a client's open items that are due (next-cron ones, and
due-date ones within the same window) are lines of the same invoice, and "next invoice" items join any invoice
the run issues for their client. Their lines have unique period keys too ("billable:<id>:<n>").
"""
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q

from billing.disk import tranche_rule
from billing.models import AutomationSettings, BillableItem, BillingCycle, InvoiceItem, Product, Service
from billing.money import add_cycle, period_end, period_key
from billing.services.billable import IA, due_items_filter, item_lines, mark_billed
from billing.services.invoices import Draft, Line, issue_invoices
from portal.activity import Actor
from portal.models import Client

BATCH_CLIENTS = 500
SERVICE_FIELDS = (
    "pk", "client_id", "product_id", "domain", "billing_cycle", "recurring_amount", "registration_date",
    "next_due_date", "next_invoice_date", "disk_usage_mb",
)


@dataclass
class GenerationResult:
    invoices: int = 0
    items: int = 0
    services: int = 0
    already_billed: int = 0
    billable_items: int = 0
    warnings: list = field(default_factory=list)

    @property
    def summary(self):
        text = f"{self.invoices} invoice(s), {self.services} service period(s), {self.items} line(s)"
        if self.billable_items:
            text += f", {self.billable_items} billable item(s)"
        if self.already_billed:
            text += f"; {self.already_billed} period(s) were already billed"
        if self.warnings:
            text += f"; {len(self.warnings)} warning(s)"
        return text


@dataclass(frozen=True)
class Scope:
    """What one run may bill: everything (the daily run), one client, or some services only."""

    client_id: int | None = None
    service_ids: frozenset | None = None

    def services(self, queryset):
        if self.client_id is not None:
            queryset = queryset.filter(client_id=self.client_id)
        return queryset if self.service_ids is None else queryset.filter(pk__in=self.service_ids)

    def items(self, queryset):
        if self.service_ids is not None:
            return queryset.none()
        return queryset if self.client_id is None else queryset.filter(client_id=self.client_id)


def due_services(horizon):
    """Live, recurring services without a cancellation request whose next unbilled period starts by `horizon`."""
    pointer = Q(next_invoice_date__lte=horizon) | Q(next_invoice_date__isnull=True, next_due_date__lte=horizon)
    return (
        Service.objects.filter(pointer, status__in=[Service.Status.ACTIVE, Service.Status.SUSPENDED], cancellation_type="")
        .exclude(billing_cycle=BillingCycle.ONETIME)
    )


def generate_invoices(*, date, actor=None, batch_size=BATCH_CLIENTS, client_id=None, service_ids=None):
    """Bill what is due on `date` (a business-time-zone date). Returns a GenerationResult.
    `client_id`: only that client's due services and billable items; `service_ids`: only those services (no
    billable items), as WHMCS's GenInvoices filters."""
    actor = actor or Actor.system("generate_invoices")
    horizon = date + timedelta(days=AutomationSettings.load().invoice_days_before_due)
    scope = Scope(client_id, None if service_ids is None else frozenset(service_ids))
    client_ids = set(scope.services(due_services(horizon)).values_list("client_id", flat=True).distinct())
    client_ids |= set(scope.items(BillableItem.objects.filter(due_items_filter(horizon))).values_list("client_id", flat=True).distinct())
    client_ids = sorted(client_ids)
    result = GenerationResult()
    rules = _TrancheRules(result)
    for wait in (False, True):  # first share the work; then wait for clients another transaction held
        skipped = []
        for start in range(0, len(client_ids), batch_size):
            skipped += _bill_clients(
                client_ids[start : start + batch_size], date=date, horizon=horizon, actor=actor,
                wait=wait, rules=rules, result=result, scope=scope,
            )
        client_ids = skipped
        if not client_ids:
            break
    return result


@transaction.atomic
def _bill_clients(client_ids, *, date, horizon, actor, wait, rules, result, scope):
    """Bill one batch of clients in one transaction. Returns the ids it could not lock (held elsewhere)."""
    clients = {
        c.pk: c
        for c in Client.objects.select_for_update(skip_locked=not wait).filter(pk__in=client_ids).order_by("pk")
    }
    skipped = [pk for pk in client_ids if pk not in clients]
    services = list(
        scope.services(due_services(horizon)).filter(client_id__in=list(clients)).select_for_update()
        .order_by("client_id", "pk").only(*SERVICE_FIELDS)
    )
    items = list(
        scope.items(BillableItem.objects.filter(client_id__in=list(clients), awaiting_invoice=True))
        .filter(due_items_filter(horizon) | Q(invoice_action=IA.NEXT_INVOICE)).select_for_update().order_by("pk")
    )
    if not services and not items:
        return skipped
    products = Product.objects.in_bulk({s.product_id for s in services})
    periods, moved = [], []
    for service in services:
        start = max(d for d in (service.next_invoice_date, service.next_due_date) if d is not None)
        if start > horizon:  # a stale pointer behind the paid-up date: heal it, nothing to bill yet
            service.next_invoice_date = start
            moved.append(service)
            continue
        periods.append((service, start))
    billed = set(
        InvoiceItem.objects.filter(period_key__in=[period_key(s.pk, start) for s, start in periods])
        .values_list("period_key", flat=True)
    )
    lines_by_client = defaultdict(list)
    for service, start in periods:
        anchor = service.registration_date.day
        service.next_invoice_date = add_cycle(start, service.billing_cycle, anchor_day=anchor)
        moved.append(service)
        key = period_key(service.pk, start)
        if key in billed:
            result.already_billed += 1
            continue
        end = period_end(start, service.billing_cycle, anchor_day=anchor)
        product = products[service.product_id]
        lines = lines_by_client[service.client_id]
        lines.append(
            Line(InvoiceItem.Kind.SERVICE, f"{product.name} – {service.domain} ({start} – {end})",
                 service.recurring_amount, service.pk, start, end, key)
        )
        rule = rules.get(product)
        charge = rule.charge(service.disk_usage_mb) if rule else None
        if charge:
            _, amount, text = charge
            lines.append(
                Line(InvoiceItem.Kind.DISK, f"{service.domain}: {text}", amount, service.pk, start, end,
                     period_key(service.pk, start, "disk"))
            )
        result.services += 1
    billed_items = _add_item_lines(items, lines_by_client)
    drafts = [
        Draft(clients[client_id], lines, due_date=min(line.period_start for line in lines))
        for client_id, lines in lines_by_client.items()
    ]
    issue_invoices(drafts=drafts, on_date=date, actor=actor)
    _move_pointers(moved)
    mark_billed(billed_items, {d.client.pk: d.invoice for d in drafts}, actor)
    result.invoices += len(drafts)
    result.items += sum(len(d.lines) for d in drafts)
    result.billable_items += len(billed_items)
    return skipped


def _add_item_lines(items, lines_by_client):
    """Put the due billable items on their clients' lines; "next invoice" items only where the client gets an
    invoice anyway. Returns the items billed."""
    billed = []
    due_clients = {item.client_id for item in items if item.invoice_action != IA.NEXT_INVOICE} | {
        client_id for client_id, lines in lines_by_client.items() if lines
    }
    for client_id, pairs in item_lines(i for i in items if i.client_id in due_clients).items():
        lines_by_client[client_id].extend(line for _, line in pairs)
        billed.extend(item for item, _ in pairs)
    return billed


def _move_pointers(services):
    """Save the new pointers with one UPDATE per distinct date (a handful per run), not one CASE per row."""
    by_date = defaultdict(list)
    for service in services:
        by_date[service.next_invoice_date].append(service.pk)
    for pointer, ids in by_date.items():
        Service.objects.filter(pk__in=ids).update(next_invoice_date=pointer)


class _TrancheRules:
    """Each product's disk-tranche rule, parsed once per run; a product with bad options is billed without
    disk tranches and named in the run's warnings."""

    def __init__(self, result):
        self.result, self.rules = result, {}

    def get(self, product):
        if product.pk not in self.rules:
            try:
                self.rules[product.pk] = tranche_rule(product.module_options)
            except ValidationError as exc:
                self.rules[product.pk] = None
                self.result.warnings.append(f"{product}: disk tranches not billed: {'; '.join(exc.messages)}")
        return self.rules[product.pk]
