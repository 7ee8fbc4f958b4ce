"""The payments pages: a gateway's webhook (the one CSRF-exempt view of payments) and the client's way to a
gateway's hosted payment page and back."""
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from billing import selectors
from billing.models import Invoice
from payments import selectors as payment_selectors
from payments import services
from payments.gateways.base import GatewayError
from payments.models import GatewayEvent
from payments.registry import enabled_gateways, gateway_classes
from portal.activity import Actor
from portal.views import client_required


@csrf_exempt  # a gateway cannot send a CSRF token: its signature (checked in parse_event) stands in for it
@require_POST
def webhook(request, gateway):
    status, text = services.webhook_receive(gateway_key=gateway, request=request)
    return HttpResponse(text, status=status, content_type="text/plain; charset=utf-8")


@client_required
@require_http_methods(["GET", "POST"])
def pay(request, invoice_id, gateway):
    """GET: the payment page of one gateway (what will be charged, save the card?); POST: off to the gateway."""
    invoice = selectors.client_invoice(request.client, invoice_id)
    names = dict(enabled_gateways())
    payable = invoice.status == Invoice.Status.UNPAID and invoice.balance > 0
    if request.method == "GET":
        can_save = gateway in names and gateway_classes()[gateway].supports_saved_methods
        return render(request, "payments/pay.html", {"invoice": invoice, "gateway": gateway, "name": names.get(gateway),
                                                     "payable": payable, "can_save": can_save,
                                                     "refusal": payable and services.online_payment_refusal(invoice)})
    back = request.build_absolute_uri(reverse("clientarea:invoice", args=[invoice.pk]))
    success = request.build_absolute_uri(reverse("clientarea:payment_return"))
    extra = gateway_classes()[gateway].return_query if gateway in gateway_classes() else ""
    try:
        url = services.checkout_start(invoice=invoice, gateway_key=gateway, actor=Actor.from_request(request),
                                      success_url=f"{success}?gateway={gateway}" + (f"&{extra}" if extra else ""),
                                      cancel_url=back + "?payment=cancelled",
                                      save_method=request.POST.get("save_method") == "1")
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    except GatewayError as exc:
        messages.error(request, "The payment could not be started: "
                       + (exc.message if exc.permanent else "the payment provider did not answer; try again shortly."))
    else:
        return redirect(url)
    return redirect("clientarea:invoice", invoice_id=invoice.pk)


@client_required
def payment_return(request):
    """Back from the hosted page: the portal asks the gateway (never the browser) before saying 'paid'."""
    gateway = request.GET.get("gateway", "")
    reference = request.GET.get(gateway_classes()[gateway].return_reference_param, "") \
        if gateway in gateway_classes() else ""
    context = {"invoice": None, "level": "info", "message": "There is no payment to confirm here."}
    if gateway in gateway_classes() and reference:
        try:
            attempt, outcome = services.checkout_confirm(client=request.client, gateway_key=gateway,
                                                         reference=reference, actor=Actor.from_request(request))
        except ValidationError as exc:
            context["message"] = " ".join(exc.messages)
        except GatewayError:
            context.update(level="warning", message="We could not confirm the payment with the payment provider yet. "
                                                    "If you paid, it will show on the invoice within a few minutes.")
        else:
            invoice = attempt.invoice
            invoice.refresh_from_db()
            context.update(invoice=invoice, **_outcome_message(invoice, outcome))
    return render(request, "payments/return.html", context)


def _outcome_message(invoice, outcome):
    if outcome in (GatewayEvent.Outcome.PAID, GatewayEvent.Outcome.ALREADY):
        if invoice.status == Invoice.Status.PAID:
            return {"level": "success", "message": f"Thank you: invoice {invoice} is paid."}
        return {"level": "success", "message": f"Thank you: your payment was received; {invoice.balance} "
                                               f"{invoice.currency} is still due."}
    if outcome == GatewayEvent.Outcome.MISMATCH:
        return {"level": "warning", "message": "Your payment was received but differs from the invoice; our staff will "
                                               "apply it."}
    return {"level": "info", "message": "The payment is not complete yet. If you paid, it will show on the invoice "
                                        "within a few minutes."}


@client_required
def payment_methods(request):
    """The client's saved cards (brand, last four, expiry): the ones automatic payments use."""
    return render(request, "payments/methods.html", {"methods": payment_selectors.client_methods(request.client)})


@client_required
@require_http_methods(["GET", "POST"])
def payment_method_remove(request, method_id):
    method = payment_selectors.client_method(request.client, method_id)
    if request.method == "POST":
        try:
            services.method_remove(method=method, actor=Actor.from_request(request))
        except GatewayError:
            messages.error(request, "The card could not be removed now: the payment provider did not answer. Try "
                                    "again shortly.")
        else:
            messages.success(request, f"{method} removed: it will not be charged again.")
        return redirect("clientarea:payment_methods")
    return render(request, "payments/method_remove.html", {"method": method})
