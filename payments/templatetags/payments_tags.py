"""What billing's templates show of payments without importing it: `{% load payments_tags %}` then
`{% pay_buttons invoice %}` — a 'Pay now' button per enabled gateway on an unpaid invoice."""
from django import template

from payments.registry import enabled_gateways, gateway_classes
from payments.services import online_payment_refusal

register = template.Library()


@register.inclusion_tag("payments/_pay_buttons.html", takes_context=True)
def pay_buttons(context, invoice):
    payable = invoice.status == invoice.Status.UNPAID and invoice.balance > 0
    gateways = [(key, name, gateway_classes()[key].supports_saved_methods, gateway_classes()[key].button_text)
                for key, name in (enabled_gateways() if payable else [])]
    refusal = online_payment_refusal(invoice) if gateways else None  # say why instead of a button that cannot pay
    return {"invoice": invoice, "gateways": [] if refusal else gateways, "refusal": refusal,
            "csrf_token": context.get("csrf_token")}
