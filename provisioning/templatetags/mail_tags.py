"""Template filters of the mail client area."""
from django import template

from provisioning.mail.selectors import has_mail_pages as check
from provisioning.mail.selectors import plan_usage

register = template.Library()


@register.filter
def local_part(address):
    """"sales@example.com" -> "sales" (mail pages name aliases, lists and mailboxes by it in their URLs)."""
    return str(address).partition("@")[0]


@register.simple_tag
def has_mail_pages(service):
    """Whether the service's page links to its e-mail dashboard."""
    return check(service)


@register.simple_tag
def mail_plan_usage(service):
    """The plan's mailbox figures of a mail service ([] for others): see selectors.plan_usage."""
    return plan_usage(service)


@register.filter
def break_after_slash(label):
    """"Upgrade/Downgrade" may wrap after its slash, never inside a word."""
    from django.utils.html import escape
    from django.utils.safestring import mark_safe

    return mark_safe(escape(label).replace("/", "/<wbr>"))
