from django import template

from billing.models import Product
from voip import selectors

register = template.Library()


@register.simple_tag
def voip_panel(service):
    """What the client's service page shows of a VoIP service (None for any other service): this month's
    calls and spend, the latest calls, and for a postpaid service its unbilled usage. The service comes from the
    page, already scoped to the client."""
    if service is None or service.product.type != Product.Type.VOIP:
        return None
    return {
        "month": selectors.month_to_date(service), "recent": selectors.recent_calls(service),
        "postpaid": selectors.postpaid_usage(service),
    }
