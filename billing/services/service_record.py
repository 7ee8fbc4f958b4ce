"""Editing a service's record (WHMCS's UpdateClientProduct): dates, amounts, cycle, domain, product, options,
server, username, notes. Only the portal's record changes: no provider is called (as in WHMCS, where the
module's ChangePackage is a separate action) and nothing is invoiced or credited (UpgradeProduct prorates).
`recalculate` reprices the recurring amount from the catalogue (WHMCS's autorecalc). Every change is audited
with its old and new values."""
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import transaction

from billing.models import BillingCycle, Product, Service, ServiceConfigOption
from billing.pricing import PricingError, price_product, product_options, resolve_selections, service_option_values
from billing.services.orders import normalize_domain
from portal.activity import log_activity

@dataclass
class RecordChange:
    fields: dict = field(default_factory=dict)  # Service field name → new value (validated here)
    product: Product | None = None
    option_values: dict | None = None  # {option code: quantity or choice code}: replaces the service's options
    recalculate: bool = False


def _check(service, fields):
    errors = {}
    if "domain" in fields:
        try:
            fields["domain"] = normalize_domain(fields["domain"])
        except ValidationError as exc:
            errors.update(exc.message_dict)
    for name in ("first_payment_amount", "recurring_amount", "disk_usage_mb", "disk_limit_mb"):
        if name in fields and fields[name] is not None and fields[name] < 0:
            errors[name] = ["cannot be negative"]
    if "billing_cycle" in fields and fields["billing_cycle"] not in BillingCycle.values:
        errors["billing_cycle"] = [f"unknown billing cycle {fields['billing_cycle']}"]
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def service_record_update(*, service, actor, change):
    """Apply `change` to the service's record; returns the {field: (old, new)} that changed."""
    service = Service.objects.select_for_update().select_related("product").get(pk=service.pk)
    fields = dict(change.fields)
    _check(service, fields)
    before = {name: getattr(service, name) for name in fields}
    if fields.get("next_due_date") and "next_invoice_date" not in fields and service.next_invoice_date == service.next_due_date:
        fields["next_invoice_date"] = fields["next_due_date"]  # WHMCS moves the next invoice date with it
        before["next_invoice_date"] = service.next_invoice_date
    for name, value in fields.items():
        setattr(service, name, value)
    changed = {name: (str(before[name]), str(value)) for name, value in fields.items() if before[name] != value}
    if change.product is not None and change.product.pk != service.product_id:
        changed["product"] = (service.product.name, change.product.name)
        service.product = change.product
    if change.option_values is not None or "product" in changed:
        values = change.option_values if change.option_values is not None else service_option_values(service)
        selections = resolve_selections(options=product_options(service.product), values=values)
        ServiceConfigOption.objects.filter(service=service).delete()
        ServiceConfigOption.objects.bulk_create(
            ServiceConfigOption(service=service, option=s.option, choice=s.choice, quantity=s.quantity)
            for s in selections
        )
        changed["options"] = ("", ", ".join(f"{s.option.code}={s.choice.code if s.choice else s.quantity}" for s in selections))
    if change.recalculate:
        try:
            priced, _ = price_product(product=service.product, cycle=service.billing_cycle, currency=service.currency,
                                      values=service_option_values(service))
        except PricingError as exc:
            raise ValidationError({"recurring_amount": str(exc)}) from None
        if priced.recurring != service.recurring_amount:
            changed["recurring_amount"] = (str(service.recurring_amount), str(priced.recurring))
            service.recurring_amount = priced.recurring
    service.full_clean(exclude=["client", "product", "server", "order", "promotion"])
    service.save()
    if changed:
        log_activity(
            actor=actor, action="service.record_update", target=service, client=service.client,
            message=f"Service {service.pk} ({service.domain}) record changed: " + ", ".join(
                f"{name} {old or '—'} → {new or '—'}" for name, (old, new) in changed.items()),
            data={name: [old, new] for name, (old, new) in changed.items()},
        )
    return changed
