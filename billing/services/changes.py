"""Upgrades and downgrades with proration: another product, other option values (more mailboxes), or one
mailbox's type (seed 003: Basic ⇄ Enhanced, mixed within a domain).

The rule (docs/billing.md, *Upgrades and downgrades*, has worked examples):

    period     = the billing period holding today, on the grid that meets at the next due date:
                 [next due date − one cycle, next due date) when paid up to it; an earlier period of the grid
                 when paid further ahead; [next due date + k cycles, …) when overdue or due today
    difference = new recurring amount − old recurring amount              (per billing period)
    billed     = the service's periods that are paid or invoiced and not over today: every period of the grid
                 up to the next due date, and every period on an unpaid or paid invoice from it on
    amount     = quantize( Σ over billed periods [start, end) of
                           difference × (end − max(start, today)) days / (end − start) days )   (once, half up)

So the rest of the current period is prorated by days, a period paid or invoiced ahead counts in full, and a
period neither paid nor invoiced counts nothing (its invoice will bill the new amount); the quote states the
period in any case ("12 of 30 days left …"), or says in words why there is none (no next due date).

A positive amount is invoiced at once (due today); a negative one is credited to the client. Every confirmed
change is a ServiceChange row. A charged change takes effect when its invoice is paid (settle_invoices calls
apply_paid_changes), unless the service's product says `changes_take_effect_at_once`; a credited or free change,
seed 003's one-mailbox type change ("the change is applied instantly") and staff's *Apply now* take effect at
once. While a change is pending another is refused; cancelling its invoice cancels it.
"""
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from billing import hooks
from billing.models import (
    CreditLedgerEntry,
    Invoice,
    InvoiceItem,
    Product,
    Service,
    ServiceChange,
    ServiceConfigOption,
)
from billing.money import is_recurring, period_containing
from billing.pricing import (
    MAILBOX_OPTION_PREFIX,
    PricingError,
    mailbox_types,
    price_product,
    product_options,
    selection_values,
    service_option_values,
)
from billing.services.invoices import Line, invoice_create
from billing.services.ledger import ledger_post, lock_client
from portal.activity import log_activity
from portal.money import ZERO, amount_shown, format_money, quantize


@dataclass(frozen=True)
class ChangeQuote:
    service: Service
    product: Product
    option_values: dict
    old_recurring: Decimal
    new_recurring: Decimal
    period_start: date | None  # the billing period holding today; None only without a next due date
    period_end: date | None  # exclusive: the next due date when the service is paid up
    days_left: int
    days_in_period: int
    periods_ahead: int
    amount: Decimal
    selections: list = field(default_factory=list, repr=False)
    period_billed: bool = False  # the current period is paid or invoiced (so the rest of it is prorated)

    @property
    def difference(self):
        return self.new_recurring - self.old_recurring

    @property
    def is_charge(self):
        return self.amount > 0

    @property
    def is_credit(self):
        return self.amount < 0

    @property
    def credit_amount(self):
        """What a downgrade credits, as a positive amount."""
        return -self.amount if self.amount < 0 else ZERO

    @property
    def period_last_day(self):
        return self.period_end - timedelta(days=1) if self.period_end else None

    @property
    def period_text(self):
        """The period in words, for the quote and the invoice line: never "0 of 0"."""
        if self.period_start is None:
            return "no proration: the service has no next due date, so no period is paid; the new price applies from its next invoice"
        text = f"{self.days_left} of {self.days_in_period} days left in the period {self.period_start} – {self.period_last_day}"
        if not self.period_billed:
            text += " (not invoiced yet: its invoice will bill the new price, so nothing is prorated for it)"
        return text

    @property
    def summary(self):
        currency, cycle = self.service.currency, self.service.get_billing_cycle_display().lower()
        what = f"{self.service.product.name} → {self.product.name}" if self.product.pk != self.service.product_id else "options"
        return (
            f"{self.service.domain}: {what} changed, recurring {format_money(self.old_recurring, currency)} → "
            f"{format_money(self.new_recurring, currency)} {currency} {cycle}; {self.period_text}"
            + (f"; {self.periods_ahead} later period(s) already invoiced" if self.periods_ahead else "")
        )


