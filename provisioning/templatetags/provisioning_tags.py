from django import template
from django.utils.html import format_html

from provisioning.charts import usage_chart_caption, usage_chart_svg
from provisioning.usage import usage_history

register = template.Library()


@register.simple_tag
def usage_chart(service, days=90):
    """The service's disk usage over the last `days` days as inline SVG ('' without readings). One query."""
    return usage_chart_svg(usage_history(service, days=days))


@register.simple_tag
def usage_chart_figure(service, days=90):
    """The chart of `usage_chart` with a caption stating the span its axis shows ('' without readings)."""
    history = usage_history(service, days=days)
    if not history:
        return ""
    return format_html('<figure class="mb-0">{}<figcaption class="text-body-secondary small">{}</figcaption></figure>',
                       usage_chart_svg(history), usage_chart_caption(history))
