"""Currencies whose amounts do not have two decimals at the gateway: a three-decimal currency (KWD) is charged
exactly (billing's two decimals are always whole fils; the fee is kept to two places); an invoice in a currency
with no decimals (JPY) whose balance has cents cannot be paid online — the pay button, the payment page, the
automatic charge and a direct charge all refuse it with the reason, and nothing reaches the gateway."""
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from billing.models import Invoice, Payment
from payments import services
from payments.models import ChargeAttempt
from tests.payments.conftest import unpaid_invoice
from tests.payments.test_saved_cards import saved_card

pytestmark = pytest.mark.django_db

REFUSAL = ("cannot be paid online: JPY amounts have no decimals, and its balance of 1332.72 JPY would have to be "
           "rounded. Please pay it by bank transfer, or contact us to correct the invoice.")


def due(owner, total, currency):
    invoice = unpaid_invoice(owner, total, currency=currency)
    Invoice.objects.filter(pk=invoice.pk).update(due_date=timezone.localdate() - timedelta(days=1))
    invoice.refresh_from_db()
    return invoice


def test_a_kwd_invoice_is_charged_exactly_in_fils(owner, stripe_enabled, stripe_sim):
    saved_card(owner, stripe_sim, "4242424242424242")
    invoice = due(owner, "12.35", "KWD")
    assert services.charge_due_invoices() == {"succeeded": 1}
    (intent,) = stripe_sim.intents.values()
    assert (intent["amount"], intent["currency"]) == (12350, "kwd")
    payment = Payment.objects.get()
    # Stripe's fee: 2.9 % of 12,350 fils + 30 = 388 fils, kept to two places half up
    assert (payment.amount, payment.currency, payment.fees) == (Decimal("12.35"), "KWD", Decimal("0.39"))
    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.PAID


def test_a_jpy_invoice_with_cents_offers_no_pay_button_but_says_why(signed_in, owner, stripe_enabled, stripe_sim):
    invoice = unpaid_invoice(owner, "1332.72", currency="JPY")
    page = signed_in.get(reverse("clientarea:invoice", args=[invoice.pk]))
    assert b'data-gateway="stripe"' not in page.content
    assert f"Invoice {invoice} {REFUSAL}".encode() in page.content
    pay_page = signed_in.get(reverse("clientarea:invoice_pay", args=[invoice.pk, "stripe"]))
    assert b"Continue to payment" not in pay_page.content and REFUSAL.encode() in pay_page.content


def test_paying_a_jpy_invoice_with_cents_is_refused_and_nothing_reaches_stripe(signed_in, owner, stripe_enabled,
                                                                               stripe_sim):
    invoice = unpaid_invoice(owner, "1332.72", currency="JPY")
    answer = signed_in.post(reverse("clientarea:invoice_pay", args=[invoice.pk, "stripe"]), follow=True)
    assert answer.redirect_chain[-1][0] == reverse("clientarea:invoice", args=[invoice.pk])
    assert REFUSAL.encode() in answer.content
    assert not ChargeAttempt.objects.exists() and not stripe_sim.sessions


def test_a_jpy_invoice_with_cents_is_not_charged_automatically(owner, stripe_enabled, stripe_sim):
    saved_card(owner, stripe_sim, "4242424242424242")
    invoice = due(owner, "1332.72", "JPY")
    assert services.charge_due_invoices() == {"not chargeable": 1}
    with pytest.raises(ValidationError) as refused:
        services.charge_saved_method(invoice=invoice, actor=services.Actor.system("test"))
    assert refused.value.messages == [f"Invoice {invoice} {REFUSAL}"]
    assert not ChargeAttempt.objects.exists() and not stripe_sim.intents


def test_a_whole_yen_invoice_is_charged(owner, stripe_enabled, stripe_sim):
    saved_card(owner, stripe_sim, "4242424242424242")
    due(owner, "1332.00", "JPY")
    assert services.charge_due_invoices() == {"succeeded": 1}
    (intent,) = stripe_sim.intents.values()
    assert (intent["amount"], intent["currency"]) == (1332, "jpy")
