import pytest
from django.urls import reverse

from billing.models import Product
from tests.factories import ProductGroupFactory

pytestmark = pytest.mark.django_db


def product_form_data(**overrides):
    data = {
        "group": ProductGroupFactory().pk, "name": "Mail Pro", "type": "mail", "module": "smartermail",
        "module_options": "{}", "auto_accept_on_payment": "on", "sort_order": 0,
        "prices-TOTAL_FORMS": 0, "prices-INITIAL_FORMS": 0,
        "config_options-TOTAL_FORMS": 0, "config_options-INITIAL_FORMS": 0,
    }
    data.update(overrides)
    return data


def test_product_module_options_are_validated_by_the_modules_schema(client, staff_user):
    client.force_login(staff_user)
    response = client.post(reverse("admin:billing_product_add"), product_form_data(module_options='{"7": -3}'))
    assert response.status_code == 200
    assert "Option 7 (max_users)" in str(response.context["adminform"].form.errors["module_options"])
    assert not Product.objects.exists()


def test_valid_options_are_stored_by_name_with_defaults(client, staff_user):
    client.force_login(staff_user)
    response = client.post(reverse("admin:billing_product_add"), product_form_data(module_options='{"7": 25}'))
    assert response.status_code == 302, response.context["adminform"].form.errors
    options = Product.objects.get().module_options
    assert options["max_users"] == 25 and "7" not in options
    assert "delete_data_on_terminate" in options
