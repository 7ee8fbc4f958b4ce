"""Client-area billing pages: the dashboard, services and invoices, paying, ordering, changing and cancelling.
Every object comes through a selector scoped to request.client (404 otherwise); every write is one service
call with the acting user; bad input comes back as a form error, never a 500."""
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from billing import hooks, selectors
from billing.forms import AddFundsForm, CancellationForm, ChangeForm, CreditPreferenceForm, OrderForm, option_values
from billing.models import Invoice
from billing.documents import invoice_document
from billing.pdf import pdf_response
from billing.pricing import PricingError, price_product, product_cycle_prices, product_options, service_option_values
from billing.services.cancellation import cancellation_request
from billing.services.changes import change_apply, change_quote, pending_change
from billing.services.invoices import add_funds_invoice_create
from billing.services.ledger import client_set_credit_preference
from billing.services.orders import order_create
from billing.services.payments import invoice_pay_from_credit
from portal.activity import Actor
from portal.forms import apply_errors
from portal.money import format_money, spendable
from portal.views import PAGE_SIZE, client_required


@client_required
def dashboard(request):
    client = request.client
    context = {
        "summary": selectors.client_dashboard(client),
        "services": selectors.client_services(client)[:10],
        "invoices": selectors.client_invoices(client)[:10],
    }
    return render(request, "portal/dashboard.html", context)


@client_required
def service_list(request):
    page = Paginator(selectors.client_services(request.client), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "portal/service_list.html", {"page": page})


@client_required
def service_detail(request, service_id):
    service = selectors.client_service(request.client, service_id)
    return render(request, "portal/service_detail.html", {"service": service})


@client_required
def invoice_list(request):
    page = Paginator(selectors.client_invoices(request.client), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "portal/invoice_list.html", {"page": page})


def _credit_context(client, invoice):
    """The credit figures of an invoice page: what may be spent is what is shown (docs/billing.md)."""
    available = spendable(client.credit_balance, invoice.currency)
    payable = invoice.status == Invoice.Status.UNPAID and invoice.kind != Invoice.Kind.ADD_FUNDS and invoice.balance > 0
    return {"can_pay_from_credit": payable and available > 0,
            "credit_to_apply": min(available, invoice.balance) if payable else 0}


@client_required
def invoice_detail(request, invoice_id):
    invoice = selectors.client_invoice(request.client, invoice_id)
    return render(request, "billing/invoice_detail.html", {
        "invoice": invoice, "document": invoice_document(invoice), **_credit_context(request.client, invoice),
    })


@client_required
def invoice_pdf(request, invoice_id):
    return pdf_response(invoice_document(selectors.client_invoice(request.client, invoice_id)))


@client_required
@require_http_methods(["GET", "POST"])
def invoice_pay_credit(request, invoice_id):
    invoice = selectors.client_invoice(request.client, invoice_id)
    if request.method == "POST":
        try:
            invoice_pay_from_credit(invoice=invoice, actor=Actor.from_request(request))
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            invoice.refresh_from_db()
            messages.success(request, f"Credit applied. Invoice {invoice} is {invoice.get_status_display().lower()}.")
        return redirect("clientarea:invoice", invoice_id=invoice.pk)
    return render(request, "billing/pay_from_credit.html", {"invoice": invoice, **_credit_context(request.client, invoice)})


@client_required
@require_http_methods(["GET", "POST"])
def add_funds(request):
    client = request.client
    form = AddFundsForm(request.POST if request.POST.get("action") == "add_funds" else None, currency=client.currency)
    preference = CreditPreferenceForm(initial={"apply_credit": client.apply_credit_to_invoices})
    actor = Actor.from_request(request) if request.method == "POST" else None
    if request.method == "POST" and request.POST.get("action") == "preference":
        preference = CreditPreferenceForm(request.POST)
        if preference.is_valid():
            client_set_credit_preference(client=client, apply_credit=preference.cleaned_data["apply_credit"], actor=actor)
            messages.success(request, "Your preference was saved.")
            return redirect("clientarea:add_funds")
    elif form.is_bound and form.is_valid():
        try:
            invoice = add_funds_invoice_create(client=client, amount=form.cleaned_data["amount"], actor=actor)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, f"Invoice {invoice} created: paying it adds {invoice.total} {invoice.currency} to your credit.")
            return redirect("clientarea:invoice", invoice_id=invoice.pk)
    context = {"form": form, "preference": preference, "entries": selectors.client_ledger(client)}
    return render(request, "billing/add_funds.html", context)


