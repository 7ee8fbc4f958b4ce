"""Client-area billing pages: order, pay from credit, add funds, PDF, upgrade/downgrade, cancellation."""
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from billing.models import CreditLedgerEntry, Invoice, Service
from billing.services.payments import payment_record
from portal.activity import Actor
from portal.models import Client
from tests.billing.conftest import mail_product
from tests.factories import InvoiceFactory, InvoiceItemFactory, ServiceFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def signed_in(client, owner):
    client.force_login(owner.owner_user)
    return client


def test_order_flow_shows_the_price_then_orders(signed_in, owner):
    product = mail_product(name="Mail Pro")
    catalogue = signed_in.get(reverse("clientarea:order"))
    assert b"Mail Pro" in catalogue.content
    form = {"product": product.pk, "domain": "shop.example", "cycle": "monthly", "option_mailboxes_basic": "2", "option_mailboxes_enhanced": "1"}
    review = signed_in.post(reverse("clientarea:order"), {**form, "action": "review"})
    assert review.status_code == 200 and b"15.00" in review.content  # 5 + 2×2 + 6
    bad = signed_in.post(reverse("clientarea:order"), {**form, "domain": "not a domain", "action": "order"})
    assert bad.status_code == 200 and b"is not a valid domain name" in bad.content
    assert not Service.objects.exists()
    done = signed_in.post(reverse("clientarea:order"), {**form, "action": "order"})
    service = Service.objects.get()
    invoice = Invoice.objects.get()
    assert done.status_code == 302 and done["Location"] == reverse("clientarea:invoice", args=[invoice.pk])
    assert (service.client, service.domain, service.status, invoice.total) == (owner, "shop.example", "pending", Decimal("15.00"))


def test_unknown_product_is_404(signed_in):
    assert signed_in.get(reverse("clientarea:order") + "?product=999999").status_code == 404
    assert signed_in.get(reverse("clientarea:order") + "?product=abc").status_code == 404


def test_pay_from_credit_and_pdf(signed_in, owner):
    invoice = InvoiceFactory(client=owner, total=Decimal("10.00"), subtotal=Decimal("10.00"))
    InvoiceItemFactory(invoice=invoice, amount=Decimal("10.00"), description="Mail – <b>x</b>.example")
    Client.objects.filter(pk=owner.pk).update(credit_balance=Decimal("25.00"))
    page = signed_in.get(reverse("clientarea:invoice", args=[invoice.pk]))
    assert b"Pay 10.00 USD from credit" in page.content
    response = signed_in.post(reverse("clientarea:invoice_pay_credit", args=[invoice.pk]))
    assert response.status_code == 302
    invoice.refresh_from_db()
    owner.refresh_from_db()
    assert invoice.status == "paid" and owner.credit_balance == Decimal("15.00")
    pdf = signed_in.get(reverse("clientarea:invoice_pdf", args=[invoice.pk]))
    assert pdf["Content-Type"] == "application/pdf" and pdf.content.startswith(b"%PDF")
    again = signed_in.post(reverse("clientarea:invoice_pay_credit", args=[invoice.pk]), follow=True)
    assert b"nothing to pay" in again.content


def test_back_from_a_cancelled_payment_the_invoice_says_nothing_was_charged(signed_in, owner):
    invoice = InvoiceFactory(client=owner, total=Decimal("10.00"), subtotal=Decimal("10.00"))
    url = reverse("clientarea:invoice", args=[invoice.pk])
    notice = b"The payment was cancelled: nothing was charged."
    assert notice in signed_in.get(url + "?payment=cancelled&token=EC-1").content  # PayPal adds its token
    assert notice not in signed_in.get(url).content


def test_add_funds_makes_an_invoice_whose_payment_adds_credit(signed_in, owner):
    too_small = signed_in.post(reverse("clientarea:add_funds"), {"action": "add_funds", "amount": "1.00"})
    assert b"Add between 5.00 and 10000.00" in too_small.content
    response = signed_in.post(reverse("clientarea:add_funds"), {"action": "add_funds", "amount": "50.00"})
    invoice = Invoice.objects.get(kind=Invoice.Kind.ADD_FUNDS)
    assert response["Location"] == reverse("clientarea:invoice", args=[invoice.pk])
    assert (invoice.total, invoice.tax) == (Decimal("50.00"), 0)
    payment_record(invoice=invoice, amount="50.00", transaction_id="topup-1", actor=Actor.system("test"))
    owner.refresh_from_db()
    assert owner.credit_balance == Decimal("50.00")
    assert CreditLedgerEntry.objects.get(client=owner).kind == "topup"
    page = signed_in.get(reverse("clientarea:add_funds"))
    assert b"Funds added" in page.content
    signed_in.post(reverse("clientarea:add_funds"), {"action": "preference"})
    owner.refresh_from_db()
    assert owner.apply_credit_to_invoices is False


