"""Billing reads: the client area's services, invoices and dashboard, scoped to the signed-in client (another
client's id answers 404), and the staff dashboard's figures."""
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import Count, Prefetch, Q, Sum
from django.http import Http404
from django.utils import timezone

from billing.automation.report import next_run_preview
from billing.models import (
    BillableItem, ConfigurableOption, CreditLedgerEntry, CreditNote, EmailLog, EmailTemplate, Invoice, InvoiceItem,
    Payment, Product, ProductGroup, ProductPrice, Promotion, Service,
)
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
        return (client_invoices(client).select_related("client")
                .prefetch_related("items__service", "payments", "tax_lines", "credit_notes").get(pk=invoice_id))
    except Invoice.DoesNotExist:
        raise Http404("No such invoice.") from None


def client_credit_notes(client):
    return CreditNote.objects.filter(client=client).select_related("invoice").order_by("-date", "-id")


def client_credit_note(client, credit_note_id):
    """The client's credit note with its lines and tax breakdown (404 for anyone else's)."""
    try:
        return client_credit_notes(client).select_related("client").prefetch_related(
            "items__invoice_item", "tax_lines").get(pk=credit_note_id)
    except CreditNote.DoesNotExist:
        raise Http404("No such credit note.") from None


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


# Staff-side reads (the APIs): whole tables, by id or filtered, never scoped to a signed-in client.

def services_with_product():
    """Every service with its product (for a lookup by id)."""
    return Service.objects.select_related("product")


def services_by_id():
    """Every service in id order, for lists that page (the REST API): the products come in one more query for
    the page, not joined — with the join, MariaDB sorted all services to find a page (1 s at 100,000)."""
    return Service.objects.prefetch_related("product").order_by("pk")


def service_with_client(service_id):
    """The service with its client and product, or None."""
    return Service.objects.filter(pk=service_id).select_related("client", "product").first()


def client_has_service(*, client, service_id):
    return Service.objects.filter(pk=service_id, client=client).exists()


def services_with_details(*, client_id=None, service_id=None, product_id=None, domain=None, username=None):
    """Services by id with product, group, server and chosen options, filtered by whichever is given (the
    domain in any case)."""
    services = Service.objects.select_related("product__group", "server").prefetch_related(
        "config_options__option", "config_options__choice"
    ).order_by("pk")
    for lookup, value in (("client_id", client_id), ("pk", service_id), ("product_id", product_id),
                          ("domain__iexact", domain), ("username", username)):
        if value is not None:
            services = services.filter(**{lookup: value})
    return services


def services_with_cancellation_request():
    """Services with a cancellation request, oldest request first."""
    return Service.objects.exclude(cancellation_type="").order_by("cancellation_requested_at", "pk")


def services_newest_first(*, service_id=None, client_id=None, statuses=None):
    """Services with product and client, newest first; the one service, the client's, in the statuses if given."""
    services = Service.objects.select_related("product", "client").order_by("-pk")
    if service_id is not None:
        services = services.filter(pk=service_id)
    if client_id is not None:
        services = services.filter(client_id=client_id)
    if statuses is not None:
        services = services.filter(status__in=statuses)
    return services


def service_count_by_status():
    """[(status, number of services)] of the statuses that have services."""
    return list(Service.objects.values_list("status").annotate(n=Count("id")).order_by())


def service_figures(aggregates):
    """Service.objects.aggregate(**aggregates): figures over every service in one query."""
    return Service.objects.aggregate(**aggregates)


def first_invoice_rows(service_ids):
    """(service id, invoice id) of every invoice line of the services, by invoice id."""
    return InvoiceItem.objects.filter(service_id__in=service_ids).order_by("invoice_id").values_list(
        "service_id", "invoice_id")


def invoices_with_client():
    """Every invoice with its client (for a lookup by id)."""
    return Invoice.objects.select_related("client")


def invoice_with_client(invoice_id):
    """The invoice with its client, or None."""
    return Invoice.objects.filter(pk=invoice_id).select_related("client").first()


def invoices_newest_first(*, client_id=None, status=None, overdue_on=None):
    """Invoices with their client by date, newest first: the client's, in the status, or unpaid and due
    before `overdue_on` when given."""
    invoices = invoices_with_client().order_by("-date", "-pk")
    if client_id is not None:
        invoices = invoices.filter(client_id=client_id)
    if overdue_on is not None:
        invoices = invoices.filter(status=Invoice.Status.UNPAID, due_date__lt=overdue_on)
    elif status is not None:
        invoices = invoices.filter(status=status)
    return invoices


