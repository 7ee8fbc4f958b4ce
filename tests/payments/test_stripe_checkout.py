"""Paying an invoice through Stripe Checkout on the simulator: the return page confirms with Stripe, the signed
webhooks record the payment whichever arrives first, and either way there is one payment."""
from decimal import Decimal

import pytest
from django.urls import reverse

from billing.models import Invoice, Payment
from payments.models import ChargeAttempt, GatewayEvent
from portal.models import ActivityLog
from tests.billing.conftest import mail_product
from tests.payments.conftest import deliver, return_to_portal, start_checkout, unpaid_invoice

pytestmark = pytest.mark.django_db


def test_invoice_page_offers_pay_now_with_each_enabled_gateway(signed_in, owner, stripe_enabled):
    invoice = unpaid_invoice(owner)
    page = signed_in.get(reverse("clientarea:invoice", args=[invoice.pk]))
    assert b'data-gateway="stripe"' in page.content
    assert b"Pay now 25.00 USD \xe2\x80\x94 Card" in page.content


def test_no_pay_now_when_the_gateway_is_disabled_or_the_invoice_paid(signed_in, owner, stripe_enabled):
    invoice = unpaid_invoice(owner)
    stripe_enabled.enabled = False
    stripe_enabled.save()
    assert b'data-gateway="stripe"' not in signed_in.get(reverse("clientarea:invoice", args=[invoice.pk])).content
    stripe_enabled.enabled = True
    stripe_enabled.save()
    Invoice.objects.filter(pk=invoice.pk).update(status=Invoice.Status.PAID)
    assert b'data-gateway="stripe"' not in signed_in.get(reverse("clientarea:invoice", args=[invoice.pk])).content
    refused = signed_in.post(reverse("clientarea:invoice_pay", args=[invoice.pk, "stripe"]))
    assert refused.status_code == 302 and refused["Location"] == reverse("clientarea:invoice", args=[invoice.pk])
    assert not ChargeAttempt.objects.exists()


def test_checkout_session_asks_stripe_for_the_balance_in_minor_units(signed_in, owner, stripe_enabled, stripe_sim):
    invoice = unpaid_invoice(owner, "25.00")
    session_id = start_checkout(signed_in, invoice)
    session = stripe_sim.sessions[session_id]
    assert (session["amount_total"], session["currency"], session["metadata"]["invoice_id"]) == (2500, "usd", str(invoice.pk))
    attempt = ChargeAttempt.objects.get()
    assert (attempt.reference, attempt.status, attempt.amount) == (session_id, "pending", Decimal("25.00"))


def test_return_first_then_webhooks_record_one_payment(signed_in, client, owner, stripe_enabled, stripe_sim):
    invoice = unpaid_invoice(owner, "25.00")
    session_id = start_checkout(signed_in, invoice)
    result = stripe_sim.pay(session_id, card="4242424242424242")
    assert result["error"] == ""
    back = return_to_portal(signed_in, result["redirect"])
    assert back.status_code == 200 and f"Thank you: invoice {invoice} is paid.".encode() in back.content
    invoice.refresh_from_db()
    assert (invoice.status, invoice.amount_paid) == (Invoice.Status.PAID, Decimal("25.00"))
    answers = [deliver(client, payload, header) for _, payload, header in stripe_sim.outbox]
    assert [(a.status_code, a.content) for a in answers] == [(200, b"Payment already recorded")] * 2
    payment = Payment.objects.get()
    intent = stripe_sim.intents[stripe_sim.sessions[session_id]["payment_intent"]]
    assert (payment.gateway, payment.transaction_id, payment.amount) == ("stripe", intent["id"], Decimal("25.00"))
    assert payment.fees == Decimal("1.03")  # the simulator's 2.9 % + 0.30, as Stripe reports it
    assert sorted(GatewayEvent.objects.values_list("type", "outcome")) == [
        ("checkout.session.completed", "already"), ("payment_intent.succeeded", "already")]
    assert ChargeAttempt.objects.get().status == ChargeAttempt.Status.SUCCEEDED


def test_webhook_first_then_return_records_one_payment(signed_in, client, owner, stripe_enabled, stripe_sim):
    invoice = unpaid_invoice(owner, "25.00")
    session_id = start_checkout(signed_in, invoice)
    result = stripe_sim.pay(session_id)
    first = stripe_sim.events_of("checkout.session.completed")[0]
    assert deliver(client, first[1], first[2]).status_code == 200
    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.PAID
    back = return_to_portal(signed_in, result["redirect"])
    assert back.status_code == 200 and b"is paid" in back.content
    for _, payload, header in stripe_sim.events_of("payment_intent.succeeded"):
        assert deliver(client, payload, header).status_code == 200
    assert Payment.objects.count() == 1
    assert GatewayEvent.objects.get(type="checkout.session.completed").outcome == "paid"
    page = signed_in.get(reverse("clientarea:invoice", args=[invoice.pk]))
    assert b'data-gateway="stripe"' not in page.content


