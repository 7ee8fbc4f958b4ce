"""The PayPal simulator: OAuth2 tokens that expire on its clock, orders that need the buyer's approval on its page,
idempotent captures, its verify-webhook-signature checking the signatures it made, and signed webhooks sent to the
portal over HTTP (the demo's set-up), with knobs for lost and duplicated ones."""
import base64
from decimal import Decimal

import pytest
import requests

from billing.models import Invoice, Payment
from config import demo
from payments import demo as payments_demo
from payments.models import GatewayEvent, GatewaySettings
from provisioning.management.commands.run_simulator import all_simulators
from tests.payments.conftest import PAYPAL_CLIENT_ID, PAYPAL_SECRET, PAYPAL_WEBHOOK_ID, start_paypal_checkout, \
    unpaid_invoice
from tests.payments.test_stripe_simulator import wait_for


def token(sim, client_id=PAYPAL_CLIENT_ID, secret=PAYPAL_SECRET):
    basic = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    return requests.post(f"{sim.url}/v1/oauth2/token", data={"grant_type": "client_credentials"},
                         headers={"Authorization": f"Basic {basic}"}, timeout=5)


def api(sim, method, path, body=None, request_id=""):
    headers = {"Authorization": f"Bearer {token(sim).json()['access_token']}"}
    if request_id:
        headers["PayPal-Request-Id"] = request_id
    return requests.request(method, f"{sim.url}{path}", json=body, headers=headers, timeout=5)


def new_order(sim, value="25.00", currency="USD", request_id=""):
    return api(sim, "POST", "/v2/checkout/orders", {
        "intent": "CAPTURE", "purchase_units": [{"custom_id": "k", "amount": {"currency_code": currency,
                                                                               "value": value}}],
        "payment_source": {"paypal": {"experience_context": {"return_url": "http://portal.example/back?gateway=paypal",
                                                             "cancel_url": "http://portal.example/invoice"}}}},
               request_id=request_id)


def test_tokens_need_the_client_credentials_and_expire_on_the_simulators_clock(paypal_sim):
    assert token(paypal_sim, secret="wrong").status_code == 401
    answer = token(paypal_sim)
    assert answer.status_code == 200 and answer.json()["expires_in"] == 32400
    bearer = {"Authorization": f"Bearer {answer.json()['access_token']}"}
    assert requests.get(f"{paypal_sim.url}/v2/checkout/orders/NONE", headers=bearer, timeout=5).status_code == 404
    paypal_sim.advance(32401)
    assert requests.get(f"{paypal_sim.url}/v2/checkout/orders/NONE", headers=bearer, timeout=5).status_code == 401


def test_orders_are_created_once_per_request_id_and_refuse_amounts_finer_than_paypal_takes(paypal_sim):
    first, again = new_order(paypal_sim, request_id="r1"), new_order(paypal_sim, request_id="r1")
    assert first.json()["id"] == again.json()["id"] and len(paypal_sim.orders) == 1
    assert first.json()["status"] == "PAYER_ACTION_REQUIRED"
    refused = new_order(paypal_sim, value="1500.50", currency="HUF")
    assert refused.status_code == 422 and refused.json()["details"][0]["issue"] == "DECIMAL_PRECISION"


def test_the_approval_page_approves_or_cancels_and_captures_answer_as_paypal(paypal_sim):
    order = new_order(paypal_sim).json()
    page_url = next(link["href"] for link in order["links"] if link["rel"] == "payer-action")
    page = requests.get(page_url, timeout=5)
    assert "Pay 25.00 USD with PayPal" in page.text and "Pay Now" in page.text
    assert '<link rel="icon" href="data:,">' in page.text  # browsers do not ask for /favicon.ico (a 404)
    not_yet = api(paypal_sim, "POST", f"/v2/checkout/orders/{order['id']}/capture", {})
    assert (not_yet.status_code, not_yet.json()["details"][0]["issue"]) == (422, "ORDER_NOT_APPROVED")
    approved = requests.post(page_url, data={"funding": "balance", "action": "approve"}, allow_redirects=False,
                             timeout=5)
    assert approved.status_code == 303
    assert approved.headers["Location"] == (f"http://portal.example/back?gateway=paypal&token={order['id']}"
                                            "&PayerID=SIMPAYER01")
    captured = api(paypal_sim, "POST", f"/v2/checkout/orders/{order['id']}/capture", {}, request_id="c1")
    repeated = api(paypal_sim, "POST", f"/v2/checkout/orders/{order['id']}/capture", {}, request_id="c1")
    assert captured.status_code == 201 and captured.json() == repeated.json()
    capture = captured.json()["purchase_units"][0]["payments"]["captures"][0]
    assert (capture["status"], capture["amount"]["value"]) == ("COMPLETED", "25.00")
    assert capture["seller_receivable_breakdown"]["paypal_fee"] == {"currency_code": "USD", "value": "1.36"}
    other = api(paypal_sim, "POST", f"/v2/checkout/orders/{order['id']}/capture", {}, request_id="c2")
    assert other.json()["details"][0]["issue"] == "ORDER_ALREADY_CAPTURED"
    cancelled = requests.post(page_url.replace(order["id"], new_order(paypal_sim).json()["id"]),
                              data={"action": "cancel"}, allow_redirects=False, timeout=5)
    assert cancelled.headers["Location"].startswith("http://portal.example/invoice?token=")