@client_required
@require_http_methods(["GET", "POST"])
def order(request):
    client = request.client
    product_id = request.POST.get("product") or request.GET.get("product")
    if not product_id:
        return render(request, "billing/order_catalogue.html", {"products": selectors.catalogue(client.currency)})
    product = selectors.orderable_product(product_id)
    options = product_options(product)
    prices = list(product_cycle_prices(product, client.currency).values())
    form = OrderForm(request.POST or None, product=product, options=options, prices=prices)
    quote = None
    if form.is_valid():
        values = option_values(form.cleaned_data)
        try:
            if request.POST.get("action") == "order":
                result = order_create(
                    client=client, product=product, domain=form.cleaned_data["domain"], cycle=form.cleaned_data["cycle"],
                    option_values=values, actor=Actor.from_request(request),
                )
                messages.success(request, f"Thank you: {product.name} for {result.service.domain} is ordered. Invoice {result.invoice} is below.")
                return redirect("clientarea:invoice", invoice_id=result.invoice.pk)
            quote, _ = price_product(product=product, cycle=form.cleaned_data["cycle"], currency=client.currency, values=values, options=options)
        except ValidationError as exc:
            apply_errors(form, exc)
        except PricingError as exc:
            form.add_error("cycle", str(exc))
    return render(request, "billing/order_form.html", {"product": product, "form": form, "quote": quote, "prices": prices})


@client_required
@require_http_methods(["GET", "POST"])
def service_change(request, service_id):
    service = selectors.client_service(request.client, service_id)
    products = selectors.change_products(service)
    chosen = next((p for p in products if str(p.pk) == request.POST.get("product", request.GET.get("product"))), service.product)
    options = product_options(chosen)
    initial = service_option_values(service) if chosen.pk == service.product_id else {}
    data = request.POST if request.method == "POST" else None
    form = ChangeForm(data, products=products, options=options, initial_values=initial, product=chosen)
    quote, blocked = None, []
    pending = pending_change(service)
    try:
        change_quote(service=service)
    except ValidationError as exc:
        blocked = [] if pending else exc.messages  # a pending change is shown with its invoice instead
    blocked_by_pending = pending is not None
    if request.method == "POST" and not blocked and not blocked_by_pending and form.is_valid():
        values = option_values(form.cleaned_data)
        try:
            if request.POST.get("action") == "confirm":
                result = change_apply(
                    service=service, product=chosen, option_values=values, actor=Actor.from_request(request),
                    expected_amount=request.POST.get("expected_amount"),
                )
                if result.pending:
                    messages.success(request, f"Your change is ordered. It takes effect when invoice {result.invoice} is paid.")
                    return redirect("clientarea:invoice", invoice_id=result.invoice.pk)
                if result.invoice:
                    messages.success(request, f"Changed. Invoice {result.invoice} bills the rest of this period.")
                    return redirect("clientarea:invoice", invoice_id=result.invoice.pk)
                credit = format_money(-result.quote.amount, service.currency)
                extra = f" {credit} {service.currency} was added to your credit." if result.credit else ""
                messages.success(request, "Changed." + extra)
                return redirect("clientarea:service", service_id=service.pk)
            quote = change_quote(service=service, product=chosen, option_values=values)
        except ValidationError as exc:
            apply_errors(form, exc)
    return render(request, "billing/service_change.html",
                  {"service": service, "form": form, "quote": quote, "blocked": blocked, "pending": pending})


@client_required
@require_http_methods(["GET", "POST"])
def service_cancel(request, service_id):
    service = selectors.client_service(request.client, service_id)
    form = CancellationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            cancellation_request(
                service=service, cancellation_type=form.cleaned_data["cancellation_type"],
                reason=form.cleaned_data["reason"], actor=Actor.from_request(request),
            )
        except ValidationError as exc:
            apply_errors(form, exc)
        except hooks.ProviderError as exc:
            messages.warning(request, f"Your request is recorded, but the service could not be removed yet ({exc.message}). We will retry.")
            return redirect("clientarea:service", service_id=service.pk)
        else:
            messages.success(request, "Your cancellation request is recorded.")
            return redirect("clientarea:service", service_id=service.pk)
    return render(request, "billing/service_cancel.html", {"service": service, "form": form})
