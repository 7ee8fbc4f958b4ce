"""What billing's templates show of payments without importing it: `{% load payments_tags %}` then
`{% pay_buttons invoice %}` — a 'Pay now' button per enabled gateway on an unpaid invoice."""
from django import template

from payments.registry import enabled_gateways

register = template.Library()


@register.inclusion_tag("payments/_pay_buttons.html", takes_context=True)
def pay_buttons(context, invoice):
    payable = invoice.status == invoice.Status.UNPAID and invoice.balance > 0
    return {"invoice": invoice, "gateways": enabled_gateways() if payable else [],
            "csrf_token": context.get("csrf_token")}
