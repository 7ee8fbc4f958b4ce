"""Saved cards: saving one with a Checkout payment, automatic off-session charges of due invoices (success,
decline, authentication required), dunning retries on days 1, 3 and 5, and idempotent retries."""
from datetime import datetime, time, timedelta
from decimal import Decimal

import pytest
from django.http import Http404
from django.urls import reverse
from django.utils import timezone

from billing.models import EmailLog, Invoice, Payment
from payments import selectors, services
from payments.gateways.base import GatewayError
from payments.gateways.stripe import StripeGateway
from payments.models import ChargeAttempt, PaymentMethod
from payments.registry import get_gateway
from portal.models import ActivityLog
from tests.factories import ClientFactory
from tests.payments.conftest import deliver, return_to_portal, unpaid_invoice

pytestmark = pytest.mark.django_db


def at(day, hour):
    return timezone.make_aware(datetime.combine(day, time(hour)))


def saved_card(owner, sim, card):
    customer, method = sim.attach_card(card)
    return PaymentMethod.objects.create(client=owner, gateway="stripe", customer_id=customer, method_id=method,
                                        brand="visa", last4=card[-4:], is_default=True)


def due_today(owner, total="25.00"):
    invoice = unpaid_invoice(owner, total)
    Invoice.objects.filter(pk=invoice.pk).update(due_date=timezone.localdate())
    invoice.refresh_from_db()
    return invoice


def test_the_client_saves_the_card_while_paying(signed_in, owner, stripe_enabled, stripe_sim):
    invoice = unpaid_invoice(owner)
    page = signed_in.get(reverse("clientarea:invoice", args=[invoice.pk]))
    assert b'name="save_method"' in page.content
    answer = signed_in.post(reverse("clientarea:invoice_pay", args=[invoice.pk, "stripe"]), {"save_method": "1"})
    session_id = answer["Location"].rsplit("/", 1)[-1]
    assert stripe_sim.sessions[session_id]["payment_intent_data"]["setup_future_usage"] == "off_session"
    return_to_portal(signed_in, stripe_sim.pay(session_id, card="4242424242424242")["redirect"])
    method = PaymentMethod.objects.get()
    assert (method.client, method.brand, method.last4, method.is_default) == (owner, "visa", "4242", True)
    assert method.method_id in stripe_sim.payment_methods and method.customer_id.startswith("cus_test_")
    assert ActivityLog.objects.filter(action="payment.method_saved").count() == 1


def test_a_card_saved_while_paying_replaces_the_declined_default(signed_in, owner, stripe_enabled, stripe_sim):
    saved_card(owner, stripe_sim, "4000000000000002")
    invoice = unpaid_invoice(owner)
    answer = signed_in.post(reverse("clientarea:invoice_pay", args=[invoice.pk, "stripe"]), {"save_method": "1"})
    return_to_portal(signed_in, stripe_sim.pay(answer["Location"].rsplit("/", 1)[-1], card="4242424242424242")["redirect"])
    assert list(PaymentMethod.objects.order_by("pk").values_list("last4", "is_default")) == [("0002", False),
                                                                                          ("4242", True)]
    assert selectors.client_methods(owner)[0].last4 == "4242" and services.default_method(owner).last4 == "4242"
    assert ActivityLog.objects.get(action="payment.method_saved").message.endswith("(the default card now)")


def test_automatic_charge_pays_a_due_invoice(owner, stripe_enabled, stripe_sim):
    saved_card(owner, stripe_sim, "4242424242424242")
    invoice = due_today(owner)
    assert services.charge_due_invoices() == {"succeeded": 1}
    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.PAID
    attempt = ChargeAttempt.objects.get()
    assert (attempt.kind, attempt.idempotency_key) == ("off_session", f"stripe:invoice:{invoice.pk}:auto:1")
    payment = Payment.objects.get()
    intent = stripe_sim.intents[payment.transaction_id]
    assert intent["metadata"]["attempt"] == attempt.idempotency_key and payment.fees == Decimal("1.03")
    assert services.charge_due_invoices() == {}  # paid: nothing more to charge


