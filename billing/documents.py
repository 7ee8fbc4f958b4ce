"""Invoices as legal documents: what the invoice page, the staff print view, the PDF and the e-mails show, built
once as a `Document` so each of them prints the same facts.

A `Document` knows nothing of invoices: a title, a number, references, dates, the seller and the buyer, lines
with their service periods, the tax breakdown (one row per rate), totals, the payment reference and bank
details, payments, notes and the seller's footer. `invoice_document` adapts an invoice to it; a credit note
gets its own adapter (`credit_note_document`, with its own title and references, negative amounts) and is drawn
by the same page template and PDF code (billing/pdf.py)."""
import base64
from dataclasses import dataclass, field
from decimal import Decimal

from django.conf import settings
from django.utils import timezone

from billing.models import SellerBankAccount, SellerProfile
from billing.payment_reference import BankDetails, bank_details, invoice_reference_display, is_payable_by_transfer
from portal.money import ZERO, format_money


@dataclass(frozen=True)
class Party:
    """The seller or the buyer: a name and the lines printed under it."""

    name: str
    company: str = ""
    address: tuple = ()
    tax_id: str = ""
    registration: str = ""
    contact: tuple = ()


@dataclass(frozen=True)
class Seller(Party):
    logo: bytes | None = None
    logo_type: str = ""
    footer: str = ""

    @property
    def logo_data_uri(self):
        """The logo inline in the page (it lives in the database, not under a media URL)."""
        return f"data:{self.logo_type};base64,{base64.b64encode(self.logo).decode()}" if self.logo else ""


@dataclass(frozen=True)
class DocumentLine:
    description: str
    amount: Decimal
    period: str = ""  # "2026-11-15 – 2026-12-14", or blank for a line that bills no period


@dataclass(frozen=True)
class TaxRow:
    """One rate of the tax breakdown: the base it was charged on and the tax."""

    name: str
    rate: Decimal
    base: Decimal
    tax: Decimal


@dataclass(frozen=True)
class TotalRow:
    label: str
    amount: Decimal
    strong: bool = False


@dataclass(frozen=True)
class Document:
    kind: str  # "invoice" or "credit_note"
    title: str  # "Invoice", "Proforma invoice", "Credit note"
    number: str
    status: str  # as shown: "Unpaid"
    currency: str
    seller: Seller
    buyer: Party
    lines: tuple
    tax_rows: tuple
    totals: tuple
    references: tuple = ()  # (label, value): the proforma number of a paid invoice, the invoice a note credits
    dates: tuple = ()  # (label, date)
    payment_reference: str = ""
    bank: BankDetails | None = None
    amount_to_pay: Decimal | None = None  # set while the document may be paid by bank transfer
    payments: tuple = ()  # (date, amount, method and transaction)
    notes: str = ""
    legal_notes: tuple = field(default=())  # sentences the law asks for (reverse charge, exemption), printed as is
    state: str = ""  # the status's code ("unpaid"), for the page's badge
    payer_notes: tuple = ()  # what the payer should know, not part of the legal document (credit that may pay it)

    def money(self, amount):
        return format_money(amount, self.currency)


def period_text(start, end):
    """A line's service period as printed: unambiguous ISO dates."""
    if not start:
        return ""
    return f"{start.isoformat()} – {end.isoformat()}" if end and end != start else start.isoformat()


def address_lines(owner):
    """The postal lines of a seller profile or a client: street, town, region, country (ISO code)."""
    town = " ".join(part for part in (owner.postcode, owner.city) if part)
    return tuple(line for line in (owner.address1, owner.address2, town, owner.state, owner.country) if line)


def seller_party(profile=None):
    """The seller as documents print it. Before staff fill in the profile it is PORTAL_NAME and nothing more."""
    profile = profile or SellerProfile.load()
    contact = tuple(line for line in (profile.email, profile.phone, profile.website) if line)
    return Seller(
        name=profile.legal_name or settings.PORTAL_NAME, address=address_lines(profile), tax_id=profile.tax_id,
        registration=profile.company_registration, contact=contact, logo=bytes(profile.logo) if profile.logo else None,
        logo_type=profile.logo_type, footer=profile.invoice_footer,
    )


def buyer_party(client):
    """The client as billed: name, company, address and, if the client has one, its VAT number."""
    return Party(
        name=client.full_name or client.company_name, company=client.company_name if client.full_name else "",
        address=address_lines(client), tax_id=getattr(client, "vat_number", "") or "",
    )


def tax_breakdown(invoice):
    """The invoice's tax, one row per rate: (name, rate, base, tax), from its stored tax lines (the tax engine,
    billing/tax/, writes them; migration billing.0015 gave them to the invoices before it). A compound rate says so
    in its name."""
    return [TaxRow(f"{row.name} (compound)" if row.compound else row.name, row.rate, row.base, row.tax)
            for row in invoice.tax_lines.all()]


