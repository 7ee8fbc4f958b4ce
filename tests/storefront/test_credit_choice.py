"""Credit at checkout is the client's choice (default: the saved preference), and credit that prepaid VoIP calls
need is not spent on an order without an explicit confirmation."""
from decimal import Decimal

import pytest

from billing.models import Invoice, Order
from billing.services.ledger import credit_adjust
from portal.activity import Actor
from storefront.credit import credit_advice
from tests.factories import ClientFactory
from tests.storefront.conftest import add_to_cart
from tests.voip.factories import VoipServiceFactory

pytestmark = pytest.mark.django_db
SYSTEM = Actor.system("tests")


def client_with_credit(amount, **fields):
    owner = ClientFactory(**fields)
    credit_adjust(client=owner, amount=amount, reason="top-up", actor=SYSTEM)
    owner.refresh_from_db()
    return owner


def signed_in_with_cart(client, owner, plan):
    client.force_login(owner.owner_user)
    add_to_cart(client, plan)
    return client.get("/store/checkout/")


def test_the_checkout_shows_the_credit_and_preselects_the_saved_preference(client, plan):
    owner = client_with_credit("40.00", apply_credit_to_invoices=False)
    page = signed_in_with_cart(client, owner, plan)
    assert "Available credit: <strong>40.00 USD</strong> (up to 15.00 would go to this order)" in page.content.decode()
    assert page.context["form"]["use_credit"].value() is False


def test_declining_the_credit_leaves_it_and_the_invoice_unpaid(client, plan):
    owner = client_with_credit("40.00", apply_credit_to_invoices=True)
    signed_in_with_cart(client, owner, plan)
    client.post("/store/checkout/", {"expected_total": "15.00"})  # use_credit unticked
    invoice = Order.objects.get().invoice
    assert (invoice.status, invoice.credit_applied) == (Invoice.Status.UNPAID, Decimal("0.00"))
    owner.refresh_from_db()
    assert owner.credit_balance == Decimal("40.00")


def test_choosing_the_credit_uses_it_even_against_the_saved_preference(client, plan):
    owner = client_with_credit("10.00", apply_credit_to_invoices=False)
    signed_in_with_cart(client, owner, plan)
    client.post("/store/checkout/", {"expected_total": "15.00", "use_credit": "on"})
    invoice = Order.objects.get().invoice
    assert (invoice.credit_applied, invoice.balance) == (Decimal("10.00"), Decimal("5.00"))


def test_credit_below_the_low_balance_threshold_needs_a_confirmation(client, plan):
    owner = client_with_credit("20.00", low_balance_threshold=Decimal("10.00"))
    page = signed_in_with_cart(client, owner, plan)
    assert ("Using 15.00 USD of credit leaves 5.00 USD, at or below your low-balance threshold of 10.00 USD."
            in page.content.decode())
    response = client.post("/store/checkout/", {"expected_total": "15.00", "use_credit": "on"})
    assert response.context["form"].errors["confirm_credit"] == [
        "Tick this to use the credit anyway, or untick 'Use my account credit'."]
    assert not Order.objects.exists()
    client.post("/store/checkout/", {"expected_total": "15.00", "use_credit": "on", "confirm_credit": "on"})
    assert Order.objects.get().invoice.credit_applied == Decimal("15.00")


def test_credit_that_a_prepaid_voip_service_needs_is_flagged_before_autosuspend_would_act(plan):
    owner = client_with_credit("15.00", has_voip_service=True)
    VoipServiceFactory(client=owner)
    advice = credit_advice(owner, Decimal("15.00"))
    assert advice.needs_confirmation
    assert advice.warnings == ["Your VoIP service pays for calls from this credit: with 0.00 USD left it would be "
                               "suspended automatically until you add funds."]
    # the same client spending only part of it keeps the service safe
    assert credit_advice(owner, Decimal("5.00")).warnings == []


def test_without_voip_or_threshold_no_warning(plan):
    assert credit_advice(client_with_credit("15.00"), Decimal("15.00")).warnings == []