def test_upgrade_page_shows_the_prorated_amount_and_confirms(signed_in, owner):
    from billing.models import ServiceConfigOption
    from billing.pricing import product_options

    product = mail_product()
    service = ServiceFactory(client=owner, product=product, recurring_amount=Decimal("5.00"))
    option = next(o for o in product_options(product) if o.code == "mailboxes_basic")
    ServiceConfigOption.objects.create(service=service, option=option, choice=option.choices.first(), quantity=0)
    url = reverse("clientarea:service_change", args=[service.pk])
    assert signed_in.get(url).status_code == 200
    form = {"product": product.pk, "option_mailboxes_basic": "3", "option_mailboxes_enhanced": "0"}
    review = signed_in.post(url, {**form, "action": "review"})
    quote = review.context["quote"]
    assert quote.new_recurring == Decimal("11.00") and b"What it costs" in review.content
    confirmed = signed_in.post(url, {**form, "action": "confirm", "expected_amount": str(quote.amount)})
    change = service.pending_change
    assert confirmed["Location"] == reverse("clientarea:invoice", args=[change.invoice_id])
    service.refresh_from_db()
    assert service.recurring_amount == Decimal("5.00")  # takes effect when the invoice is paid
    for page in (signed_in.get(url), signed_in.get(reverse("clientarea:service", args=[service.pk]))):
        assert b'data-testid="change-pending"' in page.content
        assert f'href="{reverse("clientarea:invoice", args=[change.invoice_id])}"'.encode() in page.content


def test_cancellation_request_at_the_end_of_the_period(signed_in, owner):
    service = ServiceFactory(client=owner)
    url = reverse("clientarea:service_cancel", args=[service.pk])
    unconfirmed = signed_in.post(url, {"cancellation_type": "end_of_period"})
    assert unconfirmed.status_code == 200 and b"This field is required" in unconfirmed.content
    signed_in.post(url, {"cancellation_type": "end_of_period", "reason": "closing", "confirm": "on"})
    service.refresh_from_db()
    assert (service.cancellation_type, service.cancellation_reason, service.status) == ("end_of_period", "closing", "active")
    page = signed_in.get(reverse("clientarea:service", args=[service.pk]))
    assert b"the service ends on" in page.content


@pytest.mark.parametrize("shown", ["abc", "NaN", "Infinity", ""])
def test_a_change_confirmed_with_an_amount_that_is_not_a_number_is_refused_not_a_server_error(signed_in, owner, shown):
    from billing.models import ServiceConfigOption
    from billing.pricing import product_options

    product = mail_product()
    service = ServiceFactory(client=owner, product=product, recurring_amount=Decimal("5.00"))
    option = next(o for o in product_options(product) if o.code == "mailboxes_basic")
    ServiceConfigOption.objects.create(service=service, option=option, choice=option.choices.first(), quantity=0)
    url = reverse("clientarea:service_change", args=[service.pk])
    form = {"product": product.pk, "option_mailboxes_basic": "3", "option_mailboxes_enhanced": "0"}
    response = signed_in.post(url, {**form, "action": "confirm", "expected_amount": shown})
    assert response.status_code == 200
    assert b"The amount shown is missing or not a number" in response.content
    service.refresh_from_db()
    assert service.pending_change is None and service.recurring_amount == Decimal("5.00")


@pytest.mark.parametrize("page", ["clientarea:invoice", "clientarea:invoice_pdf"])
def test_an_invoice_and_its_pdf_take_the_same_queries_for_1_or_25_lines(signed_in, owner, page):
    """The load test's invoice pages: lines and payments each one query, whatever their number."""
    def queries(invoice):
        with CaptureQueriesContext(connection) as context:
            assert signed_in.get(reverse(page, args=[invoice.pk])).status_code == 200
        return len(context)

    one = InvoiceFactory(client=owner)
    InvoiceItemFactory(invoice=one)
    many = InvoiceFactory(client=owner)
    InvoiceItemFactory.create_batch(25, invoice=many)
    assert queries(one) == queries(many)
