"""The Stripe simulator: the stripe library talks to it, its hosted page knows Stripe's test cards, and it sends
signed webhooks to the portal over HTTP, with knobs for lost and duplicated ones."""
import time
from decimal import Decimal

import pytest
import requests
import stripe

from billing.models import Invoice, Payment
from payments import demo
from payments.models import GatewayEvent, GatewaySettings
from provisioning.management.commands.run_simulator import all_simulators
from tests.payments.conftest import API_KEY, start_checkout, unpaid_invoice


def library(sim):
    return stripe.StripeClient(API_KEY, base_addresses={"api": sim.url}, max_network_retries=0)


def new_session(sim, amount=2500, currency="usd"):
    return library(sim).v1.checkout.sessions.create({
        "mode": "payment", "success_url": "http://portal.example/back?session_id={CHECKOUT_SESSION_ID}",
        "line_items": [{"quantity": 1, "price_data": {"currency": currency, "unit_amount": amount,
                                                      "product_data": {"name": "Invoice T-1"}}}]})


def test_hosted_page_answers_each_test_card(stripe_sim):
    cards = {"4000000000000002": "Your card was declined.", "4000000000009995": "Your card has insufficient funds.",
             "4000002500003155": "This transaction requires authentication."}
    for card, message in cards.items():
        session = new_session(stripe_sim)
        page = requests.post(session.url, data={"card": card}, allow_redirects=False, timeout=5)
        assert page.status_code == 402 and message in page.text
    session = new_session(stripe_sim)
    shown = requests.get(session.url, timeout=5).text
    assert "4242424242424242" in shown and '<link rel="icon" href="data:,">' in shown  # no /favicon.ico 404
    paid = requests.post(session.url, data={"card": "4242 4242 4242 4242"}, allow_redirects=False, timeout=5)
    assert (paid.status_code, paid.headers["Location"]) == (303, f"http://portal.example/back?session_id={session.id}")
    again = library(stripe_sim).v1.checkout.sessions.retrieve(session.id)
    assert (again.status, again.payment_status, again.amount_total) == ("complete", "paid", 2500)
    assert [event["type"] for event, _, _ in stripe_sim.outbox][-2:] == ["checkout.session.completed",
                                                                        "payment_intent.succeeded"]


def test_wrong_api_key_and_injected_failures_are_stripe_errors(stripe_sim):
    with pytest.raises(stripe.AuthenticationError):
        stripe.StripeClient("sk_test_wrong", base_addresses={"api": stripe_sim.url}).v1.checkout.sessions.retrieve("cs_x")
    with pytest.raises(stripe.InvalidRequestError, match="No such checkout.session"):
        library(stripe_sim).v1.checkout.sessions.retrieve("cs_missing")
    stripe_sim.fail("status", path="/v1/checkout/sessions", status=503)
    with pytest.raises(stripe.APIError):
        new_session(stripe_sim)


def test_refunds_honour_the_idempotency_key(stripe_sim):
    session = new_session(stripe_sim)
    stripe_sim.pay(session.id)
    intent = stripe_sim.sessions[session.id]["payment_intent"]
    first = library(stripe_sim).v1.refunds.create({"payment_intent": intent, "amount": 500}, {"idempotency_key": "r1"})
    again = library(stripe_sim).v1.refunds.create({"payment_intent": intent, "amount": 500}, {"idempotency_key": "r1"})
    assert first.id == again.id and len(stripe_sim.refunds) == 1
    with pytest.raises(stripe.InvalidRequestError, match="greater than unrefunded amount"):
        library(stripe_sim).v1.refunds.create({"payment_intent": intent, "amount": 2001})


def test_run_simulator_knows_stripe():
    assert all_simulators()["stripe"] == "payments.gateways.stripe.simulator.StripeSimulator"


def wait_for(condition, seconds=10):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


@pytest.mark.django_db(transaction=True)
def test_webhooks_reach_the_portal_over_http_duplicated_or_lost(live_server, client, owner, stripe_sim, settings):
    settings.PORTAL_BASE_URL = live_server.url
    assert demo.attach_simulator(stripe_sim.url) is True  # as run.py's demo: Stripe enabled, simulator seeded
    assert GatewaySettings.objects.get().enabled is True
    client.force_login(owner.owner_user)
    # duplicated: the first webhook comes twice, the payment is recorded once
    stripe_sim.duplicate_webhooks = 1
    invoice = unpaid_invoice(owner, "25.00")
    stripe_sim.pay(start_checkout(client, invoice))
    assert wait_for(lambda: GatewayEvent.objects.exclude(outcome="pending").count() == 2)
    assert wait_for(lambda: Invoice.objects.get(pk=invoice.pk).status == Invoice.Status.PAID)
    assert Payment.objects.filter(invoice=invoice).count() == 1
    assert sorted(GatewayEvent.objects.values_list("outcome", flat=True)) == ["already", "paid"]
    # lost: no webhook arrives, the return page alone records the payment
    stripe_sim.lose_webhooks = 2
    second = unpaid_invoice(owner, "12.50")
    session_id = start_checkout(client, second)
    redirect = stripe_sim.pay(session_id)["redirect"]
    assert len(stripe_sim.lost) == 2
    client.get(redirect.replace(live_server.url, ""))
    assert Payment.objects.get(invoice=second).amount == Decimal("12.50")
    assert GatewayEvent.objects.count() == 2