def change_quote(*, service, product=None, option_values=None, today=None):
    """What changing the service's product and/or options costs for the rest of the period (no writes)."""
    today = today or timezone.localdate()
    product = product or service.product
    if service.status != Service.Status.ACTIVE:
        raise ValidationError(f"Only an active service can be changed ({service.domain} is {service.get_status_display().lower()}).")
    if not is_recurring(service.billing_cycle):
        raise ValidationError("A one-time service has no period to prorate; order the new product instead.")
    if service.cancellation_type:
        raise ValidationError("This service has a cancellation request; it cannot be changed.")
    pending = pending_change(service)
    if pending:
        raise ValidationError(pending_message(pending))
    if product.pk != service.product_id:
        if product.retired or product.type != service.product.type:
            raise ValidationError({"product": f"{product} cannot replace {service.product}."})
        if product.module != service.product.module:
            raise ValidationError({"product": f"{product} is provisioned differently; order it as a new service."})
    if option_values is None:
        option_values = service_option_values(service) if product.pk == service.product_id else {}
    try:
        price, selections = price_product(
            product=product, cycle=service.billing_cycle, currency=service.currency, values=option_values
        )
    except PricingError as exc:
        raise ValidationError({"product": str(exc)}) from None
    new, old = price.recurring, service.recurring_amount
    periods = billed_periods(service, today)
    current = current_period(service, today)
    start, end = current or (None, None)
    days_left = (end - today).days if current else 0
    days_in_period = (end - start).days if current else 0
    ahead = sum(1 for period_start, _ in periods if period_start > today)
    prorated = sum(((new - old) * (e - max(s, today)).days / (e - s).days for s, e in periods), ZERO)
    amount = quantize(prorated)
    return ChangeQuote(
        service, product, selection_values(selections), old, new, start, end, days_left, days_in_period, ahead, amount,
        selections, period_billed=any(s <= today < e for s, e in periods),
    )


def current_period(service, today):
    """The billing period [start, end) of a recurring service that holds `today`, from its next due date and
    cycle: [next due − one cycle, next due) when paid up to the next due date; an earlier period of the same grid
    when paid further ahead; the period from the due date on when it is overdue or due today. None without a
    next due date (nothing to count from) or for a one-time service."""
    if service.next_due_date is None or not is_recurring(service.billing_cycle):
        return None
    return period_containing(today, due=service.next_due_date, cycle=service.billing_cycle,
                             anchor_day=service.registration_date.day)


def billed_periods(service, today):
    """The service's periods that are paid or invoiced and not over by `today`, as sorted (start, end exclusive):
    every period of the grid up to the next due date (paid up: from the one holding today), and every period on an
    unpaid or paid invoice that starts on or after the next due date. Invoice lines before the next due date are
    the paid-up periods already counted (a line of another grid, after a change of cycle, is not counted twice)."""
    periods = {}
    due = service.next_due_date
    if due and is_recurring(service.billing_cycle) and due > today:
        anchor = service.registration_date.day
        start, end = period_containing(today, due=due, cycle=service.billing_cycle, anchor_day=anchor)
        while start < due:
            periods[start] = end
            start, end = end, period_containing(end, due=due, cycle=service.billing_cycle, anchor_day=anchor)[1]
    items = InvoiceItem.objects.filter(
        service=service, kind=InvoiceItem.Kind.SERVICE, period_end__gte=today,
        invoice__status__in=[Invoice.Status.UNPAID, Invoice.Status.PAID],
    )
    if due:
        items = items.filter(period_start__gte=due)
    for start, last_day in items.values_list("period_start", "period_end"):
        periods[start] = last_day + timedelta(days=1)
    return sorted(periods.items())


@dataclass(frozen=True)
class ChangeResult:
    quote: ChangeQuote
    invoice: Invoice | None = None
    credit: CreditLedgerEntry | None = None
    change: ServiceChange | None = None

    @property
    def pending(self):
        """The change waits for its invoice to be paid."""
        return self.change is not None and self.change.status == ServiceChange.Status.PENDING


def pending_change(service):
    """The service's change that waits for payment, with its invoice, or None."""
    return (ServiceChange.objects.filter(service=service, status=ServiceChange.Status.PENDING)
            .select_related("invoice").order_by("pk").first())


