"""Refunds through Stripe from the staff transaction page, minor units (JPY has none), and the gateway settings
page, whose secrets are encrypted at rest and never rendered back."""
from decimal import Decimal

import pytest
from django.db import connection
from django.urls import reverse

from billing.models import Invoice, Payment
from payments.models import ChargeAttempt, GatewaySettings
from payments.money import from_minor, to_minor
from portal.models import ActivityLog
from tests.payments.conftest import API_KEY, WEBHOOK_SECRET, return_to_portal, start_checkout, unpaid_invoice

pytestmark = pytest.mark.django_db


def paid_through_stripe(signed_in, owner, sim, total="25.00", currency="USD"):
    invoice = unpaid_invoice(owner, total, currency)
    session_id = start_checkout(signed_in, invoice)
    return_to_portal(signed_in, sim.pay(session_id)["redirect"])
    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.PAID
    return invoice, Payment.objects.get(invoice=invoice, amount__gt=0)


@pytest.fixture
def staff(client, staff_user):
    client.force_login(staff_user)
    return client


def test_partial_then_full_refund_through_stripe(signed_in, owner, staff_user, stripe_enabled, stripe_sim):
    invoice, payment = paid_through_stripe(signed_in, owner, stripe_sim)
    signed_in.force_login(staff_user)
    url = reverse("admin:payments_gateway_refund", args=[payment.pk])
    page = signed_in.get(reverse("admin:billing_payment_change", args=[payment.pk]))
    assert url.encode() in page.content and b"Refund through Card (Stripe)" in page.content
    first = signed_in.post(url, {"amount": "10.00"})
    assert first.status_code == 302
    refunds = list(stripe_sim.refunds.values())
    assert [(r["amount"], r["payment_intent"]) for r in refunds] == [(1000, payment.transaction_id)]
    refund = Payment.objects.get(amount_out=Decimal("10.00"))
    assert (refund.gateway, refund.transaction_id, refund.refund_of) == ("stripe", refunds[0]["id"], payment)
    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.PAID
    too_much = signed_in.post(url, {"amount": "15.01"})
    assert too_much.status_code == 200 and b"Refund between 0.01 and 15.00 USD" in too_much.content
    assert len(stripe_sim.refunds) == 1
    assert signed_in.post(url, {"amount": "15.00"}).status_code == 302
    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.REFUNDED
    assert sum(r["amount"] for r in stripe_sim.refunds.values()) == 2500


def test_refund_refused_by_stripe_records_nothing(signed_in, owner, staff_user, stripe_enabled, stripe_sim):
    invoice, payment = paid_through_stripe(signed_in, owner, stripe_sim)
    stripe_sim.fail("status", path="/v1/refunds", status=400)
    signed_in.force_login(staff_user)
    answer = signed_in.post(reverse("admin:payments_gateway_refund", args=[payment.pk]), {"amount": "5.00"})
    assert answer.status_code == 200 and b"The gateway refused the refund" in answer.content
    assert not Payment.objects.filter(amount_out__gt=0).exists()
    assert ActivityLog.objects.filter(action="payment.refund_failed").count() == 1
    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.PAID


def test_jpy_is_sent_and_read_back_without_minor_units(signed_in, owner, stripe_enabled, stripe_sim):
    invoice = unpaid_invoice(owner, "1500.00", "JPY")
    session_id = start_checkout(signed_in, invoice)
    assert (stripe_sim.sessions[session_id]["amount_total"], stripe_sim.sessions[session_id]["currency"]) == (1500, "jpy")
    return_to_portal(signed_in, stripe_sim.pay(session_id)["redirect"])
    payment = Payment.objects.get()
    assert (payment.amount, payment.currency, payment.fees) == (Decimal("1500.00"), "JPY", Decimal(74))  # 43.5→44 + 30
    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.PAID


@pytest.mark.parametrize(("amount", "currency", "units"), [
    ("12.34", "USD", 1234), ("0.01", "EUR", 1), ("1500", "JPY", 1500), ("1500.00", "JPY", 1500), ("1.234", "KWD", 1234),
])
def test_minor_units_both_ways_exactly(amount, currency, units):
    assert to_minor(Decimal(amount), currency) == units
    assert from_minor(units, currency) == Decimal(amount)


