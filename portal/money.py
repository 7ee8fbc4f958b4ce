"""Showing money, the one way every app writes amounts for people and APIs (docs/billing.md, *Showing money*).

Amounts are Decimal and quantized once, where a rule says, to two places, half up (`quantize`). `format_money`
writes an amount with its currency's ISO 4217 decimals, half up; a credit balance rounded down to them (what may
be spent); the exact four-place figure only where staff ask for it. The template filters `money` and `credit`
(portal/templatetags/money_tags.py) call it. It lives on the ground floor because every app shows money.
"""
from decimal import ROUND_FLOOR, ROUND_HALF_UP, Decimal, InvalidOperation

from django.core.exceptions import ValidationError

CENT = Decimal("0.01")
ZERO = Decimal("0.00")


def quantize(amount):
    """To the currency's precision (two decimal places), rounding half up: the one rounding rule for money."""
    return Decimal(amount).quantize(CENT, rounding=ROUND_HALF_UP)


def amount_shown(value):
    """The amount a form or API call says the client was shown (a change's `expected_amount`), quantized; text
    that is not a finite number is a ValidationError, never a server error."""
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation:
        amount = None
    if amount is None or not amount.is_finite():
        raise ValidationError("The amount shown is missing or not a number; please review the change again.")
    return quantize(amount)


# ISO 4217 minor units of the active currencies that do not have two decimals (funds codes and metals left
# out); every other three-letter code has two. The credit ledger keeps four places, enough for all of them.
CURRENCY_DECIMALS = {
    **dict.fromkeys(["BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX", "VND", "VUV",
                     "XAF", "XOF", "XPF"], 0),
    **dict.fromkeys(["BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"], 3),
}
EXACT = Decimal("0.0001")  # the credit ledger's precision (CreditLedgerEntry.amount, Client.credit_balance)


def currency_decimals(currency):
    """How many decimals the currency's amounts have (ISO 4217 minor units): JPY 0, USD 2, KWD 3."""
    return CURRENCY_DECIMALS.get(currency, 2)


def currency_unit(currency):
    """The smallest amount of the currency: Decimal('1'), ('0.01') or ('0.001')."""
    return Decimal(1).scaleb(-currency_decimals(currency))


def credit_shown(balance, currency):
    """A credit balance as the client sees it: rounded down (toward minus infinity) to the currency's decimals,
    so it is never more than may be spent and a debt is never less than it is: 24.5161 → 24.51, −0.9373 → −0.94."""
    return Decimal(balance).quantize(currency_unit(currency), rounding=ROUND_FLOOR)


def spendable(balance, currency):
    """What a credit balance kept to four places can pay: the figure shown (credit_shown), never below zero."""
    return max(Decimal(0).quantize(currency_unit(currency)), credit_shown(balance, currency))


def format_money(amount, currency, *, spendable=False, exact=False):
    """The one way money is written for people and APIs: digits only (no grouping, '.' for decimals), as many
    decimals as the currency has, half up. `spendable=True`: a credit balance, rounded down (credit_shown).
    `exact=True`: the four places the credit ledger holds, for staff and reconciliation."""
    amount = Decimal(str(amount)) if isinstance(amount, float) else Decimal(amount)
    if exact:
        value = amount.quantize(EXACT, rounding=ROUND_HALF_UP)
    elif spendable:
        value = credit_shown(amount, currency)
    else:
        value = amount.quantize(currency_unit(currency), rounding=ROUND_HALF_UP)
    return f"{value if value else abs(value):f}"  # abs: a rounded −0.001 is "0.00", not "-0.00"
