"""Money and billing periods: the two pieces of arithmetic every billing rule uses.

Amounts, their rounding and how they are shown come from portal.money (the ground floor: every app shows
money); billing adds the periods. Periods are whole calendar months counted from an anchor day, so a service registered on the 31st is due on
the last day of shorter months and on the 31st again when the month has one.
"""
import calendar
from datetime import date, timedelta
from decimal import Decimal

from billing.models import CYCLE_MONTHS, BillingCycle

MB_PER_GB = Decimal(1024)


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