@pytest.mark.parametrize(("amount", "currency"), [("1500.50", "JPY"), ("12.345", "USD")])
def test_amounts_finer_than_the_currency_are_refused_not_rounded(amount, currency):
    with pytest.raises(ValueError):
        to_minor(Decimal(amount), currency)


def test_settings_secrets_are_encrypted_and_never_rendered_back(staff, stripe_enabled):
    url = reverse("admin:payments_gatewaysettings_change", args=[stripe_enabled.pk])
    page = staff.get(url)
    assert page.status_code == 200
    assert API_KEY.encode() not in page.content and WEBHOOK_SECRET.encode() not in page.content
    assert b"A secret is stored; leave empty to keep it." in page.content
    form = {"enabled": "on", "display_name": "Credit card", "test_mode": "on", "option_secret_key": "",
            "option_webhook_secret": "whsec_rotated", "option_api_base": "http://127.0.0.1:9"}
    assert staff.post(url, form).status_code == 302
    row = GatewaySettings.objects.get()
    assert row.secret_values() == {"secret_key": API_KEY, "webhook_secret": "whsec_rotated"}  # empty kept the key
    assert (row.display_name, row.options) == ("Credit card", {"api_base": "http://127.0.0.1:9"})
    with connection.cursor() as cursor:
        cursor.execute("SELECT secrets FROM payments_gatewaysettings")
        stored = cursor.fetchone()[0]
    assert "whsec_rotated" not in stored and API_KEY not in stored
    entry = ActivityLog.objects.get(action="payment.gateway_settings")
    assert entry.data["secrets_changed"] == ["webhook_secret"]
    assert "whsec_rotated" not in entry.message + str(entry.data)
    assert b"whsec_rotated" not in staff.get(url).content


def test_settings_list_offers_each_installed_gateway(staff, db):
    page = staff.get(reverse("admin:payments_gatewaysettings_changelist"))
    assert page.status_code == 200 and b"stripe" in page.content and b"paypal" in page.content
    assert sorted(GatewaySettings.objects.values_list("gateway", "enabled")) == [("paypal", False), ("stripe", False)]


def test_failed_and_unapplied_charges_are_listed_for_staff(staff, owner, stripe_enabled):
    invoice = unpaid_invoice(owner)
    ChargeAttempt.objects.create(invoice=invoice, gateway="stripe", idempotency_key="k1", amount=Decimal("25.00"),
                                 currency="USD", status=ChargeAttempt.Status.FAILED, reason="insufficient_funds")
    ChargeAttempt.objects.create(invoice=invoice, gateway="stripe", idempotency_key="k2", amount=Decimal("25.00"),
                                 currency="USD", status=ChargeAttempt.Status.PENDING, reason="still open")
    page = staff.get(reverse("admin:payments_chargeattempt_changelist") + "?status__exact=failed")
    assert page.status_code == 200
    assert b"insufficient_funds" in page.content and b"still open" not in page.content
    assert staff.get(reverse("admin:payments_gatewayevent_changelist")).status_code == 200


@pytest.mark.parametrize(("test_mode", "key", "field", "error"), [
    ("on", "sk_live_abc", "option_secret_key", b"Test mode needs a test key (sk_test_"),
    ("", "sk_test_abc", "option_secret_key", b"This is a test key (sk_test_"),
    ("on", "pk_test_abc", "option_secret_key", b"A Stripe secret key starts with sk_"),
])
def test_settings_refuse_keys_that_do_not_match_test_mode(staff, stripe_enabled, test_mode, key, field, error):
    url = reverse("admin:payments_gatewaysettings_change", args=[stripe_enabled.pk])
    form = {"enabled": "on", "display_name": "Card", "test_mode": test_mode, "option_secret_key": key,
            "option_webhook_secret": "", "option_api_base": ""}
    answer = staff.post(url, form)
    assert answer.status_code == 200 and error in answer.content
    assert key.encode() not in answer.content  # not even the refused value is rendered back
    assert GatewaySettings.objects.get().secret_values()["secret_key"] == API_KEY


def test_settings_keep_the_stored_key_when_test_mode_is_checked_against_it(staff, stripe_enabled):
    url = reverse("admin:payments_gatewaysettings_change", args=[stripe_enabled.pk])
    form = {"enabled": "on", "display_name": "Card", "test_mode": "", "option_secret_key": "",
            "option_webhook_secret": "", "option_api_base": ""}
    answer = staff.post(url, form)
    assert answer.status_code == 200 and b"This is a test key (sk_test_" in answer.content
