from decimal import Decimal

import pytest

from billing.models import (
    BillingCycle,
    ConfigurableOption,
    ConfigurableOptionChoice,
    ConfigurableOptionPrice,
    ProductPrice,
)
from portal.activity import Actor
from tests.factories import ProductFactory, StaffFactory


def priced_product(monthly="10.00", *, setup="0.00", annually=None, **kwargs):
    product = ProductFactory(**kwargs)
    ProductPrice.objects.create(product=product, cycle=BillingCycle.MONTHLY, price=Decimal(monthly), setup_fee=Decimal(setup))
    if annually:
        ProductPrice.objects.create(product=product, cycle=BillingCycle.ANNUALLY, price=Decimal(annually))
    return product


def quantity_option(product, code, unit_price, *, included=0, minimum=0, maximum=None, name=None, setup="0.00"):
    option = ConfigurableOption.objects.create(
        product=product, code=code, name=name or code.replace("_", " ").title(), kind=ConfigurableOption.Kind.QUANTITY,
        included_quantity=included, min_quantity=minimum, max_quantity=maximum,
    )
    unit = ConfigurableOptionChoice.objects.create(option=option, code="unit", label="Unit")
    ConfigurableOptionPrice.objects.create(choice=unit, cycle=BillingCycle.MONTHLY, price=Decimal(unit_price), setup_fee=Decimal(setup))
    return option


def mail_product(**kwargs):
    """Seed 003: Basic and Enhanced mailboxes mixed in one domain, each type at its own unit price."""
    product = priced_product("5.00", **kwargs)
    quantity_option(product, "mailboxes_basic", "2.00", name="Basic mailboxes", maximum=500)
    quantity_option(product, "mailboxes_enhanced", "6.00", name="Enhanced mailboxes", maximum=500)
    return product


@pytest.fixture
def system():
    return Actor.system("test")


@pytest.fixture
def staff_actor(db):
    return Actor.staff(StaffFactory(is_superuser=True))
