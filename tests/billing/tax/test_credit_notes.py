"""Credit notes: a refund or a cancellation after payment issues one (the paid invoice is never edited), with its
own gap-free number, the invoice's lines and tax breakdown in negative — a share of them for a partial refund,
net + tax = gross exactly, and a full refund's note exactly the invoice in negative. Audited and e-mailed; the
client sees them beside the invoices (page and PDF); staff see them read-only."""
from decimal import Decimal as D

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from billing.models import CreditNote, EmailLog, EmailTemplate, Invoice, NumberSequence, TaxRule
from billing.services.invoices import invoice_cancel
from billing.services.payments import payment_record
from billing.services.transactions import refund_record
from portal.activity import Actor
from portal.models import ActivityLog, Client
from tests.billing.tax.conftest import breakdown, invoice_of, rule
from tests.factories import ClientFactory

pytestmark = pytest.mark.django_db
STAFF = Actor.system("test")


def paid_invoice(client=None, *amounts):
    TaxRule.objects.get_or_create(country="DE", region="", level=1, defaults={"name": "VAT", "rate": D("19.000")})
    invoice = invoice_of(client or ClientFactory(country="DE"), *(amounts or (D("100.00"), D("19.99"))))
    payment_record(invoice=invoice, amount=invoice.total, transaction_id=f"bank-{invoice.pk}", gateway="bank", actor=STAFF)
    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.PAID
    return invoice


def refund(invoice, amount, n=1):
    return refund_record(invoice=invoice, amount=D(amount), transaction_id=f"refund-{invoice.pk}-{n}", gateway="bank",
                         actor=STAFF)


def items(note):
    return [item.amount for item in note.items.order_by("sort_order")]


def test_partial_then_rest_refund(settings):
    settings.CREDIT_NOTE_NUMBER_FORMAT = "CN-{seq:04d}"
    invoice = paid_invoice()
    assert (invoice.subtotal, invoice.tax, invoice.total) == (D("119.99"), D("22.80"), D("142.79"))
    refund(invoice, "50.00")
    first = CreditNote.objects.get()
    # f = 50 / 142.79; tax 22.80 f = 7.9837… → 7.98; net = 50.00 − 7.98; lines 35.0164… → 35.02 and 6.9997… → 7.00
    assert (first.number, first.subtotal, first.tax, first.total) == ("CN-0001", D("-42.02"), D("-7.98"), D("-50.00"))
    assert items(first) == [D("-35.02"), D("-7.00")]
    assert breakdown(first) == [("VAT", D("19.000"), D("-42.02"), D("-7.98"))]
    refund(invoice, "92.79", n=2)
    second = CreditNote.objects.exclude(pk=first.pk).get()
    assert (second.number, second.subtotal, second.tax, second.total) == ("CN-0002", D("-77.97"), D("-14.82"), D("-92.79"))
    assert items(second) == [D("-64.98"), D("-12.99")]
    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.REFUNDED
    assert (invoice.subtotal, invoice.tax, invoice.total) == (D("119.99"), D("22.80"), D("142.79"))  # never edited


def test_full_refund_is_exactly_the_invoice_in_negative():
    invoice = paid_invoice()
    payment = refund(invoice, "142.79")
    note = CreditNote.objects.get()
    assert note.payment == payment and note.invoice == invoice and note.kind == CreditNote.Kind.REFUND
    assert (note.subtotal, note.tax, note.total) == (-invoice.subtotal, -invoice.tax, -invoice.total)
    assert items(note) == [-item.amount for item in invoice.items.order_by("sort_order")]
    assert [(n, r, -b, -t) for n, r, b, t in breakdown(note)] == breakdown(invoice)
    entry = ActivityLog.objects.get(action="credit_note.issue")
    assert entry.data["invoice"] == invoice.pk and entry.data["total"] == "-142.79"
    mail = EmailLog.objects.get(template_name="Credit Note Issued", client=invoice.client)
    assert mail.extra["credit_note_number"] == note.number and mail.extra["credit_note_total"] == "-142.79"
    assert EmailTemplate.objects.filter(name="Credit Note Issued").exists()


def test_cancelling_a_paid_invoice_issues_a_credit_note_and_returns_the_money_to_credit():
    invoice = paid_invoice()
    refund(invoice, "42.79")
    invoice_cancel(invoice=invoice, actor=STAFF, reason="ordered by mistake")
    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.CANCELLED
    notes = list(CreditNote.objects.order_by("pk"))
    assert [n.kind for n in notes] == ["refund", "cancellation"]
    assert sum(n.total for n in notes) == -invoice.total and sum(n.tax for n in notes) == -invoice.tax
    assert notes[1].total == D("-100.00") and "ordered by mistake" in notes[1].reason
    assert Client.objects.get(pk=invoice.client_id).credit_balance == D("100.00")  # received less refunded
    with pytest.raises(ValidationError, match="already cancelled"):
        invoice_cancel(invoice=invoice, actor=STAFF)


def test_unpaid_invoice_cancelled_without_credit_note():
    rule("DE", "19.000")
    invoice = invoice_of(ClientFactory(country="DE"), D("10.00"))
    invoice_cancel(invoice=invoice, actor=STAFF)
    assert not CreditNote.objects.exists()


def test_numbers_are_gapless_and_their_own_sequence():
    assert NumberSequence.objects.filter(name="credit_note").exists()  # created by migration
    invoices = [paid_invoice(ClientFactory(country="DE"), D("10.00")) for _ in range(3)]
    for invoice in invoices:
        refund(invoice, "11.90")
    year = invoices[0].date.year
    assert sorted(CreditNote.objects.values_list("number", flat=True)) == [f"CN-{year}-{n:06d}" for n in (1, 2, 3)]


def test_client_sees_credit_notes_beside_invoices_and_no_one_elses(client, owner, other_client):
    buyer = ClientFactory(country="DE")
    invoice = paid_invoice(buyer)
    refund(invoice, "142.79")
    note = CreditNote.objects.get()
    client.force_login(buyer.owner_user)
    assert reverse("clientarea:credit_notes").encode() in client.get(reverse("clientarea:invoices")).content
    listing = client.get(reverse("clientarea:credit_notes")).content.decode()
    assert note.number in listing and invoice.number in listing
    page = client.get(reverse("clientarea:credit_note", args=[note.pk])).content.decode()
    assert '<td>VAT</td><td class="text-end">19 %</td><td class="text-end">-119.99</td>' in page
    assert "-142.79 USD" in page and "Credited to" in page
    assert note.number in client.get(reverse("clientarea:invoice", args=[invoice.pk])).content.decode()
    pdf = client.get(reverse("clientarea:credit_note_pdf", args=[note.pk]))
    assert pdf["Content-Type"] == "application/pdf" and pdf.content.startswith(b"%PDF")
    client.force_login(other_client.owner_user)
    assert client.get(reverse("clientarea:credit_note", args=[note.pk])).status_code == 404
    assert client.get(reverse("clientarea:credit_note_pdf", args=[note.pk])).status_code == 404


def test_staff_see_credit_notes_read_only(client, staff_user):
    invoice = paid_invoice()
    refund(invoice, "10.00")
    note = CreditNote.objects.get()
    client.force_login(staff_user)
    assert note.number.encode() in client.get(reverse("admin:billing_creditnote_changelist")).content
    page = client.get(reverse("admin:billing_creditnote_change", args=[note.pk]))
    assert page.status_code == 200 and b'name="_save"' not in page.content
    assert client.get(reverse("admin:billing_creditnote_add")).status_code == 403
    assert note.number.encode() in client.get(reverse("admin:billing_invoice_change", args=[invoice.pk])).content
