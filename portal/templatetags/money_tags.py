"""Template filters for money; both call portal.money.format_money, the one way money is written.

    {{ invoice.total|money:invoice.currency }}          → 27.12 (the currency's decimals, half up)
    {{ request.client|credit }}                         → 24.51 (the client's credit, rounded down: spendable)
"""
from django import template

from portal.money import format_money

register = template.Library()


@register.filter
def money(amount, currency):
    """An amount in `currency`, with that currency's decimals; blank for no amount."""
    if amount is None or amount == "":
        return ""
    return format_money(amount, currency)


@register.filter
def credit(client):
    """The client's credit balance as it may be spent (rounded down to the client currency's decimals)."""
    if not client:
        return ""
    return format_money(client.credit_balance, client.currency, spendable=True)
