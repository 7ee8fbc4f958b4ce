"""Invoices as legal documents (issue 17, part B): the seller profile and its bank account per currency, the
document every view prints (billing/documents.py), the PDF looked at as images, the page, the staff print view
and the e-mail. The PDFs are rendered to PNG with pypdfium2 and kept under tests/browser/screenshots/ (the tests'
artifacts, gitignored) for people to look at; their text is read back with the same library."""
from datetime import date, timedelta
from decimal import Decimal
from io import BytesIO
from pathlib import Path
from types import SimpleNamespace

import pypdfium2
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from PIL import Image

from billing import emails
from billing.admin_seller import SellerProfileForm, read_logo
from billing.demo import demo_logo, load_seller_profile
from billing.documents import TaxRow, credit_note_document, invoice_document, tax_breakdown
from billing.models import (
    CreditNote, EmailTemplate, Invoice, InvoiceItem, InvoiceTaxLine, Payment, SellerBankAccount, SellerProfile,
)
from billing.payment_reference import bank_details, invoice_reference_display
from billing.pdf import document_pdf, invoice_pdf
from billing.services.credit_notes import credit_note_issue
from portal.activity import Actor
from portal.models import ActivityLog
from tests.factories import ClientFactory, InvoiceFactory

ARTIFACTS = Path(__file__).resolve().parents[1] / "browser" / "screenshots"


