"""The payments pages: a gateway's webhook (the one CSRF-exempt view of the portal) and the client's way to a
gateway's hosted payment page and back."""
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from billing import selectors
from payments import services
from payments.gateways.base import GatewayError
from payments.models import GatewayEvent
from portal.activity import Actor
from portal.views import client_required


@csrf_exempt  # a gateway cannot send a CSRF token: its signature (checked in parse_event) stands in for it
@require_POST
def webhook(request, gateway):
    status, text = services.webhook_receive(gateway_key=gateway, request=request)
    return HttpResponse(text, status=status, content_type="text/plain; charset=utf-8")


@client_required
@require_POST
def pay(request, invoice_id, gateway):
    invoice = selectors.client_invoice(request.client, invoice_id)
    back = request.build_absolute_uri(reverse("clientarea:invoice", args=[invoice.pk]))
    success = request.build_absolute_uri(reverse("clientarea:payment_return", args=[gateway]))
    try:
        url = services.checkout_start(invoice=invoice, gateway_key=gateway, actor=Actor.from_request(request),
                                      success_url=success + "?session_id={CHECKOUT_SESSION_ID}",
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
@require_GET
def payment_return(request, gateway):
    reference = request.GET.get("session_id", "")
    try:
        attempt, outcome = services.checkout_confirm(client=request.client, gateway_key=gateway, reference=reference,
                                                     actor=Actor.from_request(request))
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("clientarea:invoices")
    except GatewayError:
        messages.warning(request, "We could not confirm the payment with the payment provider yet. If you paid, it "
                                  "will show here within a few minutes.")
        return redirect("clientarea:invoices")
    invoice = attempt.invoice
    invoice.refresh_from_db()
    if outcome in (GatewayEvent.Outcome.PAID, GatewayEvent.Outcome.ALREADY):
        if invoice.status == invoice.Status.PAID:
            messages.success(request, f"Thank you: invoice {invoice} is paid.")
        else:
            messages.success(request, f"Thank you: your payment was received; {invoice.balance} {invoice.currency} "
                                      "is still due.")
    elif outcome == GatewayEvent.Outcome.MISMATCH:
        messages.warning(request, "Your payment was received but differs from the invoice; our staff will apply it.")
    else:
        messages.info(request, "The payment is not complete yet. If you paid, it will show here within a few minutes.")
    return redirect("clientarea:invoice", invoice_id=invoice.pk)
