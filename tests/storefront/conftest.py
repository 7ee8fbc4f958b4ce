"""Storefront fixtures: a mail plan with per-type mailbox options priced in two currencies, and helpers that go
through the public pages with Django's test client."""
from decimal import Decimal

import pytest
from django.core.cache import cache

from billing.models import ConfigurableOption, ConfigurableOptionChoice, ConfigurableOptionPrice, ProductPrice
from tests.factories import ProductFactory, ProductGroupFactory


def priced_product(*, name="Mail Pro", group=None, monthly="10.00", annually="100.00", setup="5.00", currency="USD",
                   mailbox_price="2.00", **fields):
    """A mail product (no provisioning module: Create only changes the state) with monthly and annual prices,
    a setup fee, and a quantity option `mailboxes_basic` (3 included, up to 50) and a select option `archive`."""
    product = ProductFactory(name=name, group=group or ProductGroupFactory(name=f"Email {name}"), **fields)
    for cycle, amount in (("monthly", monthly), ("annually", annually)):
        if amount is not None:
            ProductPrice.objects.create(product=product, currency=currency, cycle=cycle, price=Decimal(amount),
                                        setup_fee=Decimal(setup))
    mailboxes = ConfigurableOption.objects.create(
        product=product, code="mailboxes_basic", name="Basic mailboxes", kind=ConfigurableOption.Kind.QUANTITY,
        min_quantity=1, max_quantity=50, included_quantity=3)
    unit = ConfigurableOptionChoice.objects.create(option=mailboxes, code="unit", label="Mailbox")
    archive = ConfigurableOption.objects.create(product=product, code="archive", name="Archiving",
                                                kind=ConfigurableOption.Kind.SELECT, sort_order=1)
    off = ConfigurableOptionChoice.objects.create(option=archive, code="off", label="Off")
    on = ConfigurableOptionChoice.objects.create(option=archive, code="on", label="On", sort_order=1)
    for cycle, factor in (("monthly", 1), ("annually", 10)):
        ConfigurableOptionPrice.objects.create(choice=unit, currency=currency, cycle=cycle,
                                               price=Decimal(mailbox_price) * factor)
        ConfigurableOptionPrice.objects.create(choice=off, currency=currency, cycle=cycle, price=Decimal("0"))
        ConfigurableOptionPrice.objects.create(choice=on, currency=currency, cycle=cycle, price=Decimal("3.00") * factor)
    return product


@pytest.fixture(autouse=True)
def _fresh_rate_counters():
    """The sign-up and checkout counters live in the cache, which outlives a test."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def plan(db):
    return priced_product()


def add_to_cart(client, product, *, domain="example.com", cycle="monthly", quantity=1, **options):
    data = {"domain": domain, "cycle": cycle, "quantity": quantity,
            **{f"option_{code}": value for code, value in options.items()}}
    return client.post(f"/store/product/{product.pk}/", data)


def signup_data(**overrides):
    return {"first_name": "Ada", "last_name": "Lovelace", "company_name": "", "email": "ada@example.org",
            "address1": "1 Main St", "city": "Toronto", "state": "ON", "postcode": "M5V 1A1", "country": "CA",
            "password1": "Correct-Horse-42", "password2": "Correct-Horse-42", "accept_terms": "on", "website": "",
            **overrides}
