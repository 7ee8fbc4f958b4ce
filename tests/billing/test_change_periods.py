"""Issue 13 item 2: an upgrade quote always states the service's real billing period ("12 of 30", never "0 of 0"),
derived from the next due date and the billing cycle — period = [next due − one cycle, next due) — for every cycle,
for a service paid further ahead, due today, overdue (invoiced or not), and with a due date off its anchor day."""
from datetime import date
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from billing.models import BillingCycle, Invoice, InvoiceItem, ProductPrice
from billing.money import period_containing, period_key
from billing.services.changes import change_quote, current_period
from tests.factories import InvoiceFactory, ProductFactory, ServiceFactory

pytestmark = pytest.mark.django_db

TODAY = date(2026, 12, 7)
MONTHS = {"monthly": 1, "quarterly": 3, "semiannually": 6, "annually": 12}


def plans():
    """Two products priced 10.00 and 20.00 a month in every cycle (per cycle: × its months)."""
    small, big = ProductFactory(name="Small"), ProductFactory(name="Big")
    for product, monthly in ((small, 10), (big, 20)):
        ProductPrice.objects.bulk_create(
            [ProductPrice(product=product, cycle=cycle, price=Decimal(monthly * months)) for cycle, months in MONTHS.items()]
        )
    return small, big


def service_on(cycle, *, due, registered=None, recurring=None):
    small, big = plans()
    service = ServiceFactory(
        product=small, billing_cycle=cycle, next_due_date=due, registration_date=registered or due.replace(year=due.year - 1),
        recurring_amount=recurring if recurring is not None else Decimal(10 * MONTHS.get(cycle, 1)),
    )
    return service, big


def invoice_period(service, start, end_inclusive, status=Invoice.Status.UNPAID):
    invoice = InvoiceFactory(client=service.client, status=status)
    InvoiceItem.objects.create(
        invoice=invoice, service=service, kind=InvoiceItem.Kind.SERVICE, description="period", amount=service.recurring_amount,
        period_start=start, period_end=end_inclusive, period_key=period_key(service.pk, start),
    )


@pytest.mark.parametrize(
    "cycle, start, days_in_period, amount",
    [
        # due 2026-12-19, 12 days left; the difference per period is 10.00 × months
        ("monthly", date(2026, 11, 19), 30, Decimal("4.00")),  # 10 × 12/30
        ("quarterly", date(2026, 9, 19), 91, Decimal("3.96")),  # 30 × 12/91 = 3.956…
        ("semiannually", date(2026, 6, 19), 183, Decimal("3.93")),  # 60 × 12/183 = 3.934…
        ("annually", date(2025, 12, 19), 365, Decimal("3.95")),  # 120 × 12/365 = 3.945…
    ],
)
def test_the_period_is_one_cycle_before_the_next_due_date_in_every_cycle(cycle, start, days_in_period, amount):
    service, big = service_on(cycle, due=date(2026, 12, 19))
    quote = change_quote(service=service, product=big, today=TODAY)
    assert (quote.period_start, quote.period_end, quote.days_left, quote.days_in_period) == (start, date(2026, 12, 19), 12, days_in_period)
    assert (quote.period_billed, quote.periods_ahead, quote.amount) == (True, 0, amount)
    assert quote.period_text == f"12 of {days_in_period} days left in the period {start} – 2026-12-18"


def test_a_service_paid_beyond_this_period_counts_this_period_and_the_paid_one_after_it():
    # The demo's Mail Basic shape: monthly, paid up to 2027-01-16 (40 days ahead). Was "0 of 0" and 0.00.
    service, big = service_on("monthly", due=date(2027, 1, 16))
    quote = change_quote(service=service, product=big, today=TODAY)
    assert (quote.period_start, quote.period_end, quote.days_left, quote.days_in_period) == (date(2026, 11, 16), date(2026, 12, 16), 9, 30)
    # 10.00 × 9/30 + 10.00 × 31/31 (the paid period 12-16 → 01-16 starts after today)
    assert (quote.periods_ahead, quote.amount) == (1, Decimal("13.00"))


@pytest.mark.parametrize("cycle, end, days_in_period", [("monthly", date(2027, 1, 4), 31), ("annually", date(2027, 12, 4), 365)])
def test_an_overdue_service_whose_period_is_invoiced_is_prorated_from_today(cycle, end, days_in_period):
    service, big = service_on(cycle, due=date(2026, 12, 4))
    invoice_period(service, date(2026, 12, 4), end.replace(day=3))
    quote = change_quote(service=service, product=big, today=TODAY)
    assert (quote.period_start, quote.period_end, quote.days_left, quote.days_in_period) == (date(2026, 12, 4), end, (end - TODAY).days, days_in_period)
    months = MONTHS[cycle]
    assert quote.period_billed is True
    assert quote.amount == (Decimal(10 * months) * (end - TODAY).days / days_in_period).quantize(Decimal("0.01"))


