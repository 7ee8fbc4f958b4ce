"""Orders: a client (or staff for a client) orders a product for a domain. The order makes a Pending service
with its chosen options and its first invoice (setup fee and first period). Acceptance runs the provisioning
Create through provisioning.lifecycle.service_create: by staff, or on payment when the product auto-accepts."""
import re
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from billing.models import Invoice, InvoiceItem, Service, ServiceConfigOption
from billing.money import add_cycle, is_recurring, period_end, period_key
from billing.pricing import PricingError, price_product, selection_values
from billing.selectors import orderable_products
from billing.services.invoices import Line, invoice_create
from billing.services.ledger import lock_client
from portal.activity import log_activity
from portal.text import type_noun, with_article

LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")


@dataclass(frozen=True)
class OrderResult:
    service: Service
    invoice: Invoice


def normalize_domain(value):
    """A domain name as stored: lower case, IDNs in their ASCII (punycode) form. Raises ValidationError."""
    domain = (value or "").strip().lower().rstrip(".")
    if domain.startswith(("http://", "https://")) or "/" in domain or "@" in domain:
        raise ValidationError({"domain": "Enter only the domain name, e.g. example.com (no http://, path or e-mail)."})
    try:
        domain = domain.encode("idna").decode("ascii")
    except UnicodeError:
        raise ValidationError({"domain": f"'{value}' is not a valid domain name."}) from None
    labels = domain.split(".")
    if len(domain) > 253 or len(labels) < 2 or not all(LABEL.match(label) for label in labels) or labels[-1].isdigit():
        raise ValidationError({"domain": f"'{value}' is not a valid domain name (for example: example.com)."})
    return domain


@transaction.atomic
def order_create(*, client, product, domain, cycle, option_values, actor, staff=False):
    """Create the Pending service and its first invoice. Bad input raises ValidationError naming the field."""
    if not orderable_products(staff=staff).filter(pk=product.pk).exists():
        raise ValidationError({"product": "This product cannot be ordered."})
    domain = normalize_domain(domain)
    try:
        price, selections = price_product(product=product, cycle=cycle, currency=client.currency, values=option_values)
    except PricingError as exc:
        raise ValidationError({"cycle": str(exc)}) from None
    client = lock_client(client)
    taken = Service.objects.filter(domain=domain, product__type=product.type, status__in=Service.LIVE_STATUSES)
    if taken.exists():
        raise ValidationError(
            {"domain": f"{domain} already has {with_article(type_noun(product.get_type_display()))} service. "
                       "Contact support to move it."}
        )
    today = timezone.localdate()
    recurring = is_recurring(cycle)
    service = Service.objects.create(
        client=client, product=product, domain=domain, status=Service.Status.PENDING, billing_cycle=cycle,
        currency=client.currency, first_payment_amount=price.recurring + price.setup, recurring_amount=price.recurring,
        registration_date=today, next_due_date=today if recurring else None,
        next_invoice_date=add_cycle(today, cycle) if recurring else None,
    )
    ServiceConfigOption.objects.bulk_create(
        [ServiceConfigOption(service=service, option=s.option, choice=s.choice, quantity=s.quantity) for s in selections]
    )
    end = period_end(today, cycle) if recurring else None
    details = "".join(f"\n{line.label}" for line in price.lines)
    period = f" ({today} – {end})" if end else ""
    lines = [
        Line(InvoiceItem.Kind.SERVICE, f"{product.name} – {domain}{period}{details}", price.recurring, service.pk,
             today, end, period_key(service.pk, today))
    ]
    if price.setup:
        lines.append(Line(InvoiceItem.Kind.SETUP, f"Setup fee – {product.name} – {domain}", price.setup, service.pk))
    invoice = invoice_create(client=client, lines=lines, actor=actor)
    log_activity(
        actor=actor, action="order.create", target=service,
        message=f"Order: {product.name} for {domain} ({service.get_billing_cycle_display()}), invoice {invoice}",
        data={"product": product.pk, "cycle": cycle, "options": selection_values(selections),
              "invoice": invoice.pk, "recurring": str(price.recurring), "setup": str(price.setup)},
    )
    return OrderResult(service, invoice)
