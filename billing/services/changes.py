"""Upgrades and downgrades with proration: another product, other option values (more mailboxes), or one
mailbox's type (seed 003: Basic ⇄ Enhanced, mixed within a domain).

The rule (docs/billing.md has worked examples):

    difference = new recurring amount − old recurring amount              (per billing period)
    billed     = the service's periods that are paid or invoiced and not over today: the paid-up period
                 [next due date − one cycle, next due date) and every period on an unpaid or paid invoice
    amount     = quantize( Σ over billed periods [start, end) of
                           difference × (end − max(start, today)) days / (end − start) days )   (once, half up)

So the rest of the current period is prorated by days, a period invoiced ahead counts in full, and a period
neither paid nor invoiced counts nothing (its invoice will bill the new amount).

A positive amount is invoiced at once (due today); a negative one is credited to the client. The change itself
applies at once, as seed 003 says ("the change is applied instantly, and WHMCS handles the prorated billing"),
and the next recurring invoice bills the new amount.
"""
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from billing import hooks
from billing.models import CreditLedgerEntry, Invoice, InvoiceItem, Product, Service, ServiceConfigOption
from billing.money import add_cycle, is_recurring
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
from portal.money import ZERO, quantize


@dataclass(frozen=True)
class ChangeQuote:
    service: Service
    product: Product
    option_values: dict
    old_recurring: Decimal
    new_recurring: Decimal
    period_start: date | None
    period_end: date | None  # exclusive: the next due date
    days_left: int
    days_in_period: int
    periods_ahead: int
    amount: Decimal
    selections: list = field(default_factory=list, repr=False)

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
    def summary(self):
        what = self.product.name if self.product.pk != self.service.product_id else "options"
        return (
            f"{self.service.domain}: {what} changed, recurring {self.old_recurring} → {self.new_recurring}; "
            f"{self.days_left}/{self.days_in_period} days left"
            + (f", {self.periods_ahead} period(s) already invoiced" if self.periods_ahead else "")
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
    current = next(((start, end) for start, end in periods if start <= today < end), (None, None))
    days_left = (current[1] - today).days if current[0] else 0
    days_in_period = (current[1] - current[0]).days if current[0] else 0
    ahead = sum(1 for start, _ in periods if start > today)
    prorated = sum(((new - old) * (end - max(start, today)).days / (end - start).days for start, end in periods), ZERO)
    amount = quantize(prorated)
    return ChangeQuote(service, product, selection_values(selections), old, new, current[0], current[1], days_left, days_in_period, ahead, amount, selections)


def billed_periods(service, today):
    """The service's periods that are paid or invoiced and not over by `today`, as sorted (start, end exclusive).
    The paid-up period before the next due date counts even without an invoice line (imported services)."""
    periods = {}
    due = service.next_due_date
    if due and due > today:
        periods[add_cycle(due, service.billing_cycle, -1, anchor_day=service.registration_date.day)] = due
    items = InvoiceItem.objects.filter(
        service=service, kind=InvoiceItem.Kind.SERVICE, period_end__gte=today,
        invoice__status__in=[Invoice.Status.UNPAID, Invoice.Status.PAID],
    )
    for start, last_day in items.values_list("period_start", "period_end"):
        periods[start] = last_day + timedelta(days=1)
    return sorted(periods.items())


@dataclass(frozen=True)
class ChangeResult:
    quote: ChangeQuote
    invoice: Invoice | None = None
    credit: CreditLedgerEntry | None = None


@transaction.atomic
def change_apply(*, service, actor, product=None, option_values=None, expected_amount=None, description=None):
    """Apply a change now and invoice (or credit) the prorated difference. `expected_amount` is the amount the
    client was shown: if prices moved meanwhile, nothing changes and the client is asked to look again."""
    client = lock_client(service.client_id)
    service = Service.objects.select_for_update().select_related("product").get(pk=service.pk)
    old_options = service_option_values(service)
    quote = change_quote(service=service, product=product, option_values=option_values)
    if quote.product.pk == service.product_id and quote.option_values == old_options:
        raise ValidationError("Nothing would change: choose another product or other options.")
    if expected_amount is not None and quantize(Decimal(str(expected_amount))) != quote.amount:
        raise ValidationError(
            f"The amount changed to {quote.amount} {service.currency} since it was shown; please review it again."
        )
    old = {"product": service.product_id, "recurring": str(service.recurring_amount), "options": old_options}
    service.product = quote.product
    service.recurring_amount = quote.new_recurring
    service.save(update_fields=["product", "recurring_amount", "updated_at"])
    ServiceConfigOption.objects.filter(service=service).delete()
    ServiceConfigOption.objects.bulk_create(
        [ServiceConfigOption(service=service, option=s.option, choice=s.choice, quantity=s.quantity) for s in quote.selections]
    )
    text = description or quote.summary
    invoice = credit = None
    if quote.is_charge:
        line = Line(InvoiceItem.Kind.UPGRADE, f"Change – {text}", quote.amount, service.pk, taxable=True)
        invoice = invoice_create(client=client, lines=[line], actor=actor)
    elif quote.is_credit:
        credit, _ = ledger_post(
            client=client, kind=CreditLedgerEntry.Kind.PRORATION, amount=-quote.amount, service=service, actor=actor,
            description=f"Downgrade credit – {text}",
        )
    transaction.on_commit(lambda: apply_on_provider(service=service, actor=actor))
    log_activity(
        actor=actor, action="service.change", target=service, message=f"{text}; charged {quote.amount} {service.currency}",
        data={"from": old, "to": {"product": quote.product.pk, "recurring": str(quote.new_recurring), "options": quote.option_values},
              "amount": str(quote.amount), "invoice": getattr(invoice, "pk", None)},
    )
    return ChangeResult(quote, invoice, credit)


def apply_on_provider(*, service, actor):
    """After a change commits: the provider's side (provisioning's Change package, so the mail server gets the
    new limits). The change is applied at once in the portal (upgrades are not held until paid), so the provider
    follows at once too. A provider failure never undoes the change (it has committed): lifecycle records the
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
    return change_apply(
        service=service, actor=actor, option_values=values, expected_amount=expected_amount, description=description
    )