def test_an_overdue_service_not_invoiced_states_its_period_and_prorates_nothing():
    service, big = service_on("monthly", due=date(2026, 10, 4))  # two periods behind, nothing invoiced
    quote = change_quote(service=service, product=big, today=TODAY)
    assert (quote.period_start, quote.period_end, quote.days_left, quote.days_in_period) == (date(2026, 12, 4), date(2027, 1, 4), 28, 31)
    assert (quote.period_billed, quote.periods_ahead, quote.amount) == (False, 0, Decimal("0.00"))
    assert quote.period_text == ("28 of 31 days left in the period 2026-12-04 – 2027-01-03 (not invoiced yet: its invoice "
                                 "will bill the new price, so nothing is prorated for it)")


def test_a_service_due_today_has_its_whole_period_left():
    service, big = service_on("quarterly", due=TODAY)
    invoice_period(service, TODAY, date(2027, 3, 6))
    quote = change_quote(service=service, product=big, today=TODAY)
    assert (quote.period_start, quote.period_end, quote.days_left, quote.days_in_period) == (TODAY, date(2027, 3, 7), 90, 90)
    assert quote.amount == Decimal("30.00")


def test_a_due_date_on_the_31st_keeps_its_anchor_and_one_off_its_registration_day_uses_its_own_day():
    service, big = service_on("monthly", due=date(2026, 12, 31), registered=date(2026, 1, 31))
    quote = change_quote(service=service, product=big, today=TODAY)
    assert (quote.period_start, quote.period_end, quote.days_left, quote.days_in_period) == (date(2026, 11, 30), date(2026, 12, 31), 24, 31)
    # Registered on the 15th, due date moved by hand to the 20th: the period is the 20th's, not 11-15 → 12-20.
    service, big = service_on("monthly", due=date(2026, 12, 20), registered=date(2025, 6, 15))
    quote = change_quote(service=service, product=big, today=TODAY)
    assert (quote.period_start, quote.period_end, quote.days_left, quote.days_in_period) == (date(2026, 11, 20), date(2026, 12, 20), 13, 30)


def test_an_invoice_line_of_another_cycle_is_not_counted_twice():
    # Switched by staff from monthly to annually: the paid monthly line lies inside the annual paid-up period.
    service, big = service_on("annually", due=date(2026, 12, 19))
    invoice_period(service, date(2026, 11, 19), date(2026, 12, 18), status=Invoice.Status.PAID)
    quote = change_quote(service=service, product=big, today=TODAY)
    assert (quote.days_left, quote.days_in_period, quote.periods_ahead, quote.amount) == (12, 365, 0, Decimal("3.95"))


def test_without_a_next_due_date_the_quote_says_in_words_that_nothing_is_prorated():
    service, big = service_on("monthly", due=None, registered=date(2026, 1, 1))
    quote = change_quote(service=service, product=big, today=TODAY)
    assert (quote.period_start, quote.days_left, quote.days_in_period, quote.amount) == (None, 0, 0, Decimal("0.00"))
    assert quote.period_text == ("no proration: the service has no next due date, so no period is paid; the new price "
                                 "applies from its next invoice")
    assert current_period(service, TODAY) is None


def test_a_one_time_service_is_refused_in_words():
    service, big = service_on(BillingCycle.ONETIME, due=None, registered=date(2026, 1, 1), recurring=Decimal("0.00"))
    with pytest.raises(ValidationError, match="A one-time service has no period to prorate"):
        change_quote(service=service, product=big, today=TODAY)


@pytest.mark.parametrize("day", [date(2026, 1, 1), date(2026, 12, 6), date(2026, 12, 7), date(2027, 3, 1), date(2030, 7, 15)])
@pytest.mark.parametrize("cycle", list(MONTHS))
def test_period_containing_holds_the_day_and_meets_the_due_date_grid(day, cycle):
    start, end = period_containing(day, due=date(2026, 12, 7), cycle=cycle, anchor_day=7)
    assert start <= day < end and start.day == end.day == 7
    assert (end.year * 12 + end.month) - (start.year * 12 + start.month) == MONTHS[cycle]