def test_declined_card_leaves_the_invoice_unpaid_and_the_attempt_failed(signed_in, client, owner, stripe_enabled,
                                                                        stripe_sim):
    invoice = unpaid_invoice(owner)
    session_id = start_checkout(signed_in, invoice)
    result = stripe_sim.pay(session_id, card="4000000000009995")
    assert result == {"error": "Your card has insufficient funds.", "redirect": ""}
    _, payload, header = stripe_sim.events_of("payment_intent.payment_failed")[0]
    assert deliver(client, payload, header).status_code == 200
    attempt = ChargeAttempt.objects.get()
    assert (attempt.status, attempt.reason) == (ChargeAttempt.Status.FAILED, "insufficient_funds")
    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.UNPAID and not Payment.objects.exists()
    # the client tries again with a good card on the same page: the invoice is paid
    assert stripe_sim.pay(session_id, card="4242424242424242")["error"] == ""
    for _, payload, header in stripe_sim.events_of("checkout.session.completed"):
        deliver(client, payload, header)
    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.PAID


def test_return_before_paying_shows_pending_and_records_nothing(signed_in, owner, stripe_enabled, stripe_sim):
    invoice = unpaid_invoice(owner)
    session_id = start_checkout(signed_in, invoice)
    back = signed_in.get(reverse("clientarea:payment_return") + f"?gateway=stripe&session_id={session_id}")
    assert back.status_code == 200 and b"The payment is not complete yet" in back.content
    assert b'data-gateway="stripe"' in back.content  # the client can try again from there
    assert not Payment.objects.exists()


def test_another_clients_session_is_not_confirmed(signed_in, client, owner, other_client, stripe_enabled, stripe_sim):
    theirs = unpaid_invoice(other_client)
    client.force_login(other_client.owner_user)
    session_id = start_checkout(client, theirs)
    client.force_login(owner.owner_user)
    stripe_sim.pay(session_id)
    back = client.get(reverse("clientarea:payment_return") + f"?gateway=stripe&session_id={session_id}")
    assert back.status_code == 200 and b"This payment is not one of yours." in back.content
    assert not Payment.objects.exists()
    assert client.post(reverse("clientarea:invoice_pay", args=[theirs.pk, "stripe"])).status_code == 404


def test_gateway_down_keeps_the_client_on_the_invoice_with_a_message(signed_in, owner, stripe_enabled, stripe_sim):
    invoice = unpaid_invoice(owner)
    stripe_sim.fail("status", path="/v1/checkout/sessions", status=500, times=3)
    answer = signed_in.post(reverse("clientarea:invoice_pay", args=[invoice.pk, "stripe"]))
    assert answer["Location"] == reverse("clientarea:invoice", args=[invoice.pk])
    page = signed_in.get(answer["Location"])
    assert b"the payment provider did not answer" in page.content
    attempt = ChargeAttempt.objects.get()
    assert attempt.status == ChargeAttempt.Status.FAILED
    assert ActivityLog.objects.filter(action="payment.checkout_failed").count() == 1


def test_the_payment_page_of_a_gateway(signed_in, owner, stripe_enabled):
    invoice = unpaid_invoice(owner)
    page = signed_in.get(reverse("clientarea:invoice_pay", args=[invoice.pk, "stripe"]))
    assert b"Balance due: <strong>25.00 USD</strong>" in page.content and b'name="save_method"' in page.content
    unknown = signed_in.get(reverse("clientarea:invoice_pay", args=[invoice.pk, "paypal"]))
    assert unknown.status_code == 200 and b"This payment method is not available." in unknown.content


def test_add_funds_ends_on_the_payment_page(signed_in, owner, stripe_enabled):
    answer = signed_in.post(reverse("clientarea:add_funds"), {"action": "add_funds", "amount": "40.00"}, follow=True)
    assert answer.status_code == 200
    assert b'data-gateway="stripe"' in answer.content and b"Pay now 40.00 USD" in answer.content


def test_an_order_ends_on_its_invoice_with_pay_now(signed_in, owner, stripe_enabled):
    product = mail_product(name="Mail Pro")
    form = {"product": product.pk, "domain": "shop.example", "cycle": "monthly", "option_mailboxes_basic": "2",
            "option_mailboxes_enhanced": "1", "action": "order"}
    answer = signed_in.post(reverse("clientarea:order"), form, follow=True)
    invoice = Invoice.objects.get()
    assert answer.redirect_chain[-1][0] == reverse("clientarea:invoice", args=[invoice.pk])
    assert b"Pay now 15.00 USD" in answer.content and b'data-gateway="stripe"' in answer.content