def pending_message(change):
    invoice = change.invoice
    return (f"A change of this service ({change.new_product.name if change.new_product_id != change.old_product_id else 'options'}, "
            f"{format_money(change.new_recurring, invoice.currency)} {invoice.currency} recurring) is waiting for payment of "
            f"invoice {invoice.number}: it takes effect when that invoice is paid. Pay it first, or ask us to cancel "
            "it, before making another change.")


@transaction.atomic
def change_apply(*, service, actor, product=None, option_values=None, expected_amount=None, description=None,
                 at_once=False):
    """Confirm a change: invoice (or credit) the prorated difference and record it as a ServiceChange.

    A charge takes effect when its invoice is paid (`apply_paid_changes`, from settle_invoices) unless the service's
    product says `changes_take_effect_at_once`, or the caller says `at_once` (staff, and seed 003's one-mailbox
    type change, which "is applied instantly"). A change that costs nothing or is credited takes effect at once.
    `expected_amount` is the amount the client was shown: if prices moved meanwhile, nothing changes and the
    client is asked to look again. A second change while one is pending is refused (change_quote)."""
    client = lock_client(service.client_id)
    service = Service.objects.select_for_update().select_related("product").get(pk=service.pk)
    old_options = service_option_values(service)
    quote = change_quote(service=service, product=product, option_values=option_values)
    if quote.product.pk == service.product_id and quote.option_values == old_options:
        raise ValidationError("Nothing would change: choose another product or other options.")
    if expected_amount is not None and amount_shown(expected_amount) != quote.amount:
        raise ValidationError(
            f"The amount changed to {format_money(quote.amount, service.currency)} {service.currency} since it was shown; "
            "please review it again."
        )
    text = description or quote.summary
    change = ServiceChange(
        service=service, old_product=service.product, new_product=quote.product, old_options=old_options,
        new_options=quote.option_values, old_recurring=service.recurring_amount, new_recurring=quote.new_recurring,
        amount=quote.amount, description=text[:500],
        new_selections=[{"option": s.option.pk, "choice": s.choice.pk if s.choice else None, "quantity": s.quantity}
                        for s in quote.selections],
    )
    invoice = credit = None
    if quote.is_charge:
        line = Line(InvoiceItem.Kind.UPGRADE, f"Change – {text}", quote.amount, service.pk, taxable=True)
        invoice = invoice_create(client=client, lines=[line], actor=actor)
        invoice.refresh_from_db()  # it may be paid already, from credit
        change.invoice = invoice
    elif quote.is_credit:
        credit, _ = ledger_post(
            client=client, kind=CreditLedgerEntry.Kind.PRORATION, amount=-quote.amount, service=service, actor=actor,
            description=f"Downgrade credit – {text}",
        )
    change.save(force_insert=True)
    at_once = at_once or service.product.changes_take_effect_at_once or not quote.is_charge
    data = {"change": change.pk, "from": {"product": service.product_id, "recurring": str(service.recurring_amount), "options": old_options},
            "to": {"product": quote.product.pk, "recurring": str(quote.new_recurring), "options": quote.option_values},
            "amount": str(quote.amount), "invoice": getattr(invoice, "pk", None)}
    amount = f"{format_money(quote.amount, service.currency)} {service.currency}"
    paid = invoice is not None and invoice.status == Invoice.Status.PAID
    if at_once or paid:
        when = "takes effect at once" if at_once else "takes effect now: its invoice is paid from credit"
    else:
        when = f"takes effect when invoice {invoice.number} is paid"
    data["takes_effect"] = "at_once" if at_once else "on_payment"
    log_activity(actor=actor, action="service.change", target=service, message=f"{text}; charged {amount}; {when}", data=data)
    if at_once or paid:
        _apply(change, service, actor)
    return ChangeResult(quote, invoice, credit, change)


