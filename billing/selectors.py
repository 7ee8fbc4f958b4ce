"""Billing reads. Client-area reads are scoped to the signed-in client: another client's id answers 404."""
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import Prefetch, Sum
from django.http import Http404

from billing.models import CreditLedgerEntry, Product, ProductPrice
from billing.money import ZERO
from portal import selectors as portal_selectors


def client_invoice(client, invoice_id):
    """The client's invoice with its lines and payments (404 for anyone else's)."""
    return portal_selectors.client_invoice(client, invoice_id)


def client_service(client, service_id):
    return portal_selectors.client_service(client, service_id)


def client_ledger(client, limit=50):
    return CreditLedgerEntry.objects.filter(client=client).select_related("invoice").order_by("-created_at", "-id")[:limit]


LEDGER_QUANTUM = Decimal("0.0001")  # CreditLedgerEntry.amount's 4 places


def ledger_balance(client):
    """The truth behind Client.credit_balance: the sum of the client's ledger entries. Quantized to the column's
    4 places because SQLite adds DECIMAL columns as floating point (MariaDB sums exactly, so this changes nothing
    there); a month of call debits leaves float noise far below 0.0001 that quantizing removes."""
    total = CreditLedgerEntry.objects.filter(client=client).aggregate(s=Sum("amount", default=ZERO))["s"]
    return Decimal(total).quantize(LEDGER_QUANTUM, rounding=ROUND_HALF_UP)


def orderable_products(*, staff=False):
    """Products that take orders: not retired; for clients also not hidden (nor in a hidden group)."""
    products = Product.objects.filter(retired=False).select_related("group")
    if not staff:
        products = products.filter(hidden=False, group__hidden=False)
    return products


def change_products(service):
    """What the client may change the service to: shown products that change_quote accepts in its place (same
    type and module, not retired), by name; the service's own product first when it is not one of them."""
    products = list(
        Product.objects.filter(type=service.product.type, module=service.product.module, retired=False, hidden=False)
        .order_by("name")
    )
    if service.product not in products:
        products.insert(0, service.product)
    return products


def catalogue(currency):
    """Orderable products with their prices in the currency, grouped, in two queries."""
    prices = Prefetch("prices", queryset=ProductPrice.objects.filter(currency=currency).order_by("cycle"))
    products = orderable_products().prefetch_related(prices).order_by("group__sort_order", "group__name", "sort_order", "name")
    return [p for p in products if p.prices.all()]


def orderable_product(product_id):
    try:
        return orderable_products().get(pk=int(product_id))
    except (TypeError, ValueError, Product.DoesNotExist):
        raise Http404("No such product.") from None
