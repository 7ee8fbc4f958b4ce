"""How a staff list states its number of rows when portal.admin_paging estimated it."""
from django import template
from django.contrib.humanize.templatetags.humanize import intcomma

register = template.Library()


@register.simple_tag
def changelist_count(cl):
    """"1,234", "about 1,000,000" (the table's statistics) or "more than 10,000" (a filtered list past the
    exact count)."""
    paginator = getattr(cl, "paginator", None)
    if not getattr(paginator, "estimated", False):
        return intcomma(cl.result_count)
    if paginator.count > paginator.exact_up_to:
        return f"about {intcomma(paginator.count)}"
    return f"more than {intcomma(paginator.exact_up_to)}"
