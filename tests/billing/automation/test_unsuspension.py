"""Seed 004 "Enable Unsuspension when a client makes a payment" (+ its e-mail), as the billing engine's payment
flow does it (billing.services.payments.after_invoices_paid), seen from the automation side: only suspensions
for overdue payment, only when enabled, the e-mail only when enabled."""
import pytest

from billing import emails
from billing.automation.engine import run_automation
from billing.models import EmailLog, Invoice, Service
from billing.services.payments import payment_record
from portal.activity import Actor
from tests.billing.automation.conftest import RUN, S, fake_calls, overdue_service

pytestmark = pytest.mark.django_db


def suspended_by_automation():
    service = overdue_service(days=5)
    run_automation(date=RUN)
    service.refresh_from_db()
    assert (service.status, service.suspend_reason) == (S.SUSPENDED, Service.SuspendReason.OVERDUE)
    return service


def pay(service, django_capture_on_commit_callbacks):
    invoice = Invoice.objects.get(items__service=service, status=Invoice.Status.UNPAID)
    with django_capture_on_commit_callbacks(execute=True):
        payment_record(invoice=invoice, amount=invoice.balance, transaction_id=f"tx-{service.pk}",
                       actor=Actor.system("test"))
    service.refresh_from_db()
    return service


def unsuspension_emails(service):
    return EmailLog.objects.filter(template_name=emails.SERVICE_UNSUSPENDED, service=service).count()


def test_paying_unsuspends_an_overdue_suspension_and_sends_the_email(automation, django_capture_on_commit_callbacks):
    automation(unsuspend_on_payment=True, send_unsuspension_email=True)
    service = pay(suspended_by_automation(), django_capture_on_commit_callbacks)
    assert (service.status, service.suspend_reason) == (S.ACTIVE, "")
    assert fake_calls("unsuspend") == [service.domain]
    assert unsuspension_emails(service) == 1
    assert run_automation(date=RUN).service_rows("suspend") == []  # paid up: not suspended again


def test_no_email_when_the_unsuspension_email_is_off(automation, django_capture_on_commit_callbacks):
    automation(unsuspend_on_payment=True, send_unsuspension_email=False)
    service = pay(suspended_by_automation(), django_capture_on_commit_callbacks)
    assert service.status == S.ACTIVE and unsuspension_emails(service) == 0


def test_nothing_when_unsuspension_on_payment_is_off(automation, django_capture_on_commit_callbacks):
    automation(unsuspend_on_payment=False)
    service = pay(suspended_by_automation(), django_capture_on_commit_callbacks)
    assert service.status == S.SUSPENDED and fake_calls("unsuspend") == []


@pytest.mark.parametrize("reason", [Service.SuspendReason.MANUAL, Service.SuspendReason.VOIP_CREDIT])
def test_other_suspensions_stay_suspended_after_a_payment(automation, django_capture_on_commit_callbacks, reason):
    automation(unsuspend_on_payment=True)
    service = overdue_service(days=5, status=S.SUSPENDED, suspend_reason=reason)
    service = pay(service, django_capture_on_commit_callbacks)
    assert (service.status, service.suspend_reason) == (S.SUSPENDED, reason)
    assert fake_calls("unsuspend") == [] and unsuspension_emails(service) == 0