def _apply(change, service, actor):
    """Apply a recorded change to the locked service: product, recurring amount, option rows; the provider follows
    once the transaction commits."""
    service.product_id = change.new_product_id
    service.recurring_amount = change.new_recurring
    service.save(update_fields=["product", "recurring_amount", "updated_at"])
    ServiceConfigOption.objects.filter(service=service).delete()
    ServiceConfigOption.objects.bulk_create(
        [ServiceConfigOption(service=service, option_id=row["option"], choice_id=row["choice"], quantity=row["quantity"])
         for row in change.new_selections]
    )
    change.status, change.applied_at = ServiceChange.Status.APPLIED, timezone.now()
    change.save(update_fields=["status", "applied_at"])
    log_activity(
        actor=actor, action="service.change_applied", target=service,
        message=f"Change applied: {service.domain} is now {change.new_product.name}, recurring "
                f"{format_money(change.new_recurring, service.currency)} {service.currency}",
        data={"change": change.pk, "invoice": change.invoice_id, "product": change.new_product_id,
              "recurring": str(change.new_recurring), "options": change.new_options},
    )
    _bill_periods_invoiced_meanwhile(change, service, actor)
    transaction.on_commit(lambda: apply_on_provider(service=service, actor=actor))


def _bill_periods_invoiced_meanwhile(change, service, actor):
    """A renewal invoiced while the change waited for payment billed its period at the old price (the quote could
    not count a period that was not invoiced yet). When the change takes effect, what is left of those periods is
    owed at the difference, by the quote's rule (days from today, whole periods ahead), on an invoice of its own."""
    today = timezone.localdate()
    lines = (InvoiceItem.objects.filter(
        service=service, kind=InvoiceItem.Kind.SERVICE, period_start__isnull=False, period_end__gte=today,
        invoice__status__in=[Invoice.Status.UNPAID, Invoice.Status.PAID], invoice__created_at__gt=change.created_at,
    ).exclude(invoice_id=change.invoice_id).order_by("period_start").values_list("period_start", "period_end"))
    periods = [(start, last_day + timedelta(days=1)) for start, last_day in lines]
    difference = change.new_recurring - change.old_recurring
    amount = quantize(sum((difference * (end - max(start, today)).days / (end - start).days for start, end in periods), ZERO))
    if amount <= 0:
        return None
    span = f"{periods[0][0]} – {periods[-1][1] - timedelta(days=1)}"
    text = (f"Change – {service.domain}: {format_money(difference, service.currency)} {service.currency} more for "
            f"{span}, invoiced at the old price while the change waited for payment")
    invoice = invoice_create(client=service.client_id, lines=[Line(InvoiceItem.Kind.UPGRADE, text, amount, service.pk, taxable=True)],
                             actor=actor)
    log_activity(actor=actor, action="service.change_difference_invoiced", target=service,
                 message=f"{text}: invoice {invoice.number}, {format_money(amount, service.currency)} {service.currency}",
                 data={"change": change.pk, "invoice": invoice.pk, "amount": str(amount),
                       "periods": [[str(start), str(end)] for start, end in periods]})
    return invoice


def apply_paid_changes(*, invoice_ids, actor):
    """From settle_invoices, in its transaction: apply the pending changes whose invoices are now paid. A service
    that ended meanwhile (terminated or cancelled) is not changed: its change is cancelled and logged."""
    ids = list(ServiceChange.objects.filter(invoice_id__in=invoice_ids, status=ServiceChange.Status.PENDING)
               .order_by("service_id", "pk").values_list("pk", flat=True))
    for change_id in ids:
        change = ServiceChange.objects.select_for_update().select_related("new_product").get(pk=change_id)
        service = Service.objects.select_for_update().get(pk=change.service_id)
        if change.status != ServiceChange.Status.PENDING:
            continue
        if service.status not in (Service.Status.ACTIVE, Service.Status.SUSPENDED):
            _cancel(change, actor, f"the service is {service.get_status_display().lower()}")
            continue
        _apply(change, service, actor)


@transaction.atomic
def change_apply_now(*, change, actor):
    """Staff: apply a pending change without waiting for its invoice (which stays to be collected as usual)."""
    change = ServiceChange.objects.select_for_update().select_related("new_product").get(pk=change.pk)
    if change.status != ServiceChange.Status.PENDING:
        raise ValidationError(f"This change is {change.get_status_display().lower()}; only a pending one can be applied.")
    service = Service.objects.select_for_update().get(pk=change.service_id)
    if service.status not in (Service.Status.ACTIVE, Service.Status.SUSPENDED):
        raise ValidationError(f"{service.domain} is {service.get_status_display().lower()}; it cannot be changed.")
    _apply(change, service, actor)
    return change


