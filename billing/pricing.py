"""What a product costs with a given set of configurable options, per billing cycle and currency.

A service's recurring amount is the product's price for its cycle plus, for each option, the chosen choice's
price (a select option) or the unit price times the units above the included ones (a quantity option). The
setup fee adds up the same way. Amounts are summed exactly (prices have two places) and quantized once.

Per-mailbox types (seed 003) are quantity options named `mailboxes_<type>`, e.g. `mailboxes_basic` and
`mailboxes_enhanced`: one domain mixes types freely and each type is billed at its own unit price.
"""
from dataclasses import dataclass, field
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db.models import Prefetch

from billing.models import (
    BillingCycle,
    ConfigurableOption,
    ConfigurableOptionChoice,
    ConfigurableOptionPrice,
    ProductPrice,
    ServiceConfigOption,
)
from portal.money import ZERO, quantize

MAILBOX_OPTION_PREFIX = "mailboxes_"


class PricingError(Exception):
    """A product or option cannot be priced as asked (no price for that cycle/currency, bad option value)."""


@dataclass(frozen=True)
class Selection:
    option: ConfigurableOption
    choice: ConfigurableOptionChoice
    quantity: int


@dataclass(frozen=True)
class OptionLine:
    label: str
    recurring: Decimal
    setup: Decimal


@dataclass(frozen=True)
class Price:
    """A priced configuration: base price and setup fee, one line per option, and the quantized totals."""

    cycle: str
    currency: str
    base: Decimal
    base_setup: Decimal
    lines: list = field(default_factory=list)

    @property
    def recurring(self):
        return quantize(self.base + sum((line.recurring for line in self.lines), ZERO))

    @property
    def setup(self):
        return quantize(self.base_setup + sum((line.setup for line in self.lines), ZERO))


def product_options(product):
    """The product's options with their choices and all their prices, in three queries."""
    prices = Prefetch("choices__prices", queryset=ConfigurableOptionPrice.objects.all())
    return list(
        ConfigurableOption.objects.filter(product=product)
        .prefetch_related(Prefetch("choices", queryset=ConfigurableOptionChoice.objects.order_by("sort_order", "id")), prices)
        .order_by("sort_order", "id")
    )


CYCLE_ORDER = [cycle.value for cycle in BillingCycle]  # monthly, quarterly, semi-annually, annually, one time


def cycle_order(product):
    """The order the order forms list a product's cycles in: its default cycle first (if set), then shortest first
    (monthly … annually, one time), as WHMCS does; the first is preselected."""
    return lambda p: (p.cycle != product.default_cycle, CYCLE_ORDER.index(p.cycle))


def product_cycle_prices(product, currency):
    """{cycle: ProductPrice} of the product in one currency, in `cycle_order`."""
    prices = ProductPrice.objects.filter(product=product, currency=currency)
    return {p.cycle: p for p in sorted(prices, key=cycle_order(product))}


def resolve_selections(*, options, values):
    """Turn {option code: quantity or choice code} into Selections, checking every value.

    A missing option takes its default (the minimum quantity; the first choice). Errors are a ValidationError
    whose keys are the form field names `option_<code>`, so a form shows each one next to its field."""
    values = dict(values or {})
    by_code = {option.code: option for option in options}
    errors = {}
    unknown = sorted(set(values) - set(by_code))
    if unknown:
        errors["__all__"] = [f"Unknown option(s): {', '.join(unknown)}."]
    selections = []
    for option in options:
        choices = list(option.choices.all())
        key = f"option_{option.code}"
        if not choices:
            errors[key] = [f"{option.name} has no choices configured; staff must add one."]
            continue
        raw = values.get(option.code)
        if option.kind == ConfigurableOption.Kind.QUANTITY:
            try:
                quantity = option.min_quantity if raw in (None, "") else int(raw)
            except (TypeError, ValueError):
                errors[key] = [f"{option.name}: enter a whole number."]
                continue
            if quantity < option.min_quantity or (option.max_quantity is not None and quantity > option.max_quantity):
                upper = f" and at most {option.max_quantity}" if option.max_quantity is not None else ""
                errors[key] = [f"{option.name}: choose at least {option.min_quantity}{upper}."]
                continue
            selections.append(Selection(option, choices[0], quantity))
        else:
            choice = choices[0] if raw in (None, "") else next((c for c in choices if c.code == raw), None)
            if choice is None:
                errors[key] = [f"{option.name}: {raw!r} is not one of the choices."]
                continue
            selections.append(Selection(option, choice, 1))
    if errors:
        raise ValidationError(errors)
    return selections


