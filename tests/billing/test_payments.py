"""Payments: a repeated notification pays once; partial and over-payments; the due date moves on exactly once;
paying unsuspends services suspended for non-payment (a module error never loses the payment)."""
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from billing.models import AutomationSettings, CreditLedgerEntry, EmailLog, Invoice, Payment, Service
from billing.selectors import ledger_balance
from billing.services.generation import generate_invoices
from billing.services.payments import invoice_pay_from_credit, payment_record
from portal.models import ActivityLog, Client
from provisioning import lifecycle
from provisioning.models import ModuleCall
from provisioning.modules.fake import FakeModule
from tests.factories import ClientFactory, ProductFactory, ServiceFactory

pytestmark = pytest.mark.django_db
S = Service.Status
DUE = date(2026, 12, 1)


def billed_service(**kwargs):
    """A service whose period starting DUE is invoiced (and unpaid)."""
    service = ServiceFactory(next_due_date=DUE, next_invoice_date=DUE, registration_date=date(2025, 12, 1), **kwargs)
    generate_invoices(date=DUE - timedelta(days=5))
    return service, Invoice.objects.get(items__service=service)


def test_a_repeated_notification_is_applied_once(system):
    service, invoice = billed_service()
    first = payment_record(invoice=invoice, amount="10.00", gateway="stripe", transaction_id="ch_1", actor=system)
    again = payment_record(invoice=invoice, amount="10.00", gateway="stripe", transaction_id="ch_1", actor=system)
    assert first.created and not again.created and again.payment.pk == first.payment.pk
    invoice.refresh_from_db()
    assert (invoice.status, invoice.amount_paid) == ("paid", Decimal("10.00"))
    assert Payment.objects.count() == 1
    service.refresh_from_db()
    assert service.next_due_date == date(2027, 1, 1)  # moved on once, not twice
    assert ActivityLog.objects.filter(action="payment.record").count() == 1


def test_the_same_transaction_id_for_another_amount_or_invoice_is_refused(system):
    _, invoice = billed_service()
    payment_record(invoice=invoice, amount="4.00", gateway="stripe", transaction_id="ch_2", actor=system)
    with pytest.raises(ValidationError) as exc:
        payment_record(invoice=invoice, amount="6.00", gateway="stripe", transaction_id="ch_2", actor=system)
    assert "already recorded" in exc.value.message_dict["transaction_id"][0]
    invoice.refresh_from_db()
    assert invoice.amount_paid == Decimal("4.00")


def test_partial_payments_then_the_rest(system):
    service, invoice = billed_service()
    payment_record(invoice=invoice, amount="3.00", transaction_id="p1", actor=system)
    invoice.refresh_from_db()
    assert (invoice.status, invoice.balance) == ("unpaid", Decimal("7.00"))
    service.refresh_from_db()
    assert service.next_due_date == DUE
    payment_record(invoice=invoice, amount="7.00", transaction_id="p2", actor=system)
    invoice.refresh_from_db()
    service.refresh_from_db()
    assert (invoice.status, invoice.balance, service.next_due_date) == ("paid", 0, date(2027, 1, 1))
    assert EmailLog.objects.filter(event_key=f"invoice.paid:{invoice.pk}").count() == 1


def test_an_overpayment_goes_to_credit(system):
    _, invoice = billed_service()
    result = payment_record(invoice=invoice, amount="25.00", transaction_id="over", actor=system)
    assert (result.applied, result.credited) == (Decimal("10.00"), Decimal("15.00"))
    client = Client.objects.get(pk=invoice.client_id)
    assert client.credit_balance == Decimal("15.00") == ledger_balance(client)
    assert CreditLedgerEntry.objects.get().kind == "overpayment"
    # A payment on an invoice already paid is all credit.
    payment_record(invoice=invoice, amount="5.00", transaction_id="late", actor=system)
    client.refresh_from_db()
    assert client.credit_balance == Decimal("20.00")


@pytest.mark.parametrize(("amount", "field"), [("0", "amount"), ("-3", "amount"), ("1.234", "amount"), ("ten", "amount")])
def test_bad_amounts_are_refused_with_the_field(system, amount, field):
    _, invoice = billed_service()
    with pytest.raises(ValidationError) as exc:
        payment_record(invoice=invoice, amount=amount, transaction_id="x", actor=system)
    assert field in exc.value.message_dict
    assert Payment.objects.count() == 0


def test_paying_periods_out_of_order_moves_the_due_date_past_all_paid_ones(system):
    service, first = billed_service()
    generate_invoices(date=DUE + timedelta(days=27))  # bills January
    second = Invoice.objects.exclude(pk=first.pk).get()
    payment_record(invoice=second, amount="10.00", transaction_id="jan", actor=system)
    service.refresh_from_db()
    assert service.next_due_date == DUE  # December is still unpaid
    payment_record(invoice=first, amount="10.00", transaction_id="dec", actor=system)
    service.refresh_from_db()
    assert service.next_due_date == date(2027, 2, 1)


