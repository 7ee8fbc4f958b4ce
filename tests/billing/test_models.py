"""Database-level guarantees of the billing model: the constraints that keep money right under races."""
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import IntegrityError, connection, transaction

from billing.models import AutomationSettings, NumberSequence, OverwriteRule, Payment
from billing.numbering import INVOICE_SEQUENCE, allocate_invoice_number, next_in_sequence
from tests.factories import InvoiceFactory, InvoiceItemFactory, ProductFactory, ProductGroupFactory

pytestmark = pytest.mark.django_db


def test_a_gateway_transaction_id_can_pay_only_once():
    invoice = InvoiceFactory()
    Payment.objects.create(invoice=invoice, client=invoice.client, amount="10.00", gateway="stripe", transaction_id="ch_1")
    with pytest.raises(IntegrityError), transaction.atomic():
        Payment.objects.create(invoice=invoice, client=invoice.client, amount="10.00", gateway="stripe", transaction_id="ch_1")
    # The same id from another gateway is another payment.
    Payment.objects.create(invoice=invoice, client=invoice.client, amount="1.00", gateway="paypal", transaction_id="ch_1")
    assert Payment.objects.count() == 2


def test_a_service_period_can_be_billed_only_once():
    InvoiceItemFactory(period_key="service:1:2026-12-01")
    InvoiceItemFactory(period_key=None)
    InvoiceItemFactory(period_key=None)  # many items without a period are fine
    with pytest.raises(IntegrityError), transaction.atomic():
        InvoiceItemFactory(period_key="service:1:2026-12-01")


def test_reading_automation_settings_never_writes_and_editing_stores_a_single_row():
    defaults = AutomationSettings.load()
    assert defaults.pk is None and defaults.suspend_days == 5
    assert not AutomationSettings.objects.exists()
    first = AutomationSettings.load_for_edit()
    assert AutomationSettings.load_for_edit().pk == first.pk == AutomationSettings.load().pk
    with pytest.raises(IntegrityError), transaction.atomic():
        AutomationSettings.objects.create()
    assert AutomationSettings.objects.count() == 1


def test_an_overwrite_rule_targets_exactly_one_product_or_group():
    OverwriteRule.objects.create(product=ProductFactory())
    OverwriteRule.objects.create(product_group=ProductGroupFactory())
    for bad in ({}, {"product": ProductFactory(), "product_group": ProductGroupFactory()}):
        with pytest.raises(IntegrityError), transaction.atomic():
            OverwriteRule.objects.create(**bad)


def test_invoice_numbers_follow_the_sequence_and_format(settings):
    settings.INVOICE_NUMBER_FORMAT = "INV-{year}-{seq:06d}"
    from datetime import date

    numbers = [allocate_invoice_number(on_date=date(2026, 11, 21)) for _ in range(3)]
    assert numbers == ["INV-2026-000001", "INV-2026-000002", "INV-2026-000003"]


def test_the_migration_creates_the_invoice_sequence_and_a_new_sequence_starts_at_one():
    from importlib import import_module

    from django.apps import apps

    NumberSequence.objects.filter(name=INVOICE_SEQUENCE).delete()
    import_module("billing.migrations.0003_invoice_sequence").create_invoice_sequence(apps, None)
    assert NumberSequence.objects.get(name=INVOICE_SEQUENCE).next_value == 1
    assert [next_in_sequence("fresh"), next_in_sequence("fresh")] == [1, 2]


@pytest.mark.django_db(transaction=True)
def test_concurrent_sequence_takers_never_share_a_number():
    if connection.vendor == "sqlite":
        pytest.skip("SQLite serialises writers itself; the row lock is exercised on MariaDB (CI)")
    NumberSequence.objects.create(name="race")

    def take(_):
        try:
            return next_in_sequence("race")
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=4) as pool:
        values = list(pool.map(take, range(40)))
    assert sorted(values) == list(range(1, 41))


def test_a_new_automation_settings_row_holds_a_time_for_the_daily_run():
    from datetime import time

    AutomationSettings.objects.all().delete()
    assert AutomationSettings.load().daily_run_time == time(9, 0)
