import json
import time
from decimal import Decimal
from urllib.parse import urlsplit

import pytest
from django.urls import reverse

from payments.gateways.paypal.simulator import PayPalSimulator
from payments.gateways.stripe.simulator import StripeSimulator, sign
from payments.models import GatewaySettings
from portal.activity import Actor
from tests.factories import InvoiceFactory, InvoiceItemFactory, StaffFactory

API_KEY = "sk_test_portal"
WEBHOOK_SECRET = "whsec_test_portal"
WEBHOOK_URL = "/payments/webhook/stripe/"
PAYPAL_CLIENT_ID = "sim-client-portal"
PAYPAL_SECRET = "sim-secret-portal"
PAYPAL_WEBHOOK_ID = "WH-PORTAL-TEST"
PAYPAL_WEBHOOK_URL = "/payments/webhook/paypal/"


@pytest.fixture
def stripe_sim():
    sim = StripeSimulator(api_key=API_KEY, webhook_secret=WEBHOOK_SECRET).start()
    yield sim
    sim.stop()


@pytest.fixture
def stripe_enabled(db, stripe_sim):
    row = GatewaySettings(gateway="stripe", enabled=True, display_name="Card", test_mode=True,
                          options={"api_base": stripe_sim.url})
    row.set_secret_values({"secret_key": API_KEY, "webhook_secret": WEBHOOK_SECRET})
    row.save()
    return row


@pytest.fixture
def signed_in(client, owner):
    client.force_login(owner.owner_user)
    return client


def unpaid_invoice(client, total="25.00", currency="USD"):
    invoice = InvoiceFactory(client=client, currency=currency, subtotal=Decimal(total), total=Decimal(total))
    InvoiceItemFactory(invoice=invoice, amount=Decimal(total), description="Mail hosting")
    return invoice


def start_checkout(signed_in, invoice):
    """Press 'Pay now': returns the Checkout Session id the portal opened at the simulator."""
    answer = signed_in.post(reverse("clientarea:invoice_pay", args=[invoice.pk, "stripe"]))
    assert answer.status_code == 302, answer
    return urlsplit(answer["Location"]).path.rsplit("/", 1)[-1]


def return_to_portal(signed_in, redirect_url):
    parts = urlsplit(redirect_url)
    return signed_in.get(f"{parts.path}?{parts.query}")


def deliver(http, payload, header):
    return http.post(WEBHOOK_URL, data=payload, content_type="application/json", HTTP_STRIPE_SIGNATURE=header)


def signed_event(event_type, obj, *, secret=WEBHOOK_SECRET, timestamp=None, event_id="evt_test_1"):
    payload = json.dumps({"id": event_id, "object": "event", "type": event_type, "data": {"object": obj}}).encode()
    return payload, sign(payload, secret, time.time() if timestamp is None else timestamp)


@pytest.fixture
def staff(db):
    return StaffFactory(is_superuser=True)


@pytest.fixture
def staff_actor(staff):
    return Actor.staff(staff)


@pytest.fixture
def paypal_sim():
    sim = PayPalSimulator(client_id=PAYPAL_CLIENT_ID, client_secret=PAYPAL_SECRET, webhook_id=PAYPAL_WEBHOOK_ID).start()
    yield sim
    sim.stop()


@pytest.fixture
def paypal_enabled(db, paypal_sim):
    row = GatewaySettings(gateway="paypal", enabled=True, display_name="PayPal", test_mode=True,
                          options={"api_base": paypal_sim.url, "client_id": PAYPAL_CLIENT_ID,
                                   "webhook_id": PAYPAL_WEBHOOK_ID})
    row.set_secret_values({"client_secret": PAYPAL_SECRET})
    row.save()
    return row


def start_paypal_checkout(signed_in, invoice):
    """Press 'Pay with PayPal': returns the id of the order the portal created at the simulator."""
    answer = signed_in.post(reverse("clientarea:invoice_pay", args=[invoice.pk, "paypal"]))
    assert answer.status_code == 302, answer
    location = urlsplit(answer["Location"])
    assert location.path == "/checkoutnow", answer["Location"]
    return location.query.removeprefix("token=")


def deliver_paypal(http, payload, headers):
    extra = {"HTTP_" + name.replace("-", "_"): value for name, value in headers.items()}
    return http.post(PAYPAL_WEBHOOK_URL, data=payload, content_type="application/json", **extra)
