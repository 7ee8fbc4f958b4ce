"""The client area's order form: its billing cycle defaults to the product's first cycle in WHMCS's order (monthly,
quarterly, semi-annually, annually, one time), and its messages read as English ("an email hosting service")."""
import re
from decimal import Decimal

import pytest
from django.urls import reverse

from billing.models import BillingCycle, Product, ProductPrice, Service
from tests.factories import ProductFactory, ServiceFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def signed_in(client, owner):
    client.force_login(owner.owner_user)
    return client


def product_with_prices(*cycles, **fields):
    """A product whose prices are created in the given order (the order a database may return them in)."""
    product = ProductFactory(**fields)
    for n, cycle in enumerate(cycles):
        ProductPrice.objects.create(product=product, cycle=cycle, price=Decimal(10 + n))
    return product


def cycle_options(response):
    html = response.content.decode()
    select = re.search(r'<select name="cycle".*?</select>', html, re.DOTALL).group(0)
    return re.findall(r'<option value="(\w+)"( selected)?', select)


def test_the_order_form_preselects_the_monthly_cycle_and_lists_cycles_shortest_first(signed_in):
    product = product_with_prices(BillingCycle.ANNUALLY, BillingCycle.QUARTERLY, BillingCycle.MONTHLY)
    page = signed_in.get(reverse("clientarea:order") + f"?product={product.pk}")
    assert page.context["form"]["cycle"].value() == "monthly"
    assert cycle_options(page) == [("monthly", " selected"), ("quarterly", ""), ("annually", "")]


def test_without_a_monthly_price_the_first_offered_cycle_is_preselected(signed_in):
    product = product_with_prices(BillingCycle.ONETIME, BillingCycle.ANNUALLY, BillingCycle.SEMIANNUALLY)
    page = signed_in.get(reverse("clientarea:order") + f"?product={product.pk}")
    assert cycle_options(page) == [("semiannually", " selected"), ("annually", ""), ("onetime", "")]


@pytest.mark.parametrize(("kind", "message"), [
    (Product.Type.MAIL, "taken.example already has an email hosting service. Contact support to move it."),
    (Product.Type.VOIP, "taken.example already has a VoIP service. Contact support to move it."),
])
def test_ordering_for_a_domain_that_has_the_type_already_uses_the_right_article(signed_in, kind, message):
    product = product_with_prices(BillingCycle.MONTHLY, type=kind)
    ServiceFactory(product=product, domain="taken.example", status=Service.Status.ACTIVE)
    response = signed_in.post(reverse("clientarea:order"), {"product": product.pk, "domain": "taken.example",
                                                            "cycle": "monthly", "action": "order"})
    assert response.status_code == 200
    assert response.context["form"].errors == {"domain": [message]}
