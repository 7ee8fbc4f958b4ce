"""Billing reads: the client area's services, invoices and dashboard, scoped to the signed-in client (another
client's id answers 404), and the staff dashboard's figures."""
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import Count, Prefetch, Q, Sum
from django.http import Http404
from django.utils import timezone

from billing.automation.report import next_run_preview
from billing.models import CreditLedgerEntry, Invoice, Product, ProductPrice, Service
from portal.jobs import job_statuses
from portal.models import Client
from portal.money import ZERO


def client_services(client):
    return Service.objects.filter(client=client).select_related("product").order_by("status", "domain")


def client_service(client, service_id):
    try:
        return client_services(client).get(pk=service_id)
    except Service.DoesNotExist:
        raise Http404("No such service.") from None


def client_invoices(client):
    return Invoice.objects.filter(client=client).exclude(status=Invoice.Status.DRAFT).order_by("-date", "-id")


def client_invoice(client, invoice_id):
    """The client's invoice with its lines and payments (404 for anyone else's)."""
    try:
        return client_invoices(client).prefetch_related("items__service", "payments").get(pk=invoice_id)
    except Invoice.DoesNotExist:
        raise Http404("No such invoice.") from None


def client_dashboard(client):
    """Counts and amounts for the client's dashboard, in two queries."""
    today = timezone.localdate()
    services = Service.objects.filter(client=client).aggregate(
        active=Count("id", filter=Q(status=Service.Status.ACTIVE)),
        suspended=Count("id", filter=Q(status=Service.Status.SUSPENDED)),
    )
    invoices = Invoice.objects.filter(client=client, status=Invoice.Status.UNPAID).aggregate(
        unpaid=Count("id"),
        overdue=Count("id", filter=Q(due_date__lt=today)),
        total_due=Sum("total", default=0),
    )
    return {**services, **invoices}


def dashboard_counts(today=None):
    """The staff dashboard's counts, in three queries: active clients, services per status (every status, 0
    when none) and overdue invoices (count and amount). The WHMCS API's GetStats answers with the same."""
    today = today or timezone.localdate()
    by_status = dict(Service.objects.values_list("status").annotate(n=Count("id")).order_by())
    overdue = Invoice.objects.filter(status=Invoice.Status.UNPAID, due_date__lt=today).aggregate(
        count=Count("id"), amount=Sum("total", default=0)
    )
    return {
        "active_clients": Client.objects.filter(status=Client.Status.ACTIVE).count(),
        "services_by_status": {value: by_status.get(value, 0) for value, _ in Service.Status.choices},
        "overdue_invoices": overdue,
    }


def staff_dashboard():
    """The staff dashboard's figures with a fixed number of queries, whatever the number of rows."""
    counts = dashboard_counts()
    return {
        "active_clients": counts["active_clients"],
        "services_by_status": [(label, counts["services_by_status"][value]) for value, label in Service.Status.choices],
        "overdue_invoices": counts["overdue_invoices"],
        "jobs": job_statuses(),
        "automation_preview": next_run_preview(),
    }


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
