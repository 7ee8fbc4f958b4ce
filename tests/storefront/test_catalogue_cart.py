"""The public catalogue and the cart: what a visitor sees without signing in, the domain rules, a tampered
cart, and query counts that do not grow with the number of products."""
from decimal import Decimal

import pytest
from django.urls import reverse

from billing.models import ProductPrice, Service
from storefront import cart as carts
from tests.factories import PASSWORD, ClientFactory, ProductFactory, ServiceFactory
from tests.storefront.conftest import add_to_cart, priced_product

pytestmark = pytest.mark.django_db


def test_the_catalogue_shows_prices_setup_fees_included_mailboxes_and_options_without_login(client, plan):
    page = client.get("/store/")
    assert page.status_code == 200
    text = page.content.decode()
    assert "Mail Pro" in text
    assert "10.00 USD</strong> monthly" in text and "100.00 USD</strong> annually" in text
    assert "+ 5.00 setup" in text
    assert "3 basic mailboxes included" in text
    assert "Basic mailboxes:" in text and "2.00 USD each monthly" in text
    assert "Archiving:" in text and "On 3.00 USD" in text


def test_hidden_and_retired_products_are_not_in_the_catalogue_and_cannot_be_configured(client, plan):
    hidden = priced_product(name="Hidden", hidden=True)
    retired = priced_product(name="Retired", retired=True)
    text = client.get("/store/").content.decode()
    assert "Hidden" not in text and "Retired" not in text
    assert client.get(f"/store/product/{hidden.pk}/").status_code == 404
    assert client.get(f"/store/product/{retired.pk}/").status_code == 404


def test_the_visitor_picks_a_currency_among_those_the_portal_sells_in(client, plan):
    eur = priced_product(name="Mail Euro", currency="EUR", monthly="9.00", annually=None)
    page = client.get("/store/?currency=EUR").content.decode()
    assert 'value="EUR" selected' in page
    assert "Mail Euro" in page and "9.00 EUR" in page and "Mail Pro" not in page
    # an unknown currency falls back to the default one
    page = client.get("/store/?currency=XYZ").content.decode()
    assert "Mail Pro" in page and eur.name not in page


def test_the_default_cycle_is_shown_first_with_the_total_of_every_cycle(client, plan):
    plan.default_cycle = "annually"
    plan.save()
    response = client.get(f"/store/product/{plan.pk}/")
    page = response.content.decode()
    assert page.index("Annually: 100.00 USD + 5.00 setup") < page.index("Monthly: 10.00 USD + 5.00 setup")
    assert response.context["form"]["cycle"].value() == "annually"


def test_an_internationalised_domain_is_stored_in_its_ascii_form(client, plan):
    response = add_to_cart(client, plan, domain="Bücher.Example", mailboxes_basic=5)
    assert response.status_code == 302
    cart = client.session[carts.SESSION_KEY]
    assert [i["domain"] for i in cart["items"]] == ["Bücher.Example"]
    page = client.get("/store/cart/").content.decode()
    assert "Mail Pro – xn--bcher-kva.example" in page
    # 10.00 + 2 extra mailboxes × 2.00 + 5.00 setup
    assert 'data-testid="cart-total">19.00 USD' in page


@pytest.mark.parametrize("domain, message", [
    ("not a domain", "is not a valid domain name"),
    ("http://example.com", "Enter only the domain name"),
    ("localhost", "is not a valid domain name"),
])
def test_a_bad_domain_is_refused_next_to_its_field(client, plan, domain, message):
    response = add_to_cart(client, plan, domain=domain)
    assert response.status_code == 200
    assert message in response.context["form"].errors["domain"][0]
    assert carts.SESSION_KEY not in client.session or not client.session[carts.SESSION_KEY]["items"]


def test_a_domain_already_served_by_the_same_kind_of_product_is_refused(client, plan):
    ServiceFactory(domain="taken.example", product=ProductFactory())
    response = add_to_cart(client, plan, domain="taken.example")
    assert response.context["form"].errors["domain"] == [
        "taken.example already has an email hosting service. Contact support to move it."]
    add_to_cart(client, plan, domain="fresh.example")
    response = add_to_cart(client, plan, domain="FRESH.example")
    assert response.context["form"].errors["domain"] == [
        "fresh.example is already in this order with an email hosting service."]


@pytest.mark.parametrize("field, value, message", [
    ("quantity", -1, "Ensure this value is greater than or equal to 1."),
    ("quantity", 2, "A domain has one email hosting service: order 1."),
    ("option_mailboxes_basic", 51, "Ensure this value is less than or equal to 50."),
    ("option_archive", "platinum", "Select a valid choice. platinum is not one of the available choices."),
])
def test_bad_quantities_and_options_are_refused_next_to_their_field(client, plan, field, value, message):
    data = {"domain": "example.com", "cycle": "monthly", "quantity": 1, field: value}
    response = client.post(f"/store/product/{plan.pk}/", data)
    assert response.context["form"].errors[field] == [message]


def test_a_tampered_cart_is_refused_and_nothing_is_created(client, plan):
    other = priced_product(name="Other plan")
    add_to_cart(client, plan)
    session = client.session
    session[carts.SESSION_KEY]["items"].append(
        {"id": "x", "product": other.pk, "domain": "b.example", "cycle": "monthly",
         "options": {"not_an_option": 3}, "quantity": -4})
    session.save()
    page = client.get("/store/cart/")
    assert page.context["quote"] is None
    assert page.context["rows"][1][3] == ["Choose a quantity from 1 to 20.", "Unknown option(s): not_an_option."]
    # removing an item id that is not in this cart (another visitor's) changes nothing
    response = client.post("/store/cart/", {"action": "remove", "item": "someone-elses"}, follow=True)
    assert "That item is not in your cart." in response.content.decode()
    assert len(client.session[carts.SESSION_KEY]["items"]) == 2
    owner = ClientFactory()
    client.force_login(owner.owner_user)
    response = client.post("/store/checkout/", {"expected_total": "15.00"})
    assert response.status_code == 302 and response.url == reverse("storefront:cart")
    assert not Service.objects.exists()


def test_the_cart_survives_login(client, plan):
    add_to_cart(client, plan, domain="keep.example")
    owner = ClientFactory()
    response = client.post("/login/", {"username": owner.owner_user.username, "password": PASSWORD})
    assert response.status_code == 302
    assert [i["domain"] for i in client.session[carts.SESSION_KEY]["items"]] == ["keep.example"]


def _many_products(n):
    for i in range(n):
        priced_product(name=f"Plan {i}")


@pytest.mark.parametrize("products", [1, 6])
def test_the_catalogue_takes_the_same_queries_whatever_the_number_of_products(client, django_assert_num_queries, products):
    _many_products(products)
    client.get("/store/")  # the session exists
    # session, currencies, products, prices, options, choices, choice prices
    with django_assert_num_queries(7):
        assert client.get("/store/").status_code == 200


@pytest.mark.parametrize("products", [1, 6])
def test_the_cart_takes_the_same_queries_whatever_the_number_of_items(client, django_assert_num_queries, products):
    _many_products(products)
    for i, product in enumerate(ProductPrice.objects.order_by("product").values_list("product", flat=True).distinct()):
        add_to_cart(client, type("P", (), {"pk": product}), domain=f"d{i}.example")
    # session, currencies, products (+group), prices, options, choices, choice prices, live domains
    with django_assert_num_queries(8):
        page = client.get("/store/cart/")
    assert len(page.context["rows"]) == products
    assert page.context["quote"].total == Decimal("15.00") * products