def cancel_pending_changes(*, invoice_ids, actor, reason, service_ids=None):
    """The changes pending on these invoices are cancelled (their invoice, or their line, was cancelled)."""
    changes = ServiceChange.objects.select_for_update().filter(invoice_id__in=invoice_ids, status=ServiceChange.Status.PENDING)
    if service_ids is not None:
        changes = changes.filter(service_id__in=service_ids)
    for change in changes.select_related("service", "invoice").order_by("pk"):
        _cancel(change, actor, reason)


def _cancel(change, actor, reason):
    change.status, change.cancelled_at = ServiceChange.Status.CANCELLED, timezone.now()
    change.save(update_fields=["status", "cancelled_at"])
    log_activity(
        actor=actor, action="service.change_cancelled", target=change.service,
        message=f"Pending change of {change.service.domain} cancelled: {reason}",
        data={"change": change.pk, "invoice": change.invoice_id, "reason": reason},
    )


def apply_on_provider(*, service, actor):
    """After a change commits: the provider's side (provisioning's Change package, so the mail server gets the
    new limits), once the change is applied in the portal (at once, or when its invoice is paid). A provider failure never undoes the change (it has committed): lifecycle records the
    failed call, logs it and queues it for retry (Provisioning › Retry queue), where staff see it."""

    try:
        hooks.service_change_package(service=service, actor=actor)
    except hooks.ActionRefused:
        pass  # no longer live (cancelled meanwhile): nothing on the provider to change
    except hooks.ProviderError:
        pass  # recorded, logged and queued for retry by the lifecycle


def _mailbox_type_values(service, from_type, to_type, count):
    types = mailbox_types(product_options(service.product))
    errors = {}
    if from_type not in types:
        errors["from_type"] = f"This plan has no '{from_type}' mailboxes (it has: {', '.join(sorted(types)) or 'none'})."
    if to_type not in types:
        errors["to_type"] = f"This plan has no '{to_type}' mailboxes (it has: {', '.join(sorted(types)) or 'none'})."
    if not errors and from_type == to_type:
        errors["to_type"] = "Choose a different mailbox type."
    if count < 1:
        errors["count"] = "Change at least one mailbox."
    if errors:
        raise ValidationError(errors)
    values = service_option_values(service)
    source, target = MAILBOX_OPTION_PREFIX + from_type, MAILBOX_OPTION_PREFIX + to_type
    current = int(values.get(source, types[from_type].min_quantity))
    if current < count:
        raise ValidationError({"from_type": f"The service has {current} {types[from_type].name.lower()}; cannot change {count}."})
    values[source] = current - count
    values[target] = int(values.get(target, types[to_type].min_quantity)) + count
    return values, types


def change_mailbox_type_quote(*, service, from_type, to_type, count=1, today=None):
    """The prorated charge (or credit) of changing `count` mailboxes from one type to another, e.g.
    from_type="basic", to_type="enhanced". For the mail client area to show before the client confirms."""
    values, _ = _mailbox_type_values(service, from_type, to_type, count)
    return change_quote(service=service, option_values=values, today=today)


@transaction.atomic
def change_mailbox_type(*, service, from_type, to_type, actor, count=1, expected_amount=None, mailbox=""):
    """Change `count` mailboxes' type with proration; `mailbox` (an address) goes into the invoice line and log."""
    lock_client(service.client_id)
    service = Service.objects.select_for_update().select_related("product").get(pk=service.pk)
    values, types = _mailbox_type_values(service, from_type, to_type, count)
    what = f"{mailbox} " if mailbox else f"{count} mailbox(es) "
    description = f"{service.domain}: {what}{types[from_type].name} → {types[to_type].name}"
    return change_apply(  # seed 003: "The change is applied instantly, and WHMCS handles the prorated billing."
        service=service, actor=actor, option_values=values, expected_amount=expected_amount, description=description,
        at_once=True,
    )
