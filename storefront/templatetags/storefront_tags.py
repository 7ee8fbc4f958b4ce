"""Template filters of the storefront pages."""
import idna
from django import template

register = template.Library()


@register.filter
def with_unicode(domain):
    """An ASCII (punycode) domain followed by its Unicode form when they differ: 'xn--bcher-kva.de (bücher.de)'."""
    try:
        readable = idna.decode(domain)
    except (idna.IDNAError, UnicodeError):
        return domain
    return domain if readable == domain else f"{domain} ({readable})"
