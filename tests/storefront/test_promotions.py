"""Every promotion rule, through billing's order path (quote_order / order_place) and the cart's code field."""
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from billing.models import InvoiceItem, Order, Promotion, Service
from billing.services.orders import OrderItem, order_place, quote_order
from portal.activity import Actor
from tests.factories import ClientFactory, ServiceFactory
from tests.storefront.conftest import add_to_cart, priced_product

pytestmark = pytest.mark.django_db
SYSTEM = Actor.system("tests")


def promo(**fields):
    defaults = {"code": "SAVE20", "kind": Promotion.Kind.PERCENT, "value": Decimal("20")}
    return Promotion.objects.create(**{**defaults, **fields})


def item(product, domain="example.com", cycle="monthly", **options):
    return OrderItem(product.pk, domain, cycle, options)


def place(client, items, promotion):
    return order_place(client=client, items=items, actor=SYSTEM, promotion=promotion)


def refused(client, items, promotion):
    with pytest.raises(ValidationError) as exc:
        place(client, items, promotion)
    return exc.value.message_dict["promotion"]


def test_a_percent_first_payment_promotion_discounts_the_first_invoice_only(plan):
    client = ClientFactory()
    result = place(client, [item(plan)], promo())
    lines = list(result.invoice.items.values_list("kind", "description", "amount"))
    assert lines[-1] == (InvoiceItem.Kind.DISCOUNT, "Promotion SAVE20 (first payment) – Mail Pro – example.com",
                         Decimal("-2.00"))
    assert result.invoice.total == Decimal("13.00")  # 10.00 + 5.00 setup − 20 % of 10.00
    service = result.service
    assert (service.recurring_amount, service.first_payment_amount) == (Decimal("10.00"), Decimal("13.00"))
    assert result.order.promotion.code == "SAVE20" and result.order.discount == Decimal("2.00")


def test_a_recurring_fixed_amount_promotion_lowers_the_renewals_too(plan):
    result = place(ClientFactory(), [item(plan)], promo(kind=Promotion.Kind.FIXED, value=Decimal("4.00"), recurring=True))
    assert result.invoice.total == Decimal("11.00")
    assert result.service.recurring_amount == Decimal("6.00")
    assert result.service.promotion.code == "SAVE20"


def test_a_fixed_amount_never_takes_an_item_below_zero(plan):
    result = place(ClientFactory(), [item(plan)], promo(kind=Promotion.Kind.FIXED, value=Decimal("50.00")))
    assert result.invoice.total == Decimal("5.00")  # the setup fee, which the code does not discount


def test_the_setup_fee_is_discounted_only_when_the_promotion_says_so(plan):
    result = place(ClientFactory(), [item(plan)], promo(value=Decimal("100"), applies_to_setup=True))
    assert result.invoice.total == Decimal("0.00")


def test_a_product_restriction_discounts_only_those_products_and_refuses_a_cart_without_them(plan):
    other = priced_product(name="Other")
    restricted = promo()
    restricted.products.set([other])
    assert refused(ClientFactory(), [item(plan)], restricted) == ["The code SAVE20 does not apply to anything in this order."]
    quote = quote_order(items=[item(plan, "a.example"), item(other, "b.example")], currency="USD", promotion=restricted)
    assert [p.discount.total for p in quote.items] == [Decimal("0.00"), Decimal("2.00")]


def test_a_cycle_restriction(plan):
    annual_only = promo(cycles=["annually"])
    assert refused(ClientFactory(), [item(plan)], annual_only) == ["The code SAVE20 does not apply to anything in this order."]
    assert place(ClientFactory(), [item(plan, cycle="annually")], annual_only).order.discount == Decimal("20.00")


def test_start_and_end_dates(plan):
    now = timezone.now()
    assert refused(ClientFactory(), [item(plan)], promo(code="SOON", starts_at=now + timedelta(days=1))) == \
        ["The code SOON is not valid yet."]
    assert refused(ClientFactory(), [item(plan)], promo(code="OLD", ends_at=now - timedelta(seconds=1))) == \
        ["The code OLD has expired."]
    assert refused(ClientFactory(), [item(plan)], promo(code="OFF", active=False)) == ["The code OFF is no longer valid."]


def test_maximum_uses_overall_counted_once_per_order(plan):
    limited = promo(max_uses=1)
    place(ClientFactory(), [item(plan, "a.example"), item(plan, "b.example")], limited)
    limited.refresh_from_db()
    assert limited.uses == 1
    assert refused(ClientFactory(), [item(plan, "c.example")], limited) == ["The code SAVE20 has been used up."]


def test_maximum_uses_per_client(plan):
    once = promo(max_uses_per_client=1)
    client = ClientFactory()
    place(client, [item(plan, "a.example")], once)
    assert refused(client, [item(plan, "b.example")], once) == ["You have already used the code SAVE20 once."]
    assert place(ClientFactory(), [item(plan, "c.example")], once).order.promotion == once


def test_new_clients_only(plan):
    newcomers = promo(new_clients_only=True)
    existing = ClientFactory()
    ServiceFactory(client=existing)
    assert refused(existing, [item(plan)], newcomers) == ["The code SAVE20 is for new clients only."]
    assert place(ClientFactory(), [item(plan, "new.example")], newcomers).order.discount == Decimal("2.00")


def test_a_refused_promotion_creates_nothing(plan):
    refused(ClientFactory(), [item(plan)], promo(max_uses=0))
    assert not Order.objects.exists() and not Service.objects.exists()


def test_the_cart_applies_a_code_and_shows_the_discount(client, plan):
    promo()
    add_to_cart(client, plan)
    client.post("/store/cart/", {"action": "promotion", "code": "save20"})
    page = client.get("/store/cart/").content.decode()
    assert "− 2.00 promotion" in page and 'data-testid="cart-total">13.00 USD' in page
    response = client.post("/store/cart/", {"action": "promotion", "code": "NOPE"})
    assert response.context["promotion_form"].errors["code"] == ["The code 'NOPE' is not a valid promotion code."]


def test_the_cart_says_why_a_code_does_not_apply_and_keeps_the_items(client, plan):
    promo(cycles=["annually"])
    add_to_cart(client, plan)
    client.post("/store/cart/", {"action": "promotion", "code": "SAVE20"})
    page = client.get("/store/cart/")
    assert page.context["promotion_form"].errors["code"] == ["The code SAVE20 does not apply to anything in this order."]
    assert page.context["quote"].total == Decimal("15.00")


def test_staff_see_usage_counts(admin_client, plan):
    limited = promo(max_uses=5)
    place(ClientFactory(), [item(plan, "a.example")], limited)
    page = admin_client.get("/admin/billing/promotion/").content.decode()
    assert "1 / 5 (1)" in page and "20 % · first payment" in page and "every product · every cycle" in page
