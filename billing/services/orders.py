"""Orders: a client (or staff for a client) orders one or more products, each for a domain. An order makes one
Pending service per item with its chosen options, an Order row (source, promotion, hold) and one first invoice
(first periods, setup fees, promotion discounts). Acceptance runs the provisioning Create through
provisioning.lifecycle.service_create: by staff, or on payment when the product auto-accepts and the order is
not on hold (billing.services.payments.after_invoices_paid).

`quote_order` prices an order without writing (the storefront's cart shows it); `order_place` prices it again
inside the transaction, with the client locked, so what is charged is what the database says now."""
import re
from dataclasses import dataclass, field
from decimal import Decimal

import idna
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from billing import hooks
from billing.models import BillingCycle, Invoice, InvoiceItem, Order, Product, Service, ServiceConfigOption
from billing.money import add_cycle, is_recurring, period_end, period_key
from billing.pricing import (
    PricingError, Price, prefetched_cycle_prices, prefetched_options, price, products_for_pricing, resolve_selections,
    selection_values,
)
from billing.services import promotions
from billing.services.invoices import Line, invoice_create
from billing.tax.documents import tax_for_clients
from billing.services.ledger import lock_client
from billing.services.payments import invoice_pay_from_credit
from billing.selectors import orderable_products
from portal.activity import log_activity
from portal.money import ZERO, spendable
from portal.text import type_noun, with_article

LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
MAX_QUANTITY = 20
ONE_PER_DOMAIN = (Product.Type.MAIL, Product.Type.VOIP)  # seed 003: a domain has one service of each kind


def normalize_domain(value):
    """A domain name as stored: lower case, IDNs in their ASCII (punycode) form (IDNA 2008 with UTS 46 mapping,
    the `idna` library). Raises ValidationError."""
    domain = (value or "").strip().rstrip(".")
    if domain.lower().startswith(("http://", "https://")) or "/" in domain or "@" in domain:
        raise ValidationError({"domain": "Enter only the domain name, e.g. example.com (no http://, path or e-mail)."})
    try:
        domain = idna.encode(domain, uts46=True).decode("ascii").lower()
    except idna.IDNAError:
        raise ValidationError({"domain": f"'{value}' is not a valid domain name."}) from None
    labels = domain.split(".")
    if len(domain) > 253 or len(labels) < 2 or not all(LABEL.match(label) for label in labels) or labels[-1].isdigit():
        raise ValidationError({"domain": f"'{value}' is not a valid domain name (for example: example.com)."})
    return domain


@dataclass(frozen=True)
class OrderItem:
    product_id: int
    domain: str
    cycle: str
    option_values: dict = field(default_factory=dict)
    quantity: int = 1
    # Staff's own price for the period (WHMCS's AddOrder priceoverride): replaces the product's and its options'
    # recurring price; the setup fee stays. None: the catalogue price.
    price_override: Decimal | None = None


@dataclass(frozen=True)
class PricedItem:
    item: OrderItem
    product: Product
    domain: str
    price: Price
    selections: list
    discount: promotions.Discount
    recurring_discounted: bool

    @property
    def quantity(self):
        return self.item.quantity

    @property
    def first_payment(self):
        """One unit's first invoice: first period plus setup fee, less the promotion."""
        return self.price.recurring + self.price.setup - self.discount.total

    @property
    def renewal(self):
        """One unit's recurring amount after the first period."""
        return self.price.recurring - (self.discount.recurring if self.recurring_discounted else ZERO)

    @property
    def line_total(self):
        return self.first_payment * self.quantity


@dataclass
class OrderQuote:
    currency: str
    items: list
    promotion: object = None
    tax_rate: Decimal | None = None  # None: not known yet (a visitor without a country); else the level 1 rate
    tax_lines: list = field(default_factory=list)  # billing.tax.compute.TaxAmount per level
    tax_note: str = ""
    subtotal: Decimal = ZERO
    tax: Decimal = ZERO
    total: Decimal = ZERO

    @property
    def discount(self):
        return sum((i.discount.total * i.quantity for i in self.items), ZERO)

    @property
    def setup(self):
        return sum((i.price.setup * i.quantity for i in self.items), ZERO)

    @property
    def first_periods(self):
        """The first billing period of every item, before setup fees and the promotion (so the cart's totals
        read first periods + setup − promotion = subtotal)."""
        return sum((i.price.recurring * i.quantity for i in self.items), ZERO)


