"""On MariaDB: the same webhook (Stripe's, PayPal's) delivered 8 times at once, the webhooks racing the client's
return page, and the reconciliation job racing them, record one Payment and one effect on the invoice (its amount
paid, one settlement, no overpayment credit). PayPal's approval webhook, return page and reconciliation each
capture the order: PayPal captures it once. SQLite takes one writer at a time, so it cannot show a race."""
import threading
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection, connections
from django.test import Client as HttpClient
from django.utils import timezone

from billing.models import CreditLedgerEntry, Invoice, Payment
from payments import reconcile
from payments.models import ChargeAttempt, GatewayEvent
from portal.models import ActivityLog
from tests.payments.conftest import deliver, deliver_paypal, start_checkout, start_paypal_checkout, unpaid_invoice

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def mariadb_only():
    if connection.vendor != "mysql":
        pytest.skip("Concurrent webhooks need row locks and concurrent writers: run on MariaDB "
                    "(DATABASE_URL=mysql://…); SQLite serialises writers.")


def at_once(targets):
    """Run the callables in threads released together; returns their results (re-raising any error)."""
    barrier = threading.Barrier(len(targets))
    results, errors = [None] * len(targets), []

    def run(index):
        try:
            barrier.wait()
            results[index] = targets[index]()
        except Exception as exc:  # noqa: BLE001 - surfaced below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(targets))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    if errors:
        raise errors[0]
    return results


def webhook(payload, header, send_with=deliver):
    def send():
        answer = send_with(HttpClient(enforce_csrf_checks=True), payload, header)
        return answer.status_code, answer.content.decode()
    return send


def paypal_webhook(payload, headers):
    return webhook(payload, headers, send_with=deliver_paypal)


def return_page_of(signed_in, redirect):
    session_cookie = signed_in.cookies

    def return_page():
        browser = HttpClient()
        browser.cookies = session_cookie
        path = redirect.split("://", 1)[1].split("/", 1)[1]
        return browser.get("/" + path).content.decode()
    return return_page


def paid_at_stripe(signed_in, owner, stripe_sim):
    invoice = unpaid_invoice(owner, "25.00")
    session = start_checkout(signed_in, invoice)
    result = stripe_sim.pay(session)
    assert result["error"] == ""
    return invoice, session, result["redirect"]


def assert_paid_once(invoice, gateway="stripe"):
    payment = Payment.objects.get()
    assert (payment.amount, payment.gateway, payment.invoice_id) == (Decimal("25.00"), gateway, invoice.pk)
    invoice.refresh_from_db()
    assert (invoice.status, invoice.amount_paid, invoice.balance) == (Invoice.Status.PAID, Decimal("25.00"), 0)
    assert not CreditLedgerEntry.objects.exists()  # nothing paid twice went to credit
    assert ActivityLog.objects.filter(action="payment.record").count() == 1
    assert ActivityLog.objects.filter(action="invoice.paid").count() == 1
    attempt = ChargeAttempt.objects.get()
    assert (attempt.status, attempt.payment_id) == (ChargeAttempt.Status.SUCCEEDED, payment.pk)
    return payment


def test_the_same_webhook_eight_times_at_once_records_one_payment(signed_in, owner, stripe_enabled, stripe_sim):
    invoice, _session, _redirect = paid_at_stripe(signed_in, owner, stripe_sim)
    (_event, payload, header), = stripe_sim.events_of("checkout.session.completed")

    answers = at_once([webhook(payload, header)] * 8)

    assert {status for status, _text in answers} == {200}
    texts = sorted(text for _status, text in answers)
    # one delivery processes the event; the others wait for it and find it processed (not processed again)
    assert texts == ["Already processed."] * 7 + ["Payment recorded"], texts
    assert_paid_once(invoice)
    event = GatewayEvent.objects.get()
    assert event.outcome == GatewayEvent.Outcome.PAID