def test_verify_webhook_signature_accepts_its_own_signatures_and_nothing_changed(paypal_sim):
    event = paypal_sim.event("PAYMENT.CAPTURE.COMPLETED", "capture", {"id": "C1", "amount": {"value": "1.00"}})
    _payload, headers = paypal_sim.signed(event)
    fields = {"auth_algo": headers["PAYPAL-AUTH-ALGO"], "cert_url": headers["PAYPAL-CERT-URL"],
              "transmission_id": headers["PAYPAL-TRANSMISSION-ID"], "transmission_sig": headers["PAYPAL-TRANSMISSION-SIG"],
              "transmission_time": headers["PAYPAL-TRANSMISSION-TIME"], "webhook_id": PAYPAL_WEBHOOK_ID}

    def verify(**changes):
        body = {**fields, "webhook_event": event, **changes}
        return api(paypal_sim, "POST", "/v1/notifications/verify-webhook-signature", body).json()

    assert verify() == {"verification_status": "SUCCESS"}
    tampered = {**event, "resource": {"id": "C1", "amount": {"value": "9.00"}}}
    for changes in ({"webhook_event": tampered}, {"webhook_id": "WH-OTHER"}, {"transmission_time": "2020-01-01T00:00:00Z"},
                    {"cert_url": "https://evil.example/cert"}, {"transmission_sig": "AAAA"}):
        assert verify(**changes) == {"verification_status": "FAILURE"}, changes
    missing = api(paypal_sim, "POST", "/v1/notifications/verify-webhook-signature", {"webhook_event": event})
    assert missing.status_code == 400


def test_run_simulator_knows_paypal():
    assert all_simulators()["paypal"] == "payments.gateways.paypal.simulator.PayPalSimulator"


@pytest.mark.django_db(transaction=True)
def test_webhooks_reach_the_portal_over_http_duplicated_or_lost(live_server, client, owner, paypal_sim, settings):
    settings.PORTAL_BASE_URL = live_server.url
    paypal_sim.client_id = paypal_sim.client_secret = ""
    assert payments_demo.attach_paypal_simulator(paypal_sim.url) is True  # as run.py's demo
    assert GatewaySettings.objects.get(gateway="paypal").enabled is True
    assert paypal_sim.webhook_url == f"{live_server.url}/payments/webhook/paypal/"
    client.force_login(owner.owner_user)
    # duplicated: the approval webhook comes twice; its first copy captures and records, the capture's webhook finds it
    paypal_sim.duplicate_webhooks = 1
    invoice = unpaid_invoice(owner, "25.00")
    paypal_sim.approve(start_paypal_checkout(client, invoice))
    assert wait_for(lambda: GatewayEvent.objects.exclude(outcome="pending").count() == 2)
    assert wait_for(lambda: Invoice.objects.get(pk=invoice.pk).status == Invoice.Status.PAID)
    assert Payment.objects.filter(invoice=invoice).count() == 1 and len(paypal_sim.captures) == 1
    assert sorted(GatewayEvent.objects.values_list("outcome", flat=True)) == ["already", "paid"]
    # lost: no webhook arrives, the return page alone captures and records the payment
    paypal_sim.lose_webhooks = 2
    second = unpaid_invoice(owner, "12.50")
    redirect = paypal_sim.approve(start_paypal_checkout(client, second))["redirect"]
    client.get(redirect.replace(live_server.url, ""))
    assert Payment.objects.get(invoice=second).amount == Decimal("12.50")
    assert len(paypal_sim.lost) == 2 and GatewayEvent.objects.count() == 2


@pytest.mark.django_db
def test_the_demo_enables_paypal_against_the_simulator_and_loading_again_adds_nothing(paypal_sim, monkeypatch):
    monkeypatch.setenv(payments_demo.PAYPAL_URL_VARIABLE, paypal_sim.url)
    paypal_sim.client_id = paypal_sim.client_secret = ""
    demo.load_demo()
    row = GatewaySettings.objects.get(gateway="paypal")
    assert (row.enabled, row.test_mode, row.options["api_base"], row.secret_values()) == (
        True, True, paypal_sim.url, {"client_secret": payments_demo.PAYPAL_SECRET})
    assert (paypal_sim.client_id, paypal_sim.webhook_id) == (payments_demo.PAYPAL_CLIENT_ID,
                                                            payments_demo.PAYPAL_WEBHOOK_ID)
    before = list(GatewaySettings.objects.values_list("gateway", "enabled", "options"))
    assert demo.load_demo() is False
    assert list(GatewaySettings.objects.values_list("gateway", "enabled", "options")) == before