def _orderable(product, staff):
    return not product.retired and (staff or not (product.hidden or product.group.hidden))


def price_item(item, product, *, currency, promotion=None, staff=False):
    """Check and price one item. Errors are a ValidationError keyed by the item's fields (domain, cycle,
    quantity, option_<code>)."""
    errors = {}
    if product is None or not _orderable(product, staff):
        raise ValidationError({"product": "This product cannot be ordered."})
    try:
        domain = normalize_domain(item.domain)
    except ValidationError as exc:
        errors.update(exc.message_dict)
        domain = ""
    if not isinstance(item.quantity, int) or item.quantity < 1 or item.quantity > MAX_QUANTITY:
        errors["quantity"] = [f"Choose a quantity from 1 to {MAX_QUANTITY}."]
    elif item.quantity > 1 and product.type in ONE_PER_DOMAIN:
        errors["quantity"] = [f"A domain has one {type_noun(product.get_type_display())} service: order 1."]
    selections = []
    try:
        selections = resolve_selections(options=prefetched_options(product), values=item.option_values)
    except ValidationError as exc:
        errors.update(exc.message_dict)
    if errors:
        raise ValidationError(errors)
    product_price = prefetched_cycle_prices(product, currency).get(item.cycle)
    try:
        if item.price_override is not None:
            priced = overridden_price(item, product_price, currency)
        else:
            priced = price(product_price=product_price, selections=selections, cycle=item.cycle, currency=currency)
    except (PricingError, ValueError) as exc:
        raise ValidationError({"cycle": str(exc) if isinstance(exc, PricingError) else "Choose a billing cycle."}) from None
    discount = promotions.discount_for(promotion, product=product, cycle=item.cycle, recurring=priced.recurring,
                                       setup=priced.setup)
    return PricedItem(item, product, domain, priced, selections, discount, bool(promotion and promotion.recurring))


def overridden_price(item, product_price, currency):
    """The price staff set for the item: its recurring amount, with the product's setup fee for the cycle (none
    when the product has no price for it). The cycle must still be a billing cycle."""
    if item.price_override < 0:
        raise PricingError("A price override cannot be negative.")
    BillingCycle(item.cycle)  # ValueError for a cycle that does not exist
    setup = product_price.setup_fee if product_price is not None else ZERO
    return Price(item.cycle, currency, item.price_override, setup)


def pricing_products(product_ids):
    """{id: product} ready for price_item, in five queries whatever the number."""
    return {p.pk: p for p in products_for_pricing(Product.objects.filter(pk__in=set(product_ids)).select_related("group"))}


def domains_taken(priced_items):
    """{index: message} for items whose domain already has a live service of the same kind, or appears twice in
    the order for the same kind: one query for all items."""
    kinds = {(p.domain, p.product.type) for p in priced_items if p.product.type in ONE_PER_DOMAIN}
    live = set(
        Service.objects.filter(domain__in={d for d, _ in kinds}, status__in=Service.LIVE_STATUSES)
        .values_list("domain", "product__type")
    ) if kinds else set()
    taken, seen = {}, set()
    for index, p in enumerate(priced_items):
        key = (p.domain, p.product.type)
        if p.product.type not in ONE_PER_DOMAIN:
            continue
        noun = with_article(type_noun(p.product.get_type_display()))
        if key in live:
            taken[index] = f"{p.domain} already has {noun} service. Contact support to move it."
        elif key in seen:
            taken[index] = f"{p.domain} is already in this order with {noun} service."
        seen.add(key)
    return taken