def legal_notes(document):
    """The sentences the law asks for, of an invoice or a credit note: the tax note (reverse charge, or why a VAT
    number did not count) and, for tax-inclusive prices, that the line amounts include tax."""
    notes = ["Line amounts include tax."] if document.prices_include_tax else []
    return tuple(notes + ([document.tax_note] if document.tax_note else []))


def bank_accounts(currencies=None):
    """{currency: SellerBankAccount} of the seller profile (all of them, or those of `currencies`), one query."""
    rows = SellerBankAccount.objects.all() if currencies is None else SellerBankAccount.objects.filter(
        currency__in=set(currencies))
    return {account.currency: account for account in rows}


def invoice_totals(invoice, tax_rows):
    rows = [TotalRow("Subtotal", invoice.subtotal)]
    rows += [TotalRow(f"{row.name} {row.rate.normalize():f}%", row.tax) for row in tax_rows]
    rows.append(TotalRow("Total", invoice.total, strong=True))
    if invoice.credit_applied:
        rows.append(TotalRow("Credit applied", -invoice.credit_applied))
    rows.append(TotalRow("Amount paid", -invoice.amount_paid))
    rows.append(TotalRow("Balance due", invoice.balance, strong=True))
    return tuple(rows)


def invoice_document(invoice, *, seller=None, accounts=None):
    """The invoice as a Document (its items, tax lines, payments and client loaded by the caller's selector).
    `seller` and `accounts` ({currency: SellerBankAccount}) let a caller rendering many invoices read the profile
    and the accounts once."""
    tax_rows = tax_breakdown(invoice)
    references = (("Proforma", invoice.proforma_number),) if invoice.number and invoice.proforma_number else ()
    if accounts is None:
        accounts = bank_accounts([invoice.currency])
    dates = [("Date", invoice.date), ("Due", invoice.due_date)]
    if invoice.paid_at:
        dates.append(("Paid", timezone.localdate(invoice.paid_at)))
    return Document(
        kind="invoice", title="Proforma invoice" if invoice.is_proforma else "Invoice", number=invoice.display_number,
        status=invoice.get_status_display(), state=invoice.status, currency=invoice.currency,
        seller=seller or seller_party(),
        buyer=buyer_party(invoice.client),
        lines=tuple(DocumentLine(item.description, item.amount, period_text(item.period_start, item.period_end))
                    for item in invoice.items.all()),
        tax_rows=tuple(tax_rows), totals=invoice_totals(invoice, tax_rows), references=references,
        dates=tuple(dates), payment_reference=invoice_reference_display(invoice) if invoice.pk else "",
        bank=bank_details(invoice.currency, accounts=accounts),
        amount_to_pay=invoice.balance if is_payable_by_transfer(invoice) else None,
        payments=tuple((timezone.localdate(p.received_at), p.amount - p.amount_out, f"{p.gateway} {p.transaction_id}")
                       for p in invoice.payments.all()),
        notes=invoice.notes, legal_notes=legal_notes(invoice), payer_notes=payer_notes(invoice),
    )


def credit_note_document(note, *, seller=None):
    """A credit note as a Document (its items with their invoice lines, tax lines, invoice and client loaded by the
    caller's selector): the invoice it credits as a reference, its lines and tax breakdown in negative, no payment
    block."""
    tax_rows = tax_breakdown(note)
    totals = (TotalRow("Net", note.subtotal),
              *(TotalRow(f"{row.name} {row.rate.normalize():f}%", row.tax) for row in tax_rows),
              TotalRow("Total", note.total, strong=True))
    invoice = note.invoice
    lines = []
    for item in note.items.all():
        source = item.invoice_item
        period = period_text(source.period_start, source.period_end) if source else ""
        lines.append(DocumentLine(item.description, item.amount, period))
    return Document(
        kind="credit_note", title="Credit note", number=note.number, status=note.get_kind_display(),
        state="refunded", currency=note.currency, seller=seller or seller_party(), buyer=buyer_party(note.client),
        lines=tuple(lines), tax_rows=tuple(tax_rows), totals=totals,
        references=(("Credits invoice", invoice.display_number), ("Invoice date", invoice.date.isoformat())),
        dates=(("Date", note.date),), notes=note.reason, legal_notes=legal_notes(note),
    )


def payer_notes(invoice):
    """While an invoice is unpaid, the credit that may pay it, as every page shows it (rounded down)."""
    if invoice.status != invoice.Status.UNPAID:
        return ()
    client = invoice.client
    return (f"Your credit balance: {format_money(client.credit_balance, client.currency, spendable=True)} "
            f"{client.currency}",)


def document_filename(document):
    return f"{document.title.lower().replace(' ', '-')}-{document.number}.pdf"
