"""Cancellation requests; e-mail templates (WHMCS merge fields, Smarty texts) and sending once per event."""
from datetime import date
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from billing import emails
from billing.models import EmailLog, EmailTemplate, Invoice, InvoiceItem, Service
from billing.services.cancellation import cancellation_request, cancellations_process
from billing.services.generation import generate_invoices
from billing.services.payments import payment_record
from portal import mail_text
from portal.models import ActivityLog, Client
from provisioning import lifecycle
from provisioning.modules.fake import FakeModule
from tests.factories import ClientFactory, InvoiceFactory, InvoiceItemFactory, ProductFactory, ServiceFactory

pytestmark = pytest.mark.django_db
S = Service.Status


def live_service(system, **kwargs):
    service = ServiceFactory(status=S.PENDING, product=ProductFactory(module="fake"), registration_date=date(2025, 12, 1), **kwargs)
    lifecycle.service_create(service=service, actor=system)
    return service


def test_end_of_period_cancellation_cancels_later_unpaid_invoices_and_waits(system):
    service = live_service(system, next_due_date=date(2026, 12, 1), next_invoice_date=date(2026, 12, 1))
    other = ServiceFactory(client=service.client, next_due_date=date(2026, 12, 1), next_invoice_date=date(2026, 12, 1))
    generate_invoices(date=date(2026, 11, 20))  # one invoice with both services' December
    shared = Invoice.objects.get()
    payment_record(invoice=shared, amount="5.00", transaction_id="part", actor=system)
    cancellation_request(service=service, cancellation_type="end_of_period", reason="moving", actor=system)
    service.refresh_from_db()
    assert (service.status, service.cancellation_type) == (S.ACTIVE, "end_of_period")
    shared.refresh_from_db()
    assert shared.status == "unpaid" and shared.total == Decimal("10.00") and shared.balance == Decimal("5.00")
    moved = InvoiceItem.objects.get(service=service)
    assert moved.invoice.status == "cancelled" and moved.invoice.number is None  # seed 001: split off, cancelled
    assert InvoiceItem.objects.get(service=other).invoice_id == shared.pk
    # Not yet: the paid-up period runs to 2026-12-01.
    assert cancellations_process(date=date(2026, 11, 30), actor=system).cancelled == []
    assert cancellations_process(date=date(2026, 12, 1), actor=system).cancelled == [service]
    service.refresh_from_db()
    assert service.status == S.CANCELLED and FakeModule.domains[service.domain].status == "deleted"
    with pytest.raises(ValidationError):
        cancellation_request(service=service, cancellation_type="immediate", reason="", actor=system)


def test_immediate_cancellation_runs_now_and_returns_paid_money_to_credit(system):
    service = live_service(system, next_due_date=date(2026, 12, 1), next_invoice_date=date(2026, 12, 1))
    generate_invoices(date=date(2026, 11, 20))
    invoice = Invoice.objects.get()
    payment_record(invoice=invoice, amount="4.00", transaction_id="p", actor=system)
    cancellation_request(service=service, cancellation_type="immediate", reason="", actor=system)
    service.refresh_from_db()
    invoice.refresh_from_db()
    assert service.status == S.CANCELLED and invoice.status == "cancelled"
    assert Client.objects.get(pk=service.client_id).credit_balance == Decimal("4.00")
    assert ActivityLog.objects.filter(action="service.cancellation_request").count() == 1


def test_an_immediate_cancellation_that_the_module_refuses_is_retried_by_the_run(system):
    service = live_service(system, next_due_date=date(2026, 12, 1))
    FakeModule.fail_next("terminate", "Timeout")
    from provisioning.modules.base import ModuleError

    with pytest.raises(ModuleError):
        cancellation_request(service=service, cancellation_type="immediate", reason="", actor=system)
    service.refresh_from_db()
    assert (service.status, service.cancellation_type) == (S.ACTIVE, "immediate")
    assert cancellations_process(date=date(2026, 11, 21), actor=system).cancelled == [service]


def test_a_bad_cancellation_type_is_a_field_error(system):
    with pytest.raises(ValidationError) as exc:
        cancellation_request(service=ServiceFactory(), cancellation_type="tomorrow", reason="", actor=system)
    assert "cancellation_type" in exc.value.message_dict


SEED_LOW_BALANCE = """Dear {$client_first_name},
Account# {$client_id} is: {$client_credit}
Your current low balance notification is set at ${$client_custom_field_lowbalancethreshold}.00"""
SEED_ZERO_BALANCE = """Dear {$client_name},
Credit Balance: ${$client_credit}
Outstanding Balance: {$client_due_invoices_balance}
Low Balance Threshold: ${$client_custom_field_lowbalancethreshold}.00"""