def quote_order(*, items, currency, client=None, promotion=None, staff=False, products=None, one_per_domain=True):
    """Price an order without writing. `client` (if known) gives the tax rate; a promotion must discount at
    least one item. Raises ValidationError keyed `item_<n>` (one message per item) and `promotion`.
    `one_per_domain=False`: the caller checked for services of the same domain itself (the WHMCS API asks the
    product's provisioning module, which billing cannot)."""
    products = pricing_products(i.product_id for i in items) if products is None else products
    if not items:
        raise ValidationError({"__all__": "The order is empty."})
    item_errors, priced = {}, []
    for index, item in enumerate(items):
        try:
            priced.append(price_item(item, products.get(item.product_id), currency=currency, promotion=promotion,
                                     staff=staff))
        except ValidationError as exc:
            item_errors[index] = exc.message_dict
    if not item_errors and one_per_domain:
        item_errors = {index: {"domain": [message]} for index, message in domains_taken(priced).items()}
    errors = {f"item_{index}": [m for ms in fields.values() for m in ms] for index, fields in item_errors.items()}
    if not errors and promotion is not None and not any(p.discount.total > 0 for p in priced):
        errors["promotion"] = [f"The code {promotion.code} does not apply to anything in this order."]
    if errors:
        exc = ValidationError(errors)
        exc.item_errors = item_errors  # {index: {field: messages}}: a form shows each next to its field
        raise exc
    quote = OrderQuote(currency, priced, promotion)
    # The same amounts the invoice's lines will have (period, setup fee, discount), so the quote's tax is the
    # invoice's under either rounding rule.
    pairs = [(amount, True) for p in priced for _ in range(p.quantity)
             for amount in (p.price.recurring, p.price.setup, -p.discount.total) if amount]
    if client is None:
        quote.subtotal = quote.total = sum((amount for amount, _ in pairs), ZERO)
        return quote
    (decision, result), = tax_for_clients([(client, pairs)])
    quote.tax_rate, quote.tax_lines, quote.tax_note = result.rate(1), result.lines, decision.note
    quote.subtotal, quote.tax, quote.total = result.net, result.tax, result.gross
    return quote


@dataclass(frozen=True)
class OrderResult:
    order: Order
    services: list
    invoice: Invoice

    @property
    def service(self):
        return self.services[0]


def _item_lines(p, service, today, promotion):
    product, domain, cycle = p.product, service.domain, p.item.cycle
    end = period_end(today, cycle) if is_recurring(cycle) else None
    details = "".join(f"\n{line.label}" for line in p.price.lines)
    period = f" ({today} – {end})" if end else ""
    lines = [Line(InvoiceItem.Kind.SERVICE, f"{product.name} – {domain}{period}{details}", p.price.recurring,
                  service.pk, today, end, period_key(service.pk, today))]
    if p.price.setup:
        lines.append(Line(InvoiceItem.Kind.SETUP, f"Setup fee – {product.name} – {domain}", p.price.setup, service.pk))
    if p.discount.total:
        kind = "recurring" if promotion.recurring else "first payment"
        lines.append(Line(InvoiceItem.Kind.DISCOUNT, f"Promotion {promotion.code} ({kind}) – {product.name} – {domain}",
                          -p.discount.total, service.pk))
    return lines