def test_declined_charge_emails_a_pay_link_and_retries_on_days_1_3_5(owner, stripe_enabled, stripe_sim):
    saved_card(owner, stripe_sim, "4000000000000002")
    invoice = due_today(owner)
    due = invoice.due_date
    assert services.charge_due_invoices(now=at(due, 9)) == {"failed": 1}
    first = ChargeAttempt.objects.get()
    assert (first.reason, first.next_retry_at) == ("generic_decline", at(due + timedelta(days=1), 6))
    email = EmailLog.objects.get(event_key=f"payment.charge_failed:{first.pk}")
    assert email.template_name == "Automatic Payment Failed" and email.invoice == invoice
    assert "your card was declined" in email.extra["_custom"]["message"]
    assert "{{ invoice_link }}" in email.extra["_custom"]["message"]
    assert services.charge_due_invoices(now=at(due, 23)) == {}  # not before the retry day
    retries = [(1, 3), (3, 5), (5, None)]
    for day, next_day in retries:
        assert services.charge_due_invoices(now=at(due + timedelta(days=day), 7)) == {"failed": 1}
        last = ChargeAttempt.objects.order_by("-pk").first()
        expected = at(due + timedelta(days=next_day), 6) if next_day else None
        assert last.next_retry_at == expected
    assert services.charge_due_invoices(now=at(due + timedelta(days=30), 7)) == {}
    keys = list(ChargeAttempt.objects.order_by("pk").values_list("idempotency_key", flat=True))
    assert keys == [f"stripe:invoice:{invoice.pk}:auto:{n}" for n in (1, 2, 3, 4)]
    assert EmailLog.objects.filter(template_name="Automatic Payment Failed").count() == 4
    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.UNPAID and not Payment.objects.exists()


def test_authentication_required_asks_the_client_to_pay_themselves(owner, stripe_enabled, stripe_sim):
    saved_card(owner, stripe_sim, "4000002500003155")
    invoice = due_today(owner)
    attempt = services.charge_saved_method(invoice=invoice, actor=services.Actor.system("test"))
    assert (attempt.status, attempt.reason) == ("failed", "authentication_required")
    email = EmailLog.objects.get(template_name="Automatic Payment Failed")
    assert "your bank asks you to confirm this payment yourself" in email.extra["_custom"]["message"]


def test_insufficient_funds_reason_is_kept(owner, stripe_enabled, stripe_sim):
    saved_card(owner, stripe_sim, "4000000000009995")
    invoice = due_today(owner)
    attempt = services.charge_saved_method(invoice=invoice, actor=services.Actor.system("test"))
    assert attempt.reason == "insufficient_funds"


def test_a_temporary_failure_is_retried_with_the_same_idempotency_key_and_charges_once(owner, stripe_enabled,
                                                                                      stripe_sim):
    method = saved_card(owner, stripe_sim, "4242424242424242")
    invoice = due_today(owner)
    stripe_sim.fail("status", path="/v1/payment_intents", status=500, times=3)  # the library's 2 retries too
    now = timezone.now()
    attempt = services.charge_saved_method(invoice=invoice, actor=services.Actor.system("test"), now=now)
    assert attempt.status == "pending" and attempt.reason.startswith("Temporary:")
    assert attempt.next_retry_at == now + services.TEMPORARY_RETRY
    assert services.charge_due_invoices(now=now + timedelta(minutes=30)) == {}
    assert services.charge_due_invoices(now=now + timedelta(hours=2)) == {"succeeded": 1}
    assert ChargeAttempt.objects.get().idempotency_key == f"stripe:invoice:{invoice.pk}:auto:1"
    # the gateway answers a repeat of the same key with the same charge: nothing is charged twice
    gateway = get_gateway("stripe")
    again = gateway.charge(invoice, method, f"stripe:invoice:{invoice.pk}:auto:1", amount=Decimal("25.00"))
    assert again.transaction_id == Payment.objects.get().transaction_id
    assert len(stripe_sim.intents) == 1


