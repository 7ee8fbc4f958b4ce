"""The demo's payments (payments.demo): a saved card, an automatic charge that paid, one that was declined and
waits for the client, and a bank statement with one line matched and one waiting for staff."""
import pytest

from billing.models import EmailLog, Invoice, Payment
from config import demo
from payments import demo as payments_demo
from payments.models import BankStatement, ChargeAttempt, PaymentMethod, StatementLine

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo_with_stripe(stripe_sim, monkeypatch):
    monkeypatch.setenv(payments_demo.URL_VARIABLE, stripe_sim.url)
    stripe_sim.api_key = ""  # the demo seeds its own key
    assert demo.load_demo() is True
    return stripe_sim


def counts():
    return (PaymentMethod.objects.count(), ChargeAttempt.objects.count(), Payment.objects.count(),
            EmailLog.objects.count(), BankStatement.objects.count(), StatementLine.objects.count(),
            Invoice.objects.count())


def test_the_demo_shows_each_payment_state_once(demo_with_stripe):
    frank = PaymentMethod.objects.get(client__email=payments_demo.FRANK)
    assert (frank.gateway, frank.last4, frank.is_default) == ("stripe", "4242", True)
    assert frank.method_id in demo_with_stripe.payment_methods  # the card exists at the simulator too

    charged = ChargeAttempt.objects.get(status=ChargeAttempt.Status.SUCCEEDED)
    assert (charged.kind, charged.method) == (ChargeAttempt.Kind.OFF_SESSION, frank)
    assert charged.invoice.status == Invoice.Status.PAID and charged.payment.gateway == "stripe"
    assert charged.payment.transaction_id in demo_with_stripe.intents  # charged through the simulator

    failed = ChargeAttempt.objects.get(status=ChargeAttempt.Status.FAILED)
    assert failed.invoice.client.email == payments_demo.CAROL and failed.reason == "generic_decline"
    assert failed.invoice.status == Invoice.Status.UNPAID and failed.next_retry_at is not None
    email = EmailLog.objects.get(template_name="Automatic Payment Failed")
    assert email.invoice == failed.invoice
    assert ChargeAttempt.objects.count() == 2

    statement = BankStatement.objects.get()
    assert statement.uploaded_by.username == demo.STAFF_USERNAME
    assert (statement.paid_count, statement.unmatched_count) == (1, 1)
    paid = StatementLine.objects.get(state=StatementLine.State.PAID)
    assert paid.invoice.status == Invoice.Status.PAID and paid.reference.startswith("RF")
    waiting = StatementLine.objects.get(state=StatementLine.State.UNMATCHED)
    assert (waiting.entry_reference, str(waiting.amount)) == ("DEMO-BANK-0002", "47.30")


def test_loading_again_adds_nothing(demo_with_stripe):
    before = counts()
    assert demo.load_demo() is False
    assert counts() == before


def test_the_saved_cards_are_seeded_again_on_a_fresh_simulator(demo_with_stripe):
    demo_with_stripe.reset()
    demo.load_demo()
    assert {card.method for card in payments_demo.CARDS} <= set(demo_with_stripe.payment_methods)


def test_without_the_simulator_the_same_states_are_recorded():
    demo.load_demo()
    assert ChargeAttempt.objects.filter(status="succeeded", payment__gateway="stripe").count() == 1
    assert ChargeAttempt.objects.filter(status="failed", reason="generic_decline").count() == 1
    assert EmailLog.objects.filter(template_name="Automatic Payment Failed").count() == 1
    assert StatementLine.objects.filter(state="unmatched").count() == 1
    before = counts()
    demo.load_demo()
    assert counts() == before