def pdf_pages(content, name):
    """Each page's text, read with pypdfium2; each page is also rendered to ARTIFACTS/<name>-page<n>.png."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    texts = []
    pdf = pypdfium2.PdfDocument(content)
    try:
        for number, page in enumerate(pdf, start=1):
            texts.append(page.get_textpage().get_text_range().replace("\r\n", "\n"))
            page.render(scale=1.6).to_pil().save(ARTIFACTS / f"{name}-page{number}.png")
    finally:
        pdf.close()
    return texts


@pytest.fixture
def seller(db):
    profile = SellerProfile.objects.create(
        legal_name="Example Hosting GmbH", address1="Hauptstraße 5", city="Berlin", postcode="10115", country="DE",
        tax_id="DE123456789", company_registration="Amtsgericht Berlin HRB 12345",
        email="billing@example-hosting.example",
        phone="+49 30 1234567", website="https://example-hosting.example", logo=demo_logo(), logo_type="image/png",
        invoice_footer="Payable within 14 days. Thank you for your business.",
    )
    SellerBankAccount.objects.create(profile=profile, currency="EUR", account_holder="Example Hosting GmbH",
                                     iban="DE89370400440532013000", bic="COBADEFFXXX", bank_name="Commerzbank")
    SellerBankAccount.objects.create(profile=profile, currency="USD", account_holder="Example Hosting GmbH",
                                     account_number="000123456789", routing_code="026009593",
                                     bic="BOFAUS3N", bank_name="Bank of America")
    return profile


@pytest.fixture
def buyer(db):
    client = ClientFactory(company_name="Acme Widgets GmbH", first_name="Alice", last_name="Archer",
                           address1="Am Markt 1", city="Hamburg", postcode="20095", country="DE", currency="EUR")
    if hasattr(client, "vat_number"):  # the field comes with the tax half of issue 17
        client.vat_number = "DE987654321"
        client.save()
    return client


def invoice_with_lines(client, count=3, *, paid="20.00", number="INV-2026-000042"):
    invoice = InvoiceFactory(client=client, currency="EUR", tax_rate=Decimal("19.000"), number=number,
                             date=date(2026, 11, 1), due_date=date(2026, 11, 15))
    start = date(2026, 11, 15)
    items = [InvoiceItem(invoice=invoice, description=f"Mail Business – shop{n}.example", amount=Decimal("12.00"),
                         kind=InvoiceItem.Kind.SERVICE, period_start=start, period_end=start + timedelta(days=29),
                         sort_order=n) for n in range(count)]
    items.append(InvoiceItem(invoice=invoice, description="Setup fee (not taxed)", amount=Decimal("5.00"),
                             taxable=False, sort_order=count))
    InvoiceItem.objects.bulk_create(items)
    base = Decimal("12.00") * count
    invoice.subtotal = base + Decimal("5.00")
    invoice.tax = (base * Decimal("0.19")).quantize(Decimal("0.01"))
    invoice.total = invoice.subtotal + invoice.tax
    invoice.amount_paid = Decimal(paid)
    invoice.save()
    InvoiceTaxLine.objects.create(invoice=invoice, level=1, name="VAT", rate=Decimal("19.000"), country="DE",
                                  base=base, tax=invoice.tax)
    if invoice.amount_paid:
        Payment.objects.create(invoice=invoice, client=client, amount=invoice.amount_paid, currency="EUR",
                               gateway="stripe", transaction_id=f"pi_{invoice.pk}")
    return Invoice.objects.select_related("client").prefetch_related("items", "payments", "tax_lines").get(pk=invoice.pk)


def test_the_tax_breakdown_is_the_invoices_tax_lines_with_compound_rates_named(seller, buyer):
    invoice = invoice_with_lines(buyer)
    assert tax_breakdown(invoice) == [TaxRow("VAT", Decimal("19.000"), Decimal("36.00"), Decimal("6.84"))]
    InvoiceTaxLine.objects.create(invoice=invoice, level=2, name="Local", rate=Decimal("1.000"), compound=True,
                                  base=Decimal("42.84"), tax=Decimal("0.43"))
    invoice = Invoice.objects.prefetch_related("tax_lines").get(pk=invoice.pk)
    assert tax_breakdown(invoice) == [TaxRow("VAT", Decimal("19.000"), Decimal("36.00"), Decimal("6.84")),
                                      TaxRow("Local (compound)", Decimal("1.000"), Decimal("42.84"), Decimal("0.43"))]
    untaxed = InvoiceFactory(client=buyer)
    assert tax_breakdown(untaxed) == []


def test_bank_details_come_from_the_profile_per_currency_with_the_settings_as_fallback(seller, settings):
    settings.BANK_IBAN, settings.BANK_ACCOUNT_NAME = "GB82WEST12345698765432", "Fallback Ltd"
    assert bank_details("EUR").iban == "DE89370400440532013000"
    usd = bank_details("USD")
    assert (usd.iban, usd.account_number, usd.routing_code) == ("", "000123456789", "026009593")
    assert ("Account number", "000123456789") in usd.lines()
    assert bank_details("GBP").account_name == "Fallback Ltd"  # no GBP account in the profile
    settings.BANK_IBAN = ""
    assert bank_details("GBP") is None


def test_the_invoice_pdf_looked_at_as_images_shows_every_block(seller, buyer):
    invoice = invoice_with_lines(buyer)
    pages = pdf_pages(invoice_pdf(invoice), "invoice-pdf")
    text = "\n".join(pages)
    expected = [
        # seller
        "Example Hosting GmbH", "Hauptstraße 5", "10115 Berlin", "VAT / tax ID: DE123456789",
        "Amtsgericht Berlin HRB 12345", "billing@example-hosting.example",
        # the document
        "Invoice", "INV-2026-000042", "Date: 2026-11-01", "Due: 2026-11-15",
        # buyer
        "Billed to", "Alice Archer", "Acme Widgets GmbH", "Am Markt 1", "20095 Hamburg",
        # lines with their periods
        "Description", "Service period", "Mail Business – shop0.example", "2026-11-15 – 2026-12-14",
        # tax per rate, totals
        "Tax breakdown", "VAT", "19 %", "36.00", "6.84", "Subtotal", "41.00", "Total", "47.84 EUR",
        "Amount paid", "-20.00 EUR", "Balance due", "27.84 EUR",
        # payment reference and the EUR account
        f"Payment reference: {invoice_reference_display(invoice)}", "DE89 3704 0044 0532 0130 00", "COBADEFFXXX",
        "Commerzbank", "Pay 27.84 EUR by bank transfer",
        # payments, footer, page numbers
        "Payments received", "pi_", "Payable within 14 days", "Page 1 of 1",
    ]
    if hasattr(buyer, "vat_number"):
        expected.append("DE987654321")
    missing = [block for block in expected if block not in text]
    assert missing == []
    assert (ARTIFACTS / "invoice-pdf-page1.png").stat().st_size > 10_000


def test_the_credit_note_pdf_looked_at_as_images_shows_every_block(seller, buyer):
    invoice = invoice_with_lines(buyer)
    invoice.tax_note = "Reverse charge test note."
    invoice.save(update_fields=["tax_note"])
    note = credit_note_issue(invoice=invoice, amount=invoice.total, kind=CreditNote.Kind.CANCELLATION,
                             reason="Invoice cancelled: ordered twice", actor=Actor.system("test"),
                             on_date=date(2026, 11, 20))
    note = (CreditNote.objects.select_related("client", "invoice").prefetch_related("items__invoice_item", "tax_lines")
            .get(pk=note.pk))
    pages = pdf_pages(document_pdf(credit_note_document(note)), "credit-note-pdf")
    text = "\n".join(pages)
    expected = [
        # seller, the document and the invoice it credits
        "Example Hosting GmbH", "Hauptstraße 5", "VAT / tax ID: DE123456789", "Credit note", note.number,
        "Date: 2026-11-20", "Credits invoice: INV-2026-000042", "Invoice date: 2026-11-01",
        # buyer
        "Credited to", "Alice Archer", "Acme Widgets GmbH", "DE987654321",
        # lines with their periods, the tax breakdown and totals in negative, the tax note
        "Mail Business – shop0.example", "2026-11-15 – 2026-12-14", "Tax breakdown", "19 %", "-36.00", "-6.84",
        "Net", "-41.00 EUR", "Total", "-47.84 EUR", "Reverse charge test note.", "ordered twice",
        "Payable within 14 days", "Page 1 of 1",
    ]
    assert [block for block in expected if block not in text] == []
    assert "Payment reference" not in text and "Balance due" not in text  # a credit note is not paid
    assert (ARTIFACTS / "credit-note-pdf-page1.png").stat().st_size > 10_000


def test_a_200_line_invoice_fills_several_pages_each_with_the_table_header_and_page_x_of_y(seller, buyer):
    invoice = invoice_with_lines(buyer, count=200)
    pages = pdf_pages(invoice_pdf(invoice), "invoice-pdf-200-lines")
    assert len(pages) > 1
    for number, text in enumerate(pages, start=1):
        if "Mail Business – shop" in text:  # every page the lines run over repeats the table's header
            assert "Description" in text and "Service period" in text and "Amount (EUR)" in text, number
        assert f"Page {number} of {len(pages)}" in text
        assert "INV-2026-000042" in text and "Payable within 14 days" in text
    assert all("(continued)" in text for text in pages[1:])
    shown = sum(text.count("Mail Business – shop") for text in pages)
    assert shown == 200 and sum("Description" in text for text in pages) >= 3
    assert sum(text.count("Balance due") for text in pages) == 1 and "Balance due" not in pages[0]


def test_a_proforma_is_titled_so_and_a_paid_invoice_names_its_proforma(seller, buyer):
    proforma = InvoiceFactory(client=buyer, number=None, proforma_number="PF-2026-000007")
    assert invoice_document(proforma).title == "Proforma invoice"
    assert "Proforma invoice" in pdf_pages(invoice_pdf(proforma), "proforma-pdf")[0]
    paid = InvoiceFactory(client=buyer, number="INV-2026-000050", proforma_number="PF-2026-000008",
                          status=Invoice.Status.PAID, amount_paid=Decimal("10.00"))
    document = invoice_document(paid)
    assert (document.title, document.references) == ("Invoice", (("Proforma", "PF-2026-000008"),))
    assert document.amount_to_pay is None


def test_the_document_renders_without_a_profile_as_before(db, buyer):
    text = "\n".join(pdf_pages(invoice_pdf(InvoiceFactory(client=buyer)), "invoice-pdf-no-profile"))
    assert "Hosting Portal" in text and "Billed to" in text and "Page 1 of 1" in text


def test_the_client_page_shows_every_block_in_a_fixed_number_of_queries(client, seller, buyer):
    invoice = invoice_with_lines(buyer, count=3)
    client.force_login(buyer.owner_user)
    url = reverse("clientarea:invoice", args=[invoice.pk])
    with CaptureQueriesContext(connection) as few:
        page = client.get(url).content.decode()
    for block in ("Example Hosting GmbH", "VAT / tax ID: DE123456789", "Amtsgericht Berlin HRB 12345", "Billed to",
                  "Acme Widgets GmbH", "2026-11-15 – 2026-12-14", "Tax breakdown", "19 %", "Amount paid",
                  "Balance due", invoice_reference_display(invoice), "DE89 3704 0044 0532 0130 00",
                  "Payable within 14 days", 'src="data:image/png;base64,'):
        assert block in page, block
    many = invoice_with_lines(buyer, count=40, number="INV-2026-000043")
    with CaptureQueriesContext(connection) as more:
        client.get(reverse("clientarea:invoice", args=[many.pk]))
    assert len(more) == len(few)


def test_staff_view_print_and_download_the_invoice(admin_client, seller, buyer):
    invoice = invoice_with_lines(buyer)
    change = admin_client.get(reverse("admin:billing_invoice_change", args=[invoice.pk])).content.decode()
    assert reverse("admin:billing_invoice_document", args=[invoice.pk]) in change
    page = admin_client.get(reverse("admin:billing_invoice_document", args=[invoice.pk])).content.decode()
    assert "Example Hosting GmbH" in page and "Acme Widgets GmbH" in page and 'data-action="print"' in page
    pdf = admin_client.get(reverse("admin:billing_invoice_pdf", args=[invoice.pk]))
    assert pdf["Content-Disposition"] == 'attachment; filename="invoice-INV-2026-000042.pdf"'
    assert pdf.content.startswith(b"%PDF")


def test_the_invoice_email_carries_the_seller_block_and_the_pdf(seller, buyer, mailoutbox):
    invoice = invoice_with_lines(buyer)
    emails.queue_email(template_name=emails.INVOICE_CREATED, client=buyer, invoice=invoice, event_key="t:created")
    emails.deliver()
    message = mailoutbox[0]
    assert "Example Hosting GmbH" in message.subject
    for block in ("VAT / tax ID: DE123456789", invoice_reference_display(invoice), "IBAN: DE89 3704 0044 0532 0130 00",
                  "(2026-11-15 – 2026-12-14)", "VAT 19% on 36.00: 6.84", "Acme Widgets GmbH"):
        assert block in message.body, block
    (name, content, kind), = message.attachments
    assert (name, kind) == ("invoice-INV-2026-000042.pdf", "application/pdf")
    assert "Example Hosting GmbH" in pdf_pages(content, "invoice-email-attachment")[0]


def test_the_credit_note_email_carries_the_credit_note_pdf_not_the_invoices(seller, buyer, mailoutbox):
    invoice = invoice_with_lines(buyer)
    note = credit_note_issue(invoice=invoice, amount=Decimal("10.00"), kind=CreditNote.Kind.REFUND,
                             reason="Goodwill", actor=Actor.system("test"))
    emails.deliver()
    (message,) = mailoutbox
    assert note.number in message.subject
    (name, content, kind), = message.attachments
    assert (name, kind) == (f"credit-note-{note.number}.pdf", "application/pdf")
    text = pdf_pages(content, "credit-note-email-attachment")[0]
    assert "Credit note" in text and note.number in text and "Credits invoice: INV-2026-000042" in text
    assert "-10.00 EUR" in text


def test_a_general_email_has_no_attachment(seller, buyer, mailoutbox):
    EmailTemplate.objects.filter(name=emails.LOW_BALANCE).update(category=EmailTemplate.Category.GENERAL)
    emails.queue_email(template_name=emails.LOW_BALANCE, client=buyer, event_key="t:low")
    emails.deliver()
    assert mailoutbox[0].attachments == []


def png(size=(200, 80), image_format="PNG"):
    buffer = BytesIO()
    Image.new("RGB", size, "#123456").save(buffer, format=image_format)
    return SimpleUploadedFile(f"logo.{image_format.lower()}", buffer.getvalue())


@pytest.mark.parametrize(("upload", "message"), [
    (SimpleUploadedFile("logo.png", b"not an image"), "not an image that can be read"),
    (png(image_format="GIF"), "is a GIF image: upload a PNG or JPEG"),
    (png(size=(3000, 100)), "3000×100 pixels"),
    (SimpleUploadedFile("logo.png", b"\x89PNG" + b"0" * (600 * 1024)), "upload one of at most 512 KB"),
])
def test_a_bad_logo_is_refused_with_the_reason(upload, message):
    with pytest.raises(Exception) as refused:
        read_logo(upload)
    assert message in " ".join(refused.value.messages)


def test_staff_edit_the_profile_audited_with_the_logo_and_a_bank_account(admin_client, db):
    url = reverse("admin:billing_sellerprofile_changelist")
    change = admin_client.get(url)
    assert change.status_code == 302
    form_url = change["Location"]
    data = {
        "legal_name": "Example Hosting Ltd", "address1": "1 High Street", "address2": "", "city": "London",
        "postcode": "E1 6AN", "state": "", "country": "gb", "tax_id": "GB123456789", "company_registration": "",
        "email": "", "phone": "", "website": "", "invoice_footer": "Thanks.", "logo_upload": png(),
        "bank_accounts-TOTAL_FORMS": "1", "bank_accounts-INITIAL_FORMS": "0", "bank_accounts-MIN_NUM_FORMS": "0",
        "bank_accounts-MAX_NUM_FORMS": "1000", "bank_accounts-0-currency": "GBP",
        "bank_accounts-0-account_holder": "Example Hosting Ltd", "bank_accounts-0-iban": "GB29 NWBK 6016 1331 9268 19",
        "bank_accounts-0-account_number": "", "bank_accounts-0-routing_code": "", "bank_accounts-0-bic": "NWBKGB2L",
        "bank_accounts-0-bank_name": "",
    }
    answer = admin_client.post(form_url, data)
    assert answer.status_code == 302, answer.content.decode()[:3000]
    profile = SellerProfile.load()
    assert (profile.legal_name, profile.country, profile.logo_type) == ("Example Hosting Ltd", "GB", "image/png")
    assert SellerBankAccount.objects.get().iban == "GB29NWBK60161331926819"
    actions = set(ActivityLog.objects.values_list("action", flat=True))
    assert {"seller_profile.change", "seller_profile.logo", "seller_bank_account.create"} <= actions
    bad = {**data, "logo_upload": SimpleUploadedFile("x.png", b"junk"), "bank_accounts-0-iban": "GB00 0000"}
    answer = admin_client.post(form_url, bad)
    page = answer.content.decode()
    assert answer.status_code == 200 and "not an image that can be read" in page and "not a valid IBAN" in page


def test_the_profile_form_needs_an_iban_or_an_account_number(db):
    account = SellerBankAccount(profile=SellerProfile.objects.create(), currency="USD", account_holder="X")
    with pytest.raises(Exception) as refused:
        account.full_clean()
    assert "Give the IBAN or, where the bank has none, the account number." in str(refused.value)
    assert SellerProfileForm(data={"country": "de"}).is_valid()


def test_the_demo_fills_the_profile_once_and_leaves_one_staff_saved_alone(db):
    assert load_seller_profile() is True
    profile = SellerProfile.load()
    assert (profile.legal_name, profile.logo_type) == ("Demo Hosting Ltd", "image/png")
    assert sorted(SellerBankAccount.objects.values_list("currency", flat=True)) == ["EUR", "GBP", "USD"]
    SellerProfile.objects.update(legal_name="Staff Hosting Ltd")
    assert load_seller_profile() is False and SellerProfile.load().legal_name == "Staff Hosting Ltd"