def test_pay_from_credit(system):
    _, invoice = billed_service()
    client = Client.objects.get(pk=invoice.client_id)
    with pytest.raises(ValidationError, match="no credit"):
        invoice_pay_from_credit(invoice=invoice, actor=system)
    Client.objects.filter(pk=client.pk).update(credit_balance=Decimal("6.00"))
    invoice_pay_from_credit(invoice=invoice, actor=system)
    invoice.refresh_from_db()
    assert (invoice.credit_applied, invoice.balance, invoice.status) == (Decimal("6.00"), Decimal("4.00"), "unpaid")
    Client.objects.filter(pk=client.pk).update(credit_balance=Decimal("100.00"))
    invoice_pay_from_credit(invoice=invoice, actor=system)
    invoice.refresh_from_db()
    client.refresh_from_db()
    assert invoice.status == "paid" and client.credit_balance == Decimal("96.00")
    with pytest.raises(ValidationError, match="paid"):
        invoice_pay_from_credit(invoice=invoice, actor=system)


def suspended_overdue(product=None):
    """A provisioned service suspended for non-payment with its period invoiced and overdue."""
    service = ServiceFactory(
        status=S.PENDING, product=product or ProductFactory(module="fake"), next_due_date=DUE,
        next_invoice_date=DUE, registration_date=date(2025, 12, 1),
    )
    lifecycle.service_create(service=service, actor=lifecycle_actor())
    generate_invoices(date=DUE - timedelta(days=5))
    lifecycle.service_suspend(service=service, actor=lifecycle_actor(), reason=Service.SuspendReason.OVERDUE)
    Invoice.objects.update(due_date=timezone.localdate() - timedelta(days=3))
    return service, Invoice.objects.get(items__service=service)


def lifecycle_actor():
    from portal.activity import Actor

    return Actor.system("setup")


def test_payment_unsuspends_a_service_suspended_for_non_payment(system, django_capture_on_commit_callbacks, mailoutbox):
    service, invoice = suspended_overdue()
    with django_capture_on_commit_callbacks(execute=True):
        payment_record(invoice=invoice, amount="10.00", transaction_id="pay", actor=system)
    service.refresh_from_db()
    assert service.status == S.ACTIVE
    assert FakeModule.domains[service.domain].status == "active"
    assert {m.subject for m in mailoutbox} >= {f"Service reactivated: {service.domain}"}
    assert EmailLog.objects.filter(template_name="Service Unsuspension Notification", status="sent").count() == 1


def test_no_unsuspension_when_the_setting_is_off_or_the_reason_is_another(system, django_capture_on_commit_callbacks):
    settings = AutomationSettings.load()
    settings.unsuspend_on_payment = False
    settings.save()
    service, invoice = suspended_overdue()
    with django_capture_on_commit_callbacks(execute=True):
        payment_record(invoice=invoice, amount="10.00", transaction_id="pay", actor=system)
    service.refresh_from_db()
    assert service.status == S.SUSPENDED


def test_a_module_error_while_unsuspending_keeps_the_payment(system, django_capture_on_commit_callbacks):
    service, invoice = suspended_overdue()
    FakeModule.fail_next("unsuspend", "Server unreachable", permanent=True)
    with django_capture_on_commit_callbacks(execute=True):
        payment_record(invoice=invoice, amount="10.00", transaction_id="pay", actor=system)
    invoice.refresh_from_db()
    service.refresh_from_db()
    assert invoice.status == "paid" and Payment.objects.filter(transaction_id="pay").exists()
    assert service.status == S.SUSPENDED
    assert ModuleCall.objects.filter(service=service, action="unsuspend", success=False, awaiting_retry=True).exists()


def test_an_auto_accept_product_is_created_when_its_first_invoice_is_paid(system, django_capture_on_commit_callbacks):
    from billing.services.orders import order_create
    from tests.billing.conftest import priced_product

    client = ClientFactory(apply_credit_to_invoices=False)
    auto = priced_product(module="fake", auto_accept_on_payment=True)
    manual = priced_product(module="fake", auto_accept_on_payment=False)
    orders = [
        order_create(client=client, product=p, domain=f"{p.pk}.example.com", cycle="monthly", option_values={}, actor=system)
        for p in (auto, manual)
    ]
    with django_capture_on_commit_callbacks(execute=True):
        for n, order in enumerate(orders):
            payment_record(invoice=order.invoice, amount=order.invoice.total, transaction_id=f"o{n}", actor=system)
    statuses = [Service.objects.get(pk=o.service.pk).status for o in orders]
    assert statuses == [S.ACTIVE, S.PENDING]
    today = timezone.localdate()
    assert Service.objects.get(pk=orders[0].service.pk).next_due_date > today


def test_a_gateway_fee_with_three_decimals_is_kept_to_two_half_up(system):
    _, invoice = billed_service()
    result = payment_record(invoice=invoice, amount="10.00", gateway="stripe", transaction_id="pi_1", actor=system,
                            fees=Decimal("0.385"))
    assert Payment.objects.get(pk=result.payment.pk).fees == Decimal("0.39")  # half up, not to the even 0.38