def test_the_webhooks_racing_the_return_page_record_one_payment(signed_in, owner, stripe_enabled, stripe_sim):
    invoice, _session, redirect = paid_at_stripe(signed_in, owner, stripe_sim)
    events = [(payload, header) for _event, payload, header in stripe_sim.outbox]
    assert len(events) == 2  # checkout.session.completed and payment_intent.succeeded
    return_page = return_page_of(signed_in, redirect)

    results = at_once([return_page, return_page] + [webhook(*event) for event in events * 3])

    assert all("Thank you: invoice" in page for page in results[:2])
    assert {status for status, _text in results[2:]} == {200}
    assert_paid_once(invoice)
    assert GatewayEvent.objects.count() == 2


def test_reconciliation_racing_the_webhook_records_one_payment(signed_in, owner, stripe_enabled, stripe_sim):
    invoice, _session, _redirect = paid_at_stripe(signed_in, owner, stripe_sim)
    (_event, payload, header), = stripe_sim.events_of("payment_intent.succeeded")
    later = timezone.now() + timedelta(minutes=20)

    results = at_once([lambda: reconcile.reconcile_charges(now=later)] * 2 + [webhook(payload, header)] * 2)

    assert_paid_once(invoice)
    assert sum(result.get("recorded", 0) for result in results[:2]) + sum(
        text == "Payment recorded" for _status, text in results[2:]) == 1, results


def approved_at_paypal(signed_in, owner, paypal_sim):
    invoice = unpaid_invoice(owner, "25.00")
    approved = paypal_sim.approve(start_paypal_checkout(signed_in, invoice))
    assert approved["error"] == ""
    (_event, payload, headers), = paypal_sim.events_of("CHECKOUT.ORDER.APPROVED")
    return invoice, approved["redirect"], (payload, headers)


def assert_captured_once(paypal_sim):
    assert len(paypal_sim.captures) == 1
    (_event, payload, headers), = paypal_sim.events_of("PAYMENT.CAPTURE.COMPLETED")
    answer = deliver_paypal(HttpClient(), payload, headers)  # the capture's own webhook, last
    assert (answer.status_code, answer.content) == (200, b"Payment already recorded")


def test_the_same_paypal_webhook_eight_times_at_once_captures_and_records_once(signed_in, owner, paypal_enabled,
                                                                              paypal_sim):
    invoice, _redirect, approved = approved_at_paypal(signed_in, owner, paypal_sim)

    answers = at_once([paypal_webhook(*approved)] * 8)

    assert {status for status, _text in answers} == {200}
    assert sorted(text for _status, text in answers) == ["Already processed."] * 7 + ["Payment recorded"]
    assert_paid_once(invoice, "paypal")
    assert GatewayEvent.objects.get().outcome == GatewayEvent.Outcome.PAID
    assert_captured_once(paypal_sim)


def test_the_paypal_webhook_racing_the_return_page_captures_and_records_once(signed_in, owner, paypal_enabled,
                                                                            paypal_sim):
    invoice, redirect, approved = approved_at_paypal(signed_in, owner, paypal_sim)
    return_page = return_page_of(signed_in, redirect)

    results = at_once([return_page, return_page] + [paypal_webhook(*approved)] * 3)

    assert all(f"Thank you: invoice {invoice} is paid." in page for page in results[:2])
    assert {status for status, _text in results[2:]} == {200}
    assert_paid_once(invoice, "paypal")
    assert_captured_once(paypal_sim)


def test_reconciliation_racing_the_paypal_webhook_captures_and_records_once(signed_in, owner, paypal_enabled,
                                                                           paypal_sim):
    invoice, _redirect, approved = approved_at_paypal(signed_in, owner, paypal_sim)
    later = timezone.now() + timedelta(minutes=20)

    results = at_once([lambda: reconcile.reconcile_charges(now=later)] * 2 + [paypal_webhook(*approved)] * 2)

    assert_paid_once(invoice, "paypal")
    assert sum(result.get("recorded", 0) for result in results[:2]) + sum(
        text == "Payment recorded" for _status, text in results[2:]) == 1, results
    assert_captured_once(paypal_sim)
