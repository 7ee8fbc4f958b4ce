from django import template

from provisioning.charts import usage_chart_svg
from provisioning.usage import usage_history

register = template.Library()


@register.simple_tag
def usage_chart(service, days=90):
    """The service's disk usage over the last `days` days as inline SVG ('' without readings). One query."""
    return usage_chart_svg(usage_history(service, days=days))
