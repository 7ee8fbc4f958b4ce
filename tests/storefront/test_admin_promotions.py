"""Staff create a promotion on its admin page: the code is stored upper case, the cycles ticked become its
cycle restriction, and the save is audited."""
from decimal import Decimal

import pytest

from billing.models import Promotion
from portal.models import ActivityLog
from tests.storefront.conftest import priced_product

pytestmark = pytest.mark.django_db


def test_staff_add_a_restricted_promotion(admin_client):
    plan = priced_product()
    response = admin_client.post("/admin/billing/promotion/add/", {
        "code": "spring", "active": "on", "kind": "fixed", "value": "5.00", "products": [plan.pk],
        "cycles": ["annually"], "max_uses": "100", "max_uses_per_client": "1", "notes": "",
    })
    assert response.status_code == 302, response.context["adminform"].form.errors
    promotion = Promotion.objects.get()
    assert (promotion.code, promotion.value, promotion.cycles, promotion.max_uses) == (
        "SPRING", Decimal("5.00"), ["annually"], 100)
    assert list(promotion.products.all()) == [plan]
    assert ActivityLog.objects.filter(action__startswith="promotion").exists()


def test_a_percentage_above_100_is_refused_next_to_the_value(admin_client):
    response = admin_client.post("/admin/billing/promotion/add/", {
        "code": "TOOMUCH", "active": "on", "kind": "percent", "value": "150", "notes": ""})
    assert response.context["adminform"].form.errors["value"] == ["A percentage is at most 100."]
