"""Staff pages: record a payment, adjust credit (reason required), add an order, run the generator, edit an
e-mail template in WHMCS syntax with a preview."""
from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from billing.models import CreditLedgerEntry, EmailLog, EmailTemplate, Invoice, Payment, Service
from portal.models import ActivityLog
from tests.billing.conftest import mail_product
from tests.factories import ClientFactory, InvoiceFactory, InvoiceItemFactory, ServiceFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(client, staff_user):
    client.force_login(staff_user)
    return client


def test_staff_record_a_payment_once(staff, staff_user):
    invoice = InvoiceFactory()
    InvoiceItemFactory(invoice=invoice)
    url = reverse("admin:billing_invoice_record_payment", args=[invoice.pk])
    assert b"Record a payment" in staff.get(url).content
    data = {"amount": "10.00", "gateway": "bank_transfer", "transaction_id": "WIRE-1", "note": ""}
    staff.post(url, data)
    response = staff.post(url, data, follow=True)
    assert b"already recorded" in response.content
    invoice.refresh_from_db()
    payment = Payment.objects.get()
    assert invoice.status == "paid" and payment.recorded_by == staff_user
    bad = staff.post(url, {**data, "transaction_id": ""})
    assert bad.status_code == 200 and b"This field is required" in bad.content
    page = staff.get(reverse("admin:billing_invoice_change", args=[invoice.pk]))
    assert page.status_code == 200 and b"WIRE-1" in page.content


def test_staff_adjust_credit_with_a_reason(staff):
    client = ClientFactory()
    url = reverse("admin:billing_creditledgerentry_adjust")
    missing = staff.post(url, {"client": client.pk, "amount": "15.00", "reason": ""})
    assert missing.status_code == 200 and not CreditLedgerEntry.objects.exists()
    below_zero = staff.post(url, {"client": client.pk, "amount": "-1.00", "reason": "oops"})
    assert b"below zero" in below_zero.content
    staff.post(url, {"client": client.pk, "amount": "15.00", "reason": "Goodwill for the outage"})
    client.refresh_from_db()
    assert client.credit_balance == Decimal("15.00")
    entry = ActivityLog.objects.get(action="credit.adjust")
    assert entry.actor_type == "staff" and "Goodwill" in entry.message
    assert staff.get(reverse("admin:billing_creditledgerentry_changelist")).status_code == 200


def test_staff_add_an_order(staff):
    client = ClientFactory()
    product = mail_product()
    url = reverse("admin:billing_service_add_order")
    assert staff.get(url).status_code == 200
    step = staff.post(url, {"client": client.pk, "product": product.pk, "domain": "", "cycle": "monthly", "action": "options"})
    assert b"Basic mailboxes" in step.content
    staff.post(url, {"client": client.pk, "product": product.pk, "domain": "staff.example", "cycle": "monthly",
                     "option_mailboxes_basic": "2", "option_mailboxes_enhanced": "0", "action": "order"})
    service = Service.objects.get()
    assert (service.client, service.status, service.recurring_amount) == (client, "pending", Decimal("9.00"))
    assert Invoice.objects.get(client=client).total == Decimal("9.00")


def test_staff_run_the_generator_and_cancel_an_invoice(staff):
    ServiceFactory(next_due_date=timezone.localdate() + timedelta(days=3), next_invoice_date=timezone.localdate() + timedelta(days=3))
    assert staff.get(reverse("admin:billing_invoice_generate")).status_code == 200
    staff.post(reverse("admin:billing_invoice_generate"))
    invoice = Invoice.objects.get()
    staff.post(reverse("admin:billing_invoice_changelist"), {"action": "cancel_invoices", "_selected_action": [invoice.pk]})
    invoice.refresh_from_db()
    assert invoice.status == "cancelled"


def test_email_template_in_whmcs_syntax_is_converted_and_previewed(staff):
    template = EmailTemplate.objects.get(name="Low Balance Alert")
    url = reverse("admin:billing_emailtemplate_change", args=[template.pk])
    data = {"name": template.name, "category": "general", "subject": "Low balance {$client_id}",
            "body": "Dear {$client_first_name},\nYour balance is ${$client_credit}."}
    staff.post(url, data)
    template.refresh_from_db()
    assert template.body == "Dear {{ client_first_name }},\nYour balance is ${{ client_credit }}."
    page = staff.get(url)
    assert b"Dear Alice," in page.content and b"Your balance is $4.50." in page.content
    broken = staff.post(url, {**data, "body": "{% if %}"})
    assert b"Template error" in broken.content
    smarty_block = staff.post(url, {**data, "body": "{if $client_credit}x{/if}"})
    assert b"Smarty blocks are not converted" in smarty_block.content


def test_email_template_refuses_tags_that_would_fail_or_leak_when_sent(staff):
    template = EmailTemplate.objects.get(name="Low Balance Alert")
    url = reverse("admin:billing_emailtemplate_change", args=[template.pk])
    before = (template.subject, template.body)
    # {% include %} inside an {% if %} renders in the preview (the branch is not taken) but fails at send time;
    # {% debug %} would print the server's modules into a customer's e-mail.
    for body in ("{% if client_id == 5 %}{% include 'x.html' %}{% endif %}", "{% debug %}", "{% load static %}"):
        page = staff.post(url, {"name": template.name, "category": "general", "subject": "s", "body": body})
        assert b"These template tags are not available in e-mails" in page.content
    template.refresh_from_db()
    assert (template.subject, template.body) == before


def test_email_log_resend(staff, django_capture_on_commit_callbacks, mailoutbox):
    client = ClientFactory()
    log = EmailLog.objects.create(event_key="t:1", template_name="Low Balance Alert", client=client, status="failed")
    with django_capture_on_commit_callbacks(execute=True):
        staff.post(reverse("admin:billing_emaillog_changelist"), {"action": "resend", "_selected_action": [log.pk]})
    log.refresh_from_db()
    assert log.status == "sent" and len(mailoutbox) == 1


def test_product_with_bad_disk_options_is_refused():
    from provisioning.admin_products import ProductForm
    from tests.factories import ProductGroupFactory

    data = {"group": ProductGroupFactory().pk, "name": "Mail", "type": "mail", "module": "", "sort_order": 0,
            "created_at": "2026-11-01 00:00:00", "module_options": '{"disk_tranche_size_gb": "0", "disk_tranche_price": "2"}'}
    form = ProductForm(data)
    assert not form.is_valid()
    assert "disk_tranche_size_gb must be more than 0" in str(form.errors["module_options"])
    form = ProductForm({**data, "module_options": '{"disk_tranche_size_gb": "5", "disk_tranche_price": "2"}'})
    assert form.is_valid(), form.errors