def price(*, product_price, selections, cycle, currency):
    """Price a configuration. `product_price` is the product's ProductPrice for the cycle and currency."""
    if product_price is None:
        raise PricingError(f"This product has no {BillingCycle(cycle).label.lower()} price in {currency}.")
    lines = []
    for sel in selections:
        option_price = next(
            (p for p in sel.choice.prices.all() if p.cycle == cycle and p.currency == currency), None
        )
        unit, unit_setup = (option_price.price, option_price.setup_fee) if option_price else (ZERO, ZERO)
        if sel.option.kind == ConfigurableOption.Kind.QUANTITY:
            billable = granted_quantity(sel.option, sel.quantity) - sel.option.included_quantity
            label = f"{sel.option.name}: {sel.quantity}"
            if sel.option.included_quantity:
                label += f" ({sel.option.included_quantity} included)"
            lines.append(OptionLine(label, unit * billable, unit_setup * billable))
        else:
            lines.append(OptionLine(f"{sel.option.name}: {sel.choice.label}", unit, unit_setup))
    return Price(cycle, currency, product_price.price, product_price.setup_fee, lines)


def price_product(*, product, cycle, currency, values, options=None):
    """Resolve option values and price them: (Price, selections). Raises ValidationError/PricingError."""
    options = product_options(product) if options is None else options
    selections = resolve_selections(options=options, values=values)
    product_price = product_cycle_prices(product, currency).get(cycle)
    return price(product_price=product_price, selections=selections, cycle=cycle, currency=currency), selections


def selection_values(selections):
    """Chosen options (Selections, or a service's ServiceConfigOption rows) as {code: quantity or choice code}."""
    return {
        s.option.code: s.quantity if s.option.kind == ConfigurableOption.Kind.QUANTITY else s.choice.code
        for s in selections
    }


def service_option_values(service):
    """The service's current option values as {code: quantity or choice code}."""
    return selection_values(ServiceConfigOption.objects.filter(service=service).select_related("option", "choice"))


def granted_quantity(option, quantity):
    """The units a quantity option gives: those included in the price plus those bought (the units `price`
    bills). A quantity below the included units still gives the included ones."""
    return max(int(quantity), option.included_quantity)


def granted_option_values(service, options=None):
    """What the service has, as {code: units or choice code}: its chosen options, with every quantity option of
    its product as `granted_quantity` (a missing one at its default) — the mailboxes a plan allows, the limits
    the provider gets."""
    options = product_options(service.product) if options is None else options
    chosen = service_option_values(service)
    values = dict(chosen)
    for option in options:
        if option.kind == ConfigurableOption.Kind.QUANTITY:
            values[option.code] = granted_quantity(option, chosen.get(option.code, option.min_quantity))
    return values


def mailbox_types(options):
    """{type code: option} for the product's per-type mailbox quantity options (seed 003)."""
    return {
        o.code.removeprefix(MAILBOX_OPTION_PREFIX): o
        for o in options
        if o.code.startswith(MAILBOX_OPTION_PREFIX) and o.kind == ConfigurableOption.Kind.QUANTITY
    }


def products_for_pricing(products):
    """The products (a queryset) with everything pricing reads prefetched: their prices in every currency, their
    options, choices and choice prices — five queries whatever the number of products. Read the options with
    `prefetched_options(product)`."""
    options = Prefetch(
        "config_options",
        queryset=ConfigurableOption.objects.order_by("sort_order", "id").prefetch_related(
            Prefetch("choices", queryset=ConfigurableOptionChoice.objects.order_by("sort_order", "id")),
            Prefetch("choices__prices", queryset=ConfigurableOptionPrice.objects.all()),
        ),
    )
    return products.prefetch_related(Prefetch("prices", queryset=ProductPrice.objects.all()), options)


def prefetched_options(product):
    return list(product.config_options.all())


def prefetched_cycle_prices(product, currency):
    """As product_cycle_prices, from a product of products_for_pricing (no query)."""
    prices = [p for p in product.prices.all() if p.currency == currency]
    return {p.cycle: p for p in sorted(prices, key=cycle_order(product))}
