"""Storefront reads: what the public catalogue shows, in a fixed number of queries whatever the number of
products (tests/storefront/test_queries.py holds it to that)."""
from dataclasses import dataclass, field

from django.http import Http404

from billing.models import ConfigurableOption, Order, ProductPrice
from billing.pricing import prefetched_cycle_prices, prefetched_options, products_for_pricing
from billing.selectors import orderable_products


def currencies():
    """The currencies the portal sells in: those in which some orderable product has a price (one query)."""
    return sorted(set(ProductPrice.objects.filter(product__in=orderable_products()).values_list("currency", flat=True)))


def cycles_default_first(product, currency):
    """The product's prices in the currency as a list, its default cycle first, then shortest cycle first."""
    return list(prefetched_cycle_prices(product, currency).values())


@dataclass
class CatalogueProduct:
    product: object
    prices: list
    options: list
    included: list = field(default_factory=list)  # (option name, units included)


@dataclass
class CatalogueGroup:
    group: object
    products: list = field(default_factory=list)


def catalogue(currency):
    """Shown groups with their shown, orderable products priced in the currency (a product without a price in
    it is left out): six queries."""
    products = products_for_pricing(orderable_products().order_by("group__sort_order", "group__name", "sort_order", "name"))
    groups = {}
    for product in products:
        prices = cycles_default_first(product, currency)
        if not prices:
            continue
        options = prefetched_options(product)
        included = [(o.name, o.included_quantity) for o in options
                    if o.kind == ConfigurableOption.Kind.QUANTITY and o.included_quantity]
        entry = groups.setdefault(product.group_id, CatalogueGroup(product.group))
        entry.products.append(CatalogueProduct(product, prices, options, included))
    return list(groups.values())


def catalogue_product(product_id):
    """One orderable product ready for pricing, or 404 (hidden, retired, unknown)."""
    try:
        return products_for_pricing(orderable_products()).get(pk=int(product_id))
    except (TypeError, ValueError, orderable_products().model.DoesNotExist):
        raise Http404("No such product.") from None


def client_order(client, order_id):
    """The client's order with its invoice and services (404 for anyone else's)."""
    try:
        return (Order.objects.filter(client=client).select_related("invoice", "promotion")
                .prefetch_related("services__product").get(pk=order_id))
    except (Order.DoesNotExist, ValueError):
        raise Http404("No such order.") from None
