"""Staff pages of bank transfer: uploading a statement pays what it matches and shows the rest; a file that is not
a statement is refused on the form; staff resolve unmatched lines; staff without the permission cannot."""
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from billing.models import Invoice, Payment, Service
from billing.payment_reference import invoice_reference_display, rf_reference
from payments.models import BankStatement, StatementLine
from portal.models import ActivityLog
from tests.billing.test_payments import suspended_overdue
from tests.factories import ClientFactory, InvoiceFactory, StaffFactory
from tests.payments.camt import camt053

pytestmark = pytest.mark.django_db
UPLOAD = "admin:payments_bankstatement_upload"


@pytest.fixture
def staff_client(client, staff):
    client.force_login(staff)
    return client


def eur_invoice(total="50.00", name="Acme Corp"):
    owner = ClientFactory(company_name=name, currency="EUR")
    return InvoiceFactory(client=owner, currency="EUR", subtotal=Decimal(total), total=Decimal(total))


def test_uploading_a_camt053_pays_its_invoices_and_lists_the_rest(staff_client, staff):
    invoice = eur_invoice()
    xml = camt053([{"ref": "E1", "amount": "50.00", "strd": rf_reference(invoice.pk)},
                   {"ref": "E2", "amount": "7.00", "name": "Nobody"},
                   {"ref": "E3", "amount": "x"}])
    response = staff_client.post(reverse(UPLOAD), {
        "file": SimpleUploadedFile("dec.xml", xml), "format": "camt053", "decimal": ".", "date_format": "%Y-%m-%d"},
        follow=True)
    statement = BankStatement.objects.get()
    assert response.redirect_chain[-1][0] == reverse("admin:payments_bankstatement_change", args=[statement.pk])
    page = response.content.decode()
    assert "Statement dec.xml: 2 new credit line(s), 1 paid, 1 waiting for staff, 0 already imported, 1 could not be read." in page
    assert "Entry 3: the amount &#x27;x&#x27; is not a number" in page
    assert Invoice.objects.get(pk=invoice.pk).status == "paid"
    assert statement.uploaded_by == staff
    lines = staff_client.get(reverse("admin:payments_statementline_changelist") + f"?statement__id__exact={statement.pk}")
    assert lines.status_code == 200 and "E2" in lines.content.decode() and "Resolve" in lines.content.decode()


def test_uploading_a_csv_with_its_mapping(staff_client):
    invoice = eur_invoice("1234.50")
    data = f"Datum;Betrag;Text;Name;Ref\n04.12.2026;1.234,50;{rf_reference(invoice.pk)};Acme;B1\n".encode()
    response = staff_client.post(reverse(UPLOAD), {
        "file": SimpleUploadedFile("dec.csv", data), "format": "csv", "entry_reference_column": "Ref",
        "amount_column": "Betrag", "date_column": "Datum", "default_currency": "eur", "reference_column": "Text",
        "payer_name_column": "Name", "decimal": ",", "date_format": "%d.%m.%Y", "delimiter": ""})
    assert response.status_code == 302
    assert Invoice.objects.get(pk=invoice.pk).status == "paid"
    assert StatementLine.objects.get().booking_date.isoformat() == "2026-12-04"


def test_a_csv_without_its_mapping_or_a_file_that_is_no_statement_is_refused_on_the_form(staff_client):
    response = staff_client.post(reverse(UPLOAD), {
        "file": SimpleUploadedFile("x.csv", b"a;b\n"), "format": "csv", "decimal": ".", "date_format": "%Y-%m-%d"})
    assert response.status_code == 200
    assert response.context["form"].errors == {
        "entry_reference_column": ["Name the column of the CSV file's header."],
        "amount_column": ["Name the column of the CSV file's header."],
        "default_currency": ["Name the currency column, or give the statement's currency."],
    }
    response = staff_client.post(reverse(UPLOAD), {
        "file": SimpleUploadedFile("x.xml", b"<html/>"), "format": "camt053", "decimal": ".", "date_format": "%Y-%m-%d"})
    assert response.context["form"].errors["file"][0].startswith("This is not an ISO 20022 camt.053 bank statement")
    assert BankStatement.objects.count() == 0 and ActivityLog.objects.count() == 0


