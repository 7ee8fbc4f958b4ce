"""Set-based selection of the services an automation run acts on.

One query per action, whatever the number of services: a disjunction of "next due date on or before the run
date minus N days" for each distinct N (the global days, and each override's days for its products or groups),
over the (status, next_due_date) index, with an EXISTS on the service's unpaid invoice lines. Rows come back as
dictionaries of the columns the plan shows; the engine never loads all services into Python.

"Overdue" means: the service's next due date plus the rule's days is on or before the run date (a date in the
business time zone), and an unpaid invoice that is due (due date on or before the run date) still bills it.
A service whose next due date passed but that owes nothing (its invoice was cancelled or written off) is left
alone.
"""
from datetime import timedelta

from django.db.models import Exists, OuterRef, Q

from billing import hooks
from billing.automation.rules import SUSPEND, TERMINATE
from billing.models import Invoice, InvoiceItem, Service

STATUS_FOR = {SUSPEND: Service.Status.ACTIVE, TERMINATE: Service.Status.SUSPENDED}
ROW_FIELDS = (
    "pk", "domain", "status", "next_due_date", "client_id", "product_id", "product__group_id", "product__name",
    "client__company_name", "client__first_name", "client__last_name",
)


def unpaid_invoice_due(date):
    """EXISTS: an unpaid invoice due on or before `date` bills this service."""
    return Exists(
        InvoiceItem.objects.filter(
            service_id=OuterRef("pk"), invoice__status=Invoice.Status.UNPAID, invoice__due_date__lte=date
        )
    )


def due_condition(rules, action, date, *, overrides_only=False):
    """Q for the services `action` is due for on `date` under `rules`, or None when nothing can be due.
    `overrides_only`: just those an override decides (the "every run" pass)."""
    cutoffs = []  # (Q of the targets, latest next due date that is due)
    by_days = rules.override_targets(action)
    for days, targets in sorted(by_days.items()):
        cutoffs.append((Q(**{f"{rules.field}__in": sorted(targets)}), date - timedelta(days=days)))
    global_rule = rules.global_rule(action)
    if global_rule is not None and not overrides_only:
        overridden = sorted(t for targets in by_days.values() for t in targets)
        others = ~Q(**{f"{rules.field}__in": overridden}) if overridden else Q()
        cutoffs.append((others, date - timedelta(days=global_rule.days)))
    if not cutoffs:
        return None
    any_due = Q()
    for targets, cutoff in cutoffs:
        any_due |= targets & Q(next_due_date__lte=cutoff)
    # The widest cutoff as a plain range too, so the database walks the (status, next_due_date) index.
    return Q(status=STATUS_FOR[action], next_due_date__lte=max(c for _, c in cutoffs)) & any_due


def waiting_for_staff(action):
    """EXISTS: the provider refused this action with a permanent error that nobody has dealt with yet."""
    return hooks.waiting_for_staff(action)


def due_services(rules, action, date, *, overrides_only=False, exclude_ids=None):
    """The services `action` is due for: a queryset (empty when the action is off).

    The every-run pass (`overrides_only`) leaves out services whose last attempt failed permanently (the
    provider needs a person): retrying them every five minutes would only repeat the error; the daily pass still
    retries them once a day."""
    condition = due_condition(rules, action, date, overrides_only=overrides_only)
    if condition is None:
        return Service.objects.none()
    services = Service.objects.filter(condition).filter(unpaid_invoice_due(date))
    if overrides_only:
        services = services.exclude(waiting_for_staff(action))
    if exclude_ids is not None:  # a list or a subquery
        services = services.exclude(pk__in=exclude_ids)
    return services.order_by("next_due_date", "pk")


def claim(items, action, date):
    """Lock the work items' services and keep those still due; returns the claimed ids.

    The lock is one statement on the primary key alone, SELECT … FOR UPDATE SKIP LOCKED (a service another pass
    holds is skipped, not waited for). It must not carry the due conditions: InnoDB would then walk the
    (status, next_due_date) index and lock, for a moment, the rows of other batches it passes — which their own
    claims, running at the same time, would skip. The re-check (still in the status, still overdue by its rule's
    days: a payment since the selection wins) is a plain read of the rows now held."""
    locked = list(
        Service.objects.filter(pk__in=sorted({item["service_id"] for item in items}))
        .select_for_update(skip_locked=True).order_by("pk").values_list("pk", flat=True)
    )
    if not locked:
        return []
    by_days = {}
    for item in items:
        by_days.setdefault(item["rule_days"], []).append(item["service_id"])
    overdue = Q()
    for days, ids in sorted(by_days.items()):
        overdue |= Q(pk__in=sorted(ids), next_due_date__lte=date - timedelta(days=days))
    services = Service.objects.filter(overdue, unpaid_invoice_due(date), status=STATUS_FOR[action], pk__in=locked)
    return list(services.order_by("pk").values_list("pk", flat=True))