@transaction.atomic
def order_place(*, client, items, actor, source=Order.Source.CLIENT_AREA, promotion=None, staff=False,
                apply_credit=None, expected_total=None, hold=Order.Hold.NONE, ip_address=None, one_per_domain=True):
    """Create the order: its Pending services and first invoice. Everything is checked again here, with the
    client locked; any bad item, a promotion no longer valid (or just used up by another checkout), or a total
    different from `expected_total` (a price changed since the quote) raises ValidationError and creates
    nothing. `apply_credit`: None follows the client's preference; True/False is the client's choice."""
    client = lock_client(client)
    if promotion is not None:
        promotion.refresh_from_db()
        promotions.check_promotion(promotion, client=client)
    quote = quote_order(items=items, currency=client.currency, client=client, promotion=promotion, staff=staff,
                        one_per_domain=one_per_domain)
    if expected_total is not None and Decimal(expected_total) != quote.total:
        raise ValidationError(
            {"__all__": f"The price changed while you were ordering: the order now costs {quote.total} "
                        f"{quote.currency} (was {expected_total}). Check the new total and confirm again."},
            code="requoted",
        )
    if promotion is not None:
        promotions.count_use(promotion)
    order = Order.objects.create(client=client, source=source, promotion=promotion, discount=quote.discount,
                                 hold=hold, ip_address=ip_address)
    today = timezone.localdate()
    services, lines, options = [], [], []
    for p in quote.items:
        recurring = is_recurring(p.item.cycle)
        for _ in range(p.quantity):
            service = Service.objects.create(
                client=client, product=p.product, domain=p.domain, status=Service.Status.PENDING,
                billing_cycle=p.item.cycle, currency=client.currency, first_payment_amount=p.first_payment,
                recurring_amount=p.renewal, registration_date=today, next_due_date=today if recurring else None,
                next_invoice_date=add_cycle(today, p.item.cycle) if recurring else None, order=order,
                promotion=promotion if p.discount.total else None,
            )
            services.append((service, p))
            options += [ServiceConfigOption(service=service, option=s.option, choice=s.choice, quantity=s.quantity)
                        for s in p.selections]
            lines += _item_lines(p, service, today, promotion)
    ServiceConfigOption.objects.bulk_create(options)
    invoice = invoice_create(client=client, lines=lines, actor=actor, apply_credit=apply_credit is None)
    order.invoice = invoice
    order.save(update_fields=["invoice"])
    if apply_credit and invoice.status == Invoice.Status.UNPAID and spendable(client.credit_balance, invoice.currency) > 0:
        invoice = invoice_pay_from_credit(invoice=invoice, actor=actor)
    for service, p in services:
        log_activity(
            actor=actor, action="order.create", target=service,
            message=f"Order: {p.product.name} for {service.domain} ({service.get_billing_cycle_display()}), invoice {invoice}",
            data={"product": p.product.pk, "cycle": p.item.cycle, "options": selection_values(p.selections),
                  "invoice": invoice.pk, "recurring": str(p.price.recurring), "setup": str(p.price.setup),
                  "order": order.pk, "discount": str(p.discount.total)},
        )
    log_activity(
        actor=actor, action="order.place", target=order, client=client,
        message=f"{order} placed ({order.get_source_display()}): {len(services)} service(s), invoice {invoice}"
                + (f", promotion {promotion.code}" if promotion else "") + (f", on hold: {order.get_hold_display()}" if hold else ""),
        data={"invoice": invoice.pk, "total": str(invoice.total), "promotion": promotion.code if promotion else "",
              "hold": hold, "source": source},
    )
    return OrderResult(order, [s for s, _ in services], invoice)


def order_create(*, client, product, domain, cycle, option_values, actor, staff=False, source=Order.Source.CLIENT_AREA,
                 price_override=None, one_per_domain=True, promotion=None):
    """One product for one domain (the client area's order form, staff, the APIs)."""
    if not orderable_products(staff=staff).filter(pk=product.pk).exists():
        raise ValidationError({"product": "This product cannot be ordered."})
    item = OrderItem(product.pk, domain, cycle, dict(option_values or {}), price_override=price_override)
    try:
        return order_place(client=client, items=[item], actor=actor, staff=staff, source=source,
                           one_per_domain=one_per_domain, promotion=promotion)
    except ValidationError as exc:
        raise _unprefixed(exc) from None


def _unprefixed(exc):
    """An order of one item reports its errors on the item's own fields (domain, cycle, option_<code>)."""
    item_errors = getattr(exc, "item_errors", {})
    return ValidationError(item_errors[0]) if 0 in item_errors else exc


@transaction.atomic
def order_release(*, order, actor, reason):
    """Lift an order's hold (its e-mail address is verified; staff reviewed it). When its invoice is paid, the
    services set to auto-accept are created, through the same follow-up as a payment."""
    order = Order.objects.select_for_update().select_related("invoice").get(pk=order.pk)
    if not order.hold:
        return order
    previous = order.get_hold_display()
    order.hold, order.released_at = Order.Hold.NONE, timezone.now()
    order.save(update_fields=["hold", "released_at"])
    log_activity(actor=actor, action="order.release", target=order,
                 message=f"{order} released ({previous}): {reason}", data={"hold": previous})
    if order.invoice and order.invoice.status == Invoice.Status.PAID:
        ids = [order.invoice_id]
        transaction.on_commit(lambda: hooks.follow_up_paid_invoices_later(ids))
    return order