def test_pasted_whmcs_texts_render_with_the_seed_merge_fields():
    client = ClientFactory(first_name="Alice", last_name="Archer", low_balance_threshold=Decimal("10"))
    client.credit_balance = Decimal("3.5")
    fields = emails.merge_fields(client=client, due_balance=Decimal("12.00"))
    assert mail_text.render_text(SEED_LOW_BALANCE, fields) == (
        f"Dear Alice,\nAccount# {client.pk} is: 3.50\nYour current low balance notification is set at $10.00"
    )
    assert mail_text.render_text(SEED_ZERO_BALANCE, fields) == (
        "Dear Alice Archer,\nCredit Balance: $3.50\nOutstanding Balance: 12.00\nLow Balance Threshold: $10.00"
    )
    assert mail_text.smarty_to_django("{$invoice_num} {{ invoice_total }}") == "{{ invoice_num }} {{ invoice_total }}"
    assert mail_text.unsupported_smarty("{if $x}a{/if}") == ["{/if}", "{if $x}"]


def test_the_seeded_templates_render_with_sample_and_real_data():
    names = set(EmailTemplate.objects.values_list("name", flat=True))
    assert names >= {
        emails.INVOICE_CREATED, emails.INVOICE_PAID, emails.INVOICE_OVERDUE, emails.SERVICE_SUSPENDED,
        emails.SERVICE_UNSUSPENDED, emails.SERVICE_TERMINATED, emails.LOW_BALANCE, emails.VOIP_ZERO_BALANCE,
    }
    sample = emails.sample_context()
    for template in EmailTemplate.objects.all():
        subject, body = emails.render_template(template, sample)
        assert "{{" not in body and "{$" not in body and subject
    low = EmailTemplate.objects.get(name=emails.LOW_BALANCE)
    assert "This is a friendly reminder that your account is low in funding." in low.body
    _, body = emails.render_template(low, sample)
    assert "Account# 1001 is: 4.50" in body and "set at $10.00" in body


def test_one_event_sends_once(system, django_capture_on_commit_callbacks, mailoutbox):
    client = ClientFactory()
    invoice = InvoiceFactory(client=client)
    InvoiceItemFactory(invoice=invoice)
    with django_capture_on_commit_callbacks(execute=True):
        first = emails.queue_email(template_name=emails.INVOICE_CREATED, client=client, invoice=invoice, event_key="x:1")
        again = emails.queue_email(template_name=emails.INVOICE_CREATED, client=client, invoice=invoice, event_key="x:1")
    assert len(first) == 1 and again == []
    assert len(mailoutbox) == 1 and mailoutbox[0].to == [client.email]
    log = EmailLog.objects.get()
    assert (log.status, log.subject) == ("sent", f"Invoice {invoice.number} from Hosting Portal")
    assert emails.deliver(log_ids=[log.pk]) == (0, [])  # a second delivery attempt sends nothing
    assert len(mailoutbox) == 1


def test_a_missing_or_disabled_template_is_logged_as_skipped(django_capture_on_commit_callbacks, mailoutbox):
    client = ClientFactory()
    EmailTemplate.objects.filter(name=emails.LOW_BALANCE).update(disabled=True)
    with django_capture_on_commit_callbacks(execute=True):
        emails.queue_email(template_name=emails.LOW_BALANCE, client=client, event_key="low:1")
        emails.queue_email(template_name="No Such Template", client=client, event_key="nope:1")
    assert mailoutbox == []
    assert sorted(EmailLog.objects.values_list("status", flat=True)) == ["skipped", "skipped"]


def test_a_stored_template_including_another_fails_its_own_email_and_the_batch_still_sends(mailoutbox):
    # Saved before the staff form refused {% include %}: rendering it raises TemplateDoesNotExist at send time.
    EmailTemplate.objects.filter(name=emails.LOW_BALANCE).update(body="{% include 'x.txt' %}")
    client = ClientFactory()
    broken = emails.queue_email(template_name=emails.LOW_BALANCE, client=client, event_key="low:inc")
    fine = emails.queue_email(template_name=emails.VOIP_ZERO_BALANCE, client=client, event_key="zero:inc")
    assert emails.deliver(log_ids=broken + fine) == (1, [])
    statuses = dict(EmailLog.objects.values_list("template_name", "status"))
    assert statuses == {emails.LOW_BALANCE: "failed", emails.VOIP_ZERO_BALANCE: "sent"}
    assert EmailLog.objects.get(template_name=emails.LOW_BALANCE).error == "Template error: x.txt"
    assert len(mailoutbox) == 1


def test_a_mail_server_failure_is_put_back_then_sent_once(mailoutbox, monkeypatch):
    from django.core.mail.backends.locmem import EmailBackend

    client = ClientFactory()
    ids = emails.queue_email(template_name=emails.LOW_BALANCE, client=client, event_key="low:2")
    original = EmailBackend.send_messages
    monkeypatch.setattr(EmailBackend, "send_messages", lambda self, messages: (_ for _ in ()).throw(OSError("Connection refused")))
    assert emails.deliver(log_ids=ids) == (0, ids)
    log = EmailLog.objects.get()
    assert (log.status, log.error) == ("queued", "OSError: Connection refused")
    monkeypatch.setattr(EmailBackend, "send_messages", original)
    assert emails.deliver(log_ids=ids) == (1, [])
    assert emails.deliver(log_ids=ids) == (0, [])
    log.refresh_from_db()
    assert (log.status, log.attempts, len(mailoutbox)) == ("sent", 2, 1)