def invoice_lines(invoice):
    """The invoice's lines in their order (each line's invoice is `invoice`, no query)."""
    return invoice.items.order_by("sort_order", "pk")


def invoice_payments(invoice):
    """The invoice's payments, oldest first (each payment's invoice is `invoice`, no query)."""
    return invoice.payments.order_by("received_at", "pk")


def invoices_with_items():
    """Invoices with their lines, newest first."""
    return Invoice.objects.prefetch_related("items").order_by("-pk")


def payments():
    """Every payment, unordered (for a lookup by id)."""
    return Payment.objects.all()


def payments_oldest_first():
    return Payment.objects.order_by("received_at", "pk")


def payments_newest_first():
    return Payment.objects.order_by("-pk")


def payment_gateways_used():
    """The gateways payments were recorded with."""
    return set(Payment.objects.values_list("gateway", flat=True).distinct())


def payment_sums(*, currency, aggregates):
    """Payment.objects.filter(currency=currency).aggregate(**aggregates), in one query."""
    return Payment.objects.filter(currency=currency).aggregate(**aggregates)


def ledger_newest_first(client, limit=100):
    """The client's latest credit ledger entries (without their invoices)."""
    return CreditLedgerEntry.objects.filter(client=client).order_by("-created_at", "-pk")[:limit]


def ledger_oldest_first(client):
    """Every credit ledger entry of the client, oldest first, as a list."""
    return list(CreditLedgerEntry.objects.filter(client=client).order_by("created_at", "pk"))


def billable_items_by_id():
    return BillableItem.objects.order_by("pk")


def products():
    """Every product, unordered (for a lookup by id)."""
    return Product.objects.all()


def products_with_prices():
    """Products by id with their group and prices (by currency and cycle)."""
    return Product.objects.select_related("group").prefetch_related(
        Prefetch("prices", queryset=ProductPrice.objects.order_by("currency", "cycle"))
    ).order_by("pk")


def products_with_options(*, product_ids=None, group_id=None, module=None):
    """Products in their groups' order with prices and configurable options (and choices), in three queries;
    those of the ids, the group and the module when given."""
    found = Product.objects.prefetch_related(
        "prices", Prefetch("config_options", queryset=ConfigurableOption.objects.prefetch_related("choices"))
    ).order_by("group__sort_order", "sort_order", "name")
    if product_ids is not None:
        found = found.filter(pk__in=product_ids)
    if group_id is not None:
        found = found.filter(group_id=group_id)
    if module is not None:
        found = found.filter(module=module)
    return found


def product_options(product):
    """The product's configurable options with their choices."""
    return ConfigurableOption.objects.filter(product=product).prefetch_related("choices")


def product_first_cycle(*, product, currency):
    """The billing cycle of the product's first price in the currency, or None."""
    return ProductPrice.objects.filter(product=product, currency=currency).values_list("cycle", flat=True).first()


def product_group(group_id):
    """The product group, or None."""
    return ProductGroup.objects.filter(pk=group_id).first()


def currency_codes():
    """Every currency a price or a client uses, in two queries."""
    codes = set(ProductPrice.objects.values_list("currency", flat=True).distinct())
    return codes | set(Client.objects.values_list("currency", flat=True).distinct())


def email_templates(*, category=None):
    """E-mail templates by category and name; those of the category when given."""
    templates = EmailTemplate.objects.order_by("category", "name")
    if category is not None:
        templates = templates.filter(category=category)
    return templates


def email_template_named(name):
    """The e-mail template, or None."""
    return EmailTemplate.objects.filter(name=name).first()


def client_emails(client, *, subject=None):
    """The e-mails sent to the client, newest first; those whose subject contains `subject` when given."""
    emails = EmailLog.objects.filter(client=client).order_by("-created_at", "-pk")
    if subject is not None:
        emails = emails.filter(subject__icontains=subject)
    return emails


def promotions_by_code(code=None):
    """Promotions (all, or the one with `code`, matched case-insensitively) with their products, in two queries."""
    promotions = Promotion.objects.prefetch_related("products").order_by("code")
    return promotions.filter(code__iexact=code) if code else promotions


def live_service_on_module(*, domain, module):
    """A Pending, Active or Suspended service for `domain` whose product uses provisioning module `module`, or
    None: such a provider holds the domain already."""
    return (
        Service.objects.filter(domain=domain, product__module=module, status__in=Service.LIVE_STATUSES)
        .order_by("pk").first()
    )


def payment_by_reference(*, gateway, transaction_id):
    """The payment recorded with that gateway's transaction id, or None."""
    return Payment.objects.filter(gateway=gateway, transaction_id=transaction_id).first()
