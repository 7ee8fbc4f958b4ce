"""Money and billing periods: the two pieces of arithmetic every billing rule uses.

Amounts are Decimal and quantized once, where a rule says, to two places, half up. Showing money is one
function, `format_money` (template filters `money` and `credit` in billing/templatetags/money_tags.py): amounts
with their currency's ISO 4217 decimals, half up; a credit balance rounded down to them (what may be spent);
the exact four-place figure only where staff ask for it (docs/billing.md, *Showing money*).
Periods are whole calendar months counted from an anchor day, so a service registered on the 31st is due on
the last day of shorter months and on the 31st again when the month has one.
"""
import calendar
from datetime import date, timedelta
from decimal import ROUND_FLOOR, ROUND_HALF_UP, Decimal

from billing.models import CYCLE_MONTHS, BillingCycle

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
MB_PER_GB = Decimal(1024)


def quantize(amount):
    """To the currency's precision (two decimal places), rounding half up: the one rounding rule for money."""
    return Decimal(amount).quantize(CENT, rounding=ROUND_HALF_UP)


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


def add_months(day, months, *, anchor_day=None):
    """`day` moved on by `months` calendar months, on `anchor_day` (default: the same day) or the month's last."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    month += 1
    return date(year, month, min(anchor_day or day.day, calendar.monthrange(year, month)[1]))


def is_recurring(cycle):
    return CYCLE_MONTHS[BillingCycle(cycle)] is not None


def add_cycle(day, cycle, count=1, *, anchor_day=None):
    """The start of the period `count` billing cycles after the one starting on `day`."""
    months = CYCLE_MONTHS[BillingCycle(cycle)]
    if months is None:
        raise ValueError("A one-time service has no billing period.")
    return add_months(day, months * count, anchor_day=anchor_day)


def period_end(start, cycle, *, anchor_day=None):
    """The last day (inclusive) of the period that starts on `start`."""
    return add_cycle(start, cycle, anchor_day=anchor_day) - timedelta(days=1)


def period_key(service_id, start, kind="service"):
    """The unique key of one billed period of one service (InvoiceItem.period_key)."""
    return f"{kind}:{service_id}:{start.isoformat()}"


def consistent_anchor_day(due, anchor_day):
    """The anchor day that `due` is on: `anchor_day` (the registration day) when `due` is on it (or on the last
    day of a month shorter than it), else `due`'s own day (an imported or hand-edited due date off the grid)."""
    if anchor_day and add_months(due, 0, anchor_day=anchor_day) == due:
        return anchor_day
    return due.day


def period_containing(day, *, due, cycle, anchor_day=None):
    """The billing period [start, end) that contains `day`, on the grid of periods that meet at the due date
    `due` (one period is [due − one cycle, due)). `day` may be before `due` (paid-up periods), on it or after it
    (periods not paid yet: an overdue service). A one-time cycle has no period: ValueError."""
    months = CYCLE_MONTHS[BillingCycle(cycle)]
    if months is None:
        raise ValueError("A one-time service has no billing period.")
    anchor = consistent_anchor_day(due, anchor_day)
    elapsed = (day.year - due.year) * 12 + day.month - due.month
    count = elapsed // months  # the period starting `count` cycles after `due` holds `day`, give or take one
    while add_months(due, months * count, anchor_day=anchor) > day:
        count -= 1
    while add_months(due, months * (count + 1), anchor_day=anchor) <= day:
        count += 1
    return add_months(due, months * count, anchor_day=anchor), add_months(due, months * (count + 1), anchor_day=anchor)
