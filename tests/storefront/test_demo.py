"""The demo offers the storefront's promotion (storefront.demo): WELCOME10, 10 % off a new client's first payment,
created once however often the demo is loaded."""
from decimal import Decimal

import pytest

from billing.models import Promotion
from config import demo

pytestmark = pytest.mark.django_db


def test_the_demo_has_one_welcome_promotion_for_new_clients_after_loading_twice():
    demo.load_demo()
    demo.load_demo()
    promotion = Promotion.objects.get()
    assert (promotion.code, promotion.kind, promotion.value, promotion.recurring, promotion.new_clients_only,
            promotion.active, promotion.uses) == ("WELCOME10", Promotion.Kind.PERCENT, Decimal("10"), False, True, True, 0)