def test_no_saved_method_or_disabled_gateway_means_no_charge(owner, stripe_enabled, stripe_sim):
    invoice = due_today(owner)
    assert services.charge_due_invoices() == {}
    saved_card(owner, stripe_sim, "4242424242424242")
    stripe_enabled.enabled = False
    stripe_enabled.save()
    assert services.charge_due_invoices() == {}
    assert not ChargeAttempt.objects.exists() and Invoice.objects.get(pk=invoice.pk).status == Invoice.Status.UNPAID


def test_the_failed_webhook_arriving_before_the_answer_does_not_skip_a_dunning_day(client, owner, stripe_enabled,
                                                                                  stripe_sim, monkeypatch):
    saved_card(owner, stripe_sim, "4000000000000002")
    invoice = due_today(owner)
    original = StripeGateway.charge

    def webhook_first(self, *args, **kwargs):
        try:
            return original(self, *args, **kwargs)
        except GatewayError:
            _, payload, header = stripe_sim.events_of("payment_intent.payment_failed")[-1]
            assert deliver(client, payload, header).status_code == 200
            raise

    monkeypatch.setattr(StripeGateway, "charge", webhook_first)
    attempt = services.charge_saved_method(invoice=invoice, actor=services.Actor.system("test"),
                                           now=at(invoice.due_date, 9))
    assert (attempt.status, attempt.next_retry_at) == ("failed", at(invoice.due_date + timedelta(days=1), 6))


def test_the_client_lists_and_removes_saved_cards(signed_in, owner, stripe_enabled, stripe_sim):
    first = saved_card(owner, stripe_sim, "4242424242424242")
    second = saved_card(owner, stripe_sim, "5555555555554444")
    PaymentMethod.objects.filter(pk=second.pk).update(is_default=False)
    page = signed_in.get(reverse("clientarea:payment_methods"))
    assert b"Visa \xe2\x80\xa2\xe2\x80\xa2\xe2\x80\xa2\xe2\x80\xa2 4242" in page.content and b"4444" in page.content
    answer = signed_in.post(reverse("clientarea:payment_method_remove", args=[first.pk]))
    assert answer["Location"] == reverse("clientarea:payment_methods")
    assert stripe_sim.payment_methods[first.method_id]["customer"] is None  # Stripe forgot it too
    assert list(PaymentMethod.objects.values_list("pk", "is_default")) == [(second.pk, True)]
    assert ActivityLog.objects.filter(action="payment.method_removed").count() == 1


def test_a_card_is_kept_when_stripe_does_not_answer(signed_in, owner, stripe_enabled, stripe_sim):
    method = saved_card(owner, stripe_sim, "4242424242424242")
    stripe_sim.fail("status", path="/detach", status=503, times=3)
    answer = signed_in.post(reverse("clientarea:payment_method_remove", args=[method.pk]), follow=True)
    assert b"The card could not be removed now" in answer.content
    assert PaymentMethod.objects.filter(pk=method.pk).exists()


def test_the_client_sees_and_removes_only_their_own_cards_default_first(signed_in, owner, stripe_enabled, stripe_sim):
    other = ClientFactory()
    older = saved_card(owner, stripe_sim, "4242424242424242")
    newer = saved_card(owner, stripe_sim, "5555555555554444")
    PaymentMethod.objects.filter(pk=newer.pk).update(is_default=False)
    theirs = saved_card(other, stripe_sim, "4000000000009995")
    assert list(selectors.client_methods(owner)) == [older, newer]
    assert selectors.client_method(owner, newer.pk) == newer
    with pytest.raises(Http404):
        selectors.client_method(owner, theirs.pk)
    assert signed_in.get(reverse("clientarea:payment_method_remove", args=[theirs.pk])).status_code == 404
    assert signed_in.post(reverse("clientarea:payment_method_remove", args=[theirs.pk])).status_code == 404
    assert PaymentMethod.objects.filter(pk=theirs.pk).exists()