def test_staff_assign_an_unmatched_line_by_invoice_number(staff_client, staff):
    invoice = eur_invoice("7.00")
    staff_client.post(reverse(UPLOAD), {
        "file": SimpleUploadedFile("s.xml", camt053([{"ref": "E2", "amount": "7.00", "name": "Nobody"}])),
        "format": "camt053", "decimal": ".", "date_format": "%Y-%m-%d"})
    line = StatementLine.objects.get()
    url = reverse("admin:payments_statementline_resolve", args=[line.pk])
    assert "Why unmatched" in staff_client.get(url).content.decode()
    bad = staff_client.post(url, {"action": "assign", "invoice": "NO-SUCH"})
    assert bad.context["form"].errors == {"invoice": ["No invoice has the number, id or reference 'NO-SUCH'."]}
    response = staff_client.post(url, {"action": "assign", "invoice": invoice.number})
    assert response.status_code == 302
    line.refresh_from_db()
    assert (line.state, line.invoice_id, line.resolved_by) == ("assigned", invoice.pk, staff)
    assert Invoice.objects.get(pk=invoice.pk).status == "paid"
    assert Payment.objects.get().transaction_id == "E2"
    assert staff_client.get(url).status_code == 302  # resolved: back to the line


def test_staff_without_the_permissions_cannot_upload_or_resolve(client):
    client.force_login(StaffFactory())
    assert client.get(reverse(UPLOAD)).status_code == 403
    assert client.get(reverse("admin:payments_statementline_resolve", args=[1])).status_code == 403


def test_the_staff_invoice_page_shows_the_payment_reference(staff_client):
    invoice = eur_invoice()
    page = staff_client.get(reverse("admin:billing_invoice_change", args=[invoice.pk])).content.decode()
    assert invoice_reference_display(invoice) in page


def test_a_statement_uploaded_by_staff_pays_an_overdue_invoice_and_the_service_is_unsuspended(
        staff_client, django_capture_on_commit_callbacks):
    service, invoice = suspended_overdue()
    xml = camt053([{"ref": "E1", "amount": "10.00", "currency": invoice.currency, "ustrd": invoice_reference_display(invoice)}])
    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(reverse(UPLOAD), {
            "file": SimpleUploadedFile("s.xml", xml), "format": "camt053", "decimal": ".", "date_format": "%Y-%m-%d"})
    assert response.status_code == 302
    invoice.refresh_from_db()
    service.refresh_from_db()
    assert (invoice.status, service.status) == ("paid", Service.Status.ACTIVE)
    assert Payment.objects.filter(invoice=invoice).count() == 1
    assert ActivityLog.objects.filter(action="service.unsuspend", target_id=str(service.pk)).count() == 1
    assert ActivityLog.objects.filter(action="invoice.paid").count() == 1


def test_the_next_csv_upload_offers_the_last_mapping(staff_client):
    eur_invoice("5.00")
    staff_client.post(reverse(UPLOAD), {
        "file": SimpleUploadedFile("a.csv", b"Betrag;Ref\n5,00;B1\n"), "format": "csv", "entry_reference_column": "Ref",
        "amount_column": "Betrag", "default_currency": "EUR", "decimal": ",", "date_format": "%d.%m.%Y",
        "delimiter": ";"})
    assert BankStatement.objects.get().mapping["amount"] == "Betrag"
    form = staff_client.get(reverse(UPLOAD)).context["form"]
    assert (form.initial["amount_column"], form.initial["entry_reference_column"], form.initial["decimal"],
            form.initial["date_format"], form.initial["delimiter"]) == ("Betrag", "Ref", ",", "%d.%m.%Y", ";")
