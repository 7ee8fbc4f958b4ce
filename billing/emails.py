"""E-mail templates and their sending.

Templates are stored in Django template syntax with the WHMCS merge-field names (`{{ client_first_name }}`).
Texts pasted from WHMCS in Smarty syntax (`{$client_first_name}`) work too: the admin converts them on save
and rendering converts any that remain, so a migrated template keeps working either way.

Sending is in two steps so that one event never sends twice:
1. `queue_email(s)` writes an EmailLog row per event, whose `event_key` is unique (a second queue of the same
   event adds nothing), and asks Celery to send it once the transaction commits;
2. the task `billing.tasks.send_emails` claims queued rows with a conditional UPDATE (so two workers never
   both take one), renders them with the merge fields as they are then, sends and records the result.
"""
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.conf import settings
from django.core.mail import EmailMessage, mailers
from django.db import transaction
from django.db.models import DecimalField, ExpressionWrapper, F, Q, Sum
from django.template import TemplateDoesNotExist, TemplateSyntaxError
from django.urls import reverse
from django.utils import timezone

from billing import hooks
from billing.documents import bank_accounts, credit_note_document, invoice_document, seller_party
from billing.models import CreditNote, EmailLog, EmailTemplate, Invoice, InvoiceItem, InvoiceTaxLine, Product, Service
from billing.pdf import document_filename, document_pdf
from portal.mail_text import render_text
from portal.models import Client, Contact
from portal.money import ZERO, format_money

INVOICE_CREATED = "Invoice Created"
INVOICE_PAID = "Invoice Payment Confirmation"
INVOICE_OVERDUE = "Invoice Overdue Notice"
SERVICE_SUSPENDED = "Service Suspension Notification"
SERVICE_UNSUSPENDED = "Service Unsuspension Notification"
SERVICE_TERMINATED = "Service Termination Notification"
SERVICE_WELCOME = "Service Welcome Email"
LOW_BALANCE = "Low Balance Alert"
VOIP_ZERO_BALANCE = "VoIP Zero Balance"

SEND_BATCH = 200
# A one-off message (the WHMCS API's SendEmail with custommessage) has no stored template: its subject and
# text travel in the log's `extra` under this key, and are rendered like a template's when it is sent. A
# leading underscore cannot be used as a template variable, so it never clashes with a merge field.
CUSTOM_MESSAGE = "_custom"
def render_template(template, context):
    """(subject, body) of an EmailTemplate; the subject on one line."""
    subject = " ".join(render_text(template.subject, context).split())
    return subject[:255], render_text(template.body, context)


def _money(amount, currency):
    return format_money(amount or ZERO, currency)


def _day(value):
    """Dates as YYYY-MM-DD: unambiguous in every locale."""
    return value.isoformat() if value else ""


def _threshold(value):
    """The low-balance threshold as WHMCS shows a custom field: '10' for 10.00 (seed 002 appends '.00')."""
    if value is None:
        return ""
    return f"{value.quantize(Decimal(1))}" if value == value.to_integral() else f"{value}"


def _party_text(party):
    """A seller or buyer block as plain text, one fact a line."""
    lines = [party.name, party.company, *party.address]
    lines += [f"VAT / tax ID: {party.tax_id}"] if party.tax_id else []
    lines += [party.registration, *party.contact]
    return "\n".join(line for line in lines if line)


def invoice_fields(invoice, *, seller, accounts=None):
    """The invoice document's blocks as merge fields (the same facts as its page and PDF, billing/documents.py)."""
    document = invoice_document(invoice, seller=seller, accounts=accounts)
    bank = document.bank
    return {
        "invoice_proforma_num": invoice.proforma_number or "",
        "invoice_items": "\n".join(
            f"{line.description}{f' ({line.period})' if line.period else ''}: {document.money(line.amount)}"
            for line in document.lines
        ),
        "invoice_tax_lines": "\n".join(
            f"{row.name} {row.rate.normalize():f}% on {document.money(row.base)}: {document.money(row.tax)}"
            for row in document.tax_rows
        ),
        # The note the invoice carries (reverse charge, or why a VAT number did not count; docs/tax.md).
        "invoice_tax_note": invoice.tax_note,
        "invoice_payment_reference": document.payment_reference,
        "bank_details": "\n".join(f"{label}: {value}" for label, value in bank.lines()) if bank else "",
        "seller_details": _party_text(document.seller),
        "buyer_details": _party_text(document.buyer),
        "invoice_footer": document.seller.footer,
    }


def merge_fields(*, client, invoice=None, service=None, due_balance=ZERO, extra=None, seller=None, accounts=None):
    """The WHMCS merge fields the seeds use, for one client and optionally one invoice and one service.
    `seller` and `accounts` (billing.documents) spare a caller rendering many e-mails their queries."""
    base_url = settings.PORTAL_BASE_URL.rstrip("/")
    seller = seller or seller_party()
    fields = {
        "company_name": seller.name,
        "portal_url": base_url,
        "whmcs_url": base_url,
        "client_id": client.pk,
        "client_name": client.full_name,
        "client_first_name": client.first_name,
        "client_last_name": client.last_name,
        "client_company_name": client.company_name,
        "client_email": client.email,
        "client_country": client.country,
        "client_currency": client.currency,
        # The credit as every page shows it: what may be spent, rounded down (docs/billing.md, Showing money).
        "client_credit": format_money(client.credit_balance, client.currency, spendable=True),
        "client_due_invoices_balance": _money(due_balance, client.currency),
        "client_custom_field_lowbalancethreshold": _threshold(client.low_balance_threshold),
        "add_funds_url": base_url + reverse("clientarea:add_funds"),
    }
    if invoice is not None:
        fields.update(
            invoice_id=invoice.pk,
            invoice_num=invoice.display_number,
            invoice_date_created=_day(invoice.date),
            invoice_date_due=_day(invoice.due_date),
            invoice_date_paid=_day(timezone.localdate(invoice.paid_at)) if invoice.paid_at else "",
            invoice_subtotal=_money(invoice.subtotal, invoice.currency),
            invoice_tax=_money(invoice.tax, invoice.currency),
            invoice_tax_rate=invoice.tax_rate.normalize(),
            invoice_total=_money(invoice.total, invoice.currency),
            invoice_credit=_money(invoice.credit_applied, invoice.currency),
            invoice_amount_paid=_money(invoice.amount_paid, invoice.currency),
            invoice_balance=_money(invoice.balance, invoice.currency),
            invoice_status=invoice.get_status_display(),
            invoice_currency=invoice.currency,
            invoice_link=base_url + reverse("clientarea:invoice", args=[invoice.pk]),
            **invoice_fields(invoice, seller=seller, accounts=accounts),
        )
    if service is not None:
        fields.update(
            service_id=service.pk,
            service_domain=service.domain,
            service_product_name=service.product.name,
            service_status=service.get_status_display(),
            service_billing_cycle=service.get_billing_cycle_display(),
            service_recurring_amount=_money(service.recurring_amount, service.currency),
            service_next_due_date=_day(service.next_due_date),
            service_registration_date=_day(service.registration_date),
            service_username=service.username,
            service_suspension_reason=service.suspend_reason_text or service.get_suspend_reason_display(),
        )
    fields.update(extra or {})
    return fields


def sample_context():
    """Merge fields with made-up values, for the staff preview."""

    client = Client(
        pk=1001, first_name="Alice", last_name="Archer", company_name="Acme Widgets Ltd", email="alice@acme.example",
        country="CA", currency="USD", credit_balance=Decimal("4.5000"), low_balance_threshold=Decimal("10.00"),
    )
    invoice = Invoice(
        pk=42, client=client, number="INV-2026-000042", date=date(2026, 11, 1), due_date=date(2026, 11, 15),
        subtotal=Decimal("24.00"), tax=Decimal("3.12"), tax_rate=Decimal("13.000"), total=Decimal("27.12"),
        currency="USD", status=Invoice.Status.UNPAID,
    )
    service = Service(
        pk=7, domain="acme.example", product=Product(name="Mail Business"), status=Service.Status.ACTIVE,
        recurring_amount=Decimal("24.00"), next_due_date=date(2026, 11, 15), registration_date=date(2025, 11, 15),
        username="admin@acme.example",
    )
    fields = merge_fields(client=client, service=service, due_balance=Decimal("27.12"))
    fields.update(merge_fields(client=client, invoice=_SampleInvoice(invoice), due_balance=Decimal("27.12")))
    return fields


class _SampleInvoice:
    """An unsaved invoice whose items are made up (an unsaved instance cannot read its relations)."""

    def __init__(self, invoice):
        self._invoice = invoice
        self.items = _SampleItems()
        self.payments = _SampleItems([])
        self.tax_lines = _SampleItems([InvoiceTaxLine(name="HST", rate=Decimal("13.000"), base=Decimal("24.00"),
                                                      tax=Decimal("3.12"))])

    def __getattr__(self, name):
        return getattr(self._invoice, name)


class _SampleItems:
    SAMPLE = [InvoiceItem(description="Mail Business – acme.example", amount=Decimal("24.00"),
                          period_start=date(2026, 11, 15), period_end=date(2026, 12, 14))]

    def __init__(self, rows=None):
        self.rows = self.SAMPLE if rows is None else rows

    def all(self):
        return self.rows


@dataclass(frozen=True)
class EmailRequest:
    template_name: str
    client_id: int
    event_key: str
    invoice_id: int | None = None
    service_id: int | None = None
    extra: dict = field(default_factory=dict)


def queue_email(*, template_name, client, event_key, invoice=None, service=None, extra=None):
    """Queue one e-mail for an event; nothing happens when that event already has one. Returns the new log ids."""
    request = EmailRequest(
        template_name, client.pk, event_key, getattr(invoice, "pk", None), getattr(service, "pk", None), extra or {}
    )
    return queue_emails([request])


def queue_custom_email(*, client, subject, message, event_key, name, invoice=None, service=None, extra=None):
    """Queue a one-off message (subject and text in template syntax, rendered with the merge fields when sent)."""
    extra = {**(extra or {}), CUSTOM_MESSAGE: {"subject": subject, "message": message}}
    return queue_email(template_name=name, client=client, event_key=event_key, invoice=invoice, service=service,
                       extra=extra)


def custom_template(log):
    """A one-off message's texts as an unsaved template; None for an e-mail of a stored template."""
    custom = (log.extra or {}).get(CUSTOM_MESSAGE)
    if not isinstance(custom, dict):
        return None
    return EmailTemplate(name=log.template_name, subject=custom.get("subject", ""), body=custom.get("message", ""))


def queue_emails(requests):
    """Queue many e-mails in a fixed number of queries; each event key is queued at most once, ever.
    Each e-mail is also queued, as its own row, for every contact of the client who opted in to its kind
    (contact_copies)."""
    if not requests:
        return []
    keys = [r.event_key for r in requests]
    existing = set(EmailLog.objects.filter(event_key__in=keys).values_list("event_key", flat=True))
    seen = set(existing)
    rows = []
    for r in requests:
        if r.event_key in seen:
            continue
        seen.add(r.event_key)
        rows.append(
            EmailLog(
                event_key=r.event_key, template_name=r.template_name, client_id=r.client_id,
                invoice_id=r.invoice_id, service_id=r.service_id, extra=r.extra,
            )
        )
    rows += contact_copies(rows)
    # A concurrent queue of the same event loses the race on the unique key and adds nothing.
    EmailLog.objects.bulk_create(rows, batch_size=1000, ignore_conflicts=True)
    ids = list(
        EmailLog.objects.filter(event_key__in=[row.event_key for row in rows], status=EmailLog.Status.QUEUED)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    if ids:
        transaction.on_commit(lambda: _dispatch(ids))
    return ids


# Which contacts get a copy of an e-mail: the opt-in flag for its template's category (WHMCS's preferences).
CONTACT_FLAGS = {
    EmailTemplate.Category.GENERAL: "general_emails",
    EmailTemplate.Category.INVOICE: "invoice_emails",
    EmailTemplate.Category.SERVICE: "product_emails",
}
CONTACT_KEY = ":contact:"  # event key of a contact's copy: "<client's event key>:contact:<contact id>"


def contact_copies(rows):
    """A copy of each new client e-mail for each contact who opted in to its category: two queries in all."""
    if not rows:
        return []

    categories = dict(
        EmailTemplate.objects.filter(name__in={row.template_name for row in rows}).values_list("name", "category")
    )
    wanted = {row.client_id for row in rows if categories.get(row.template_name) in CONTACT_FLAGS}
    if not wanted:
        return []
    flags = set(CONTACT_FLAGS.values())
    opted_in = Q()
    for flag in flags:
        opted_in |= Q(**{flag: True})
    contacts = defaultdict(list)
    for contact in Contact.objects.filter(opted_in, client_id__in=wanted).only("pk", "client_id", *flags).order_by("pk"):
        contacts[contact.client_id].append(contact)
    copies = []
    for row in rows:
        flag = CONTACT_FLAGS.get(categories.get(row.template_name))
        for contact in contacts.get(row.client_id, ()) if flag else ():
            if getattr(contact, flag):
                copies.append(EmailLog(
                    event_key=f"{row.event_key}{CONTACT_KEY}{contact.pk}"[:160], template_name=row.template_name,
                    client_id=row.client_id, contact_id=contact.pk, invoice_id=row.invoice_id,
                    service_id=row.service_id, extra=row.extra,
                ))
    return copies


def recipient(log):
    """Where a log's e-mail goes: the contact's address for a contact's copy (None once the contact is
    deleted), else the client's."""
    if log.contact_id:
        return log.contact.email
    if CONTACT_KEY in log.event_key:
        return None
    return log.client.email


def _dispatch(ids):
    for start in range(0, len(ids), SEND_BATCH):
        hooks.send_emails_later(ids[start : start + SEND_BATCH])


def claim(*, log_ids=None, older_than=None):
    """Claim queued rows for this sender with one conditional UPDATE; returns the claimed rows."""
    token = uuid.uuid4().hex
    queued = EmailLog.objects.filter(status=EmailLog.Status.QUEUED)
    if log_ids is not None:
        queued = queued.filter(pk__in=log_ids)
    if older_than is not None:
        queued = queued.filter(created_at__lte=timezone.now() - older_than)
    ids = list(queued.order_by("pk").values_list("pk", flat=True)[:1000])
    EmailLog.objects.filter(pk__in=ids, status=EmailLog.Status.QUEUED).update(
        status=EmailLog.Status.SENDING, claim=token, attempts=F("attempts") + 1
    )
    return list(
        EmailLog.objects.filter(claim=token, status=EmailLog.Status.SENDING)
        .select_related("client", "contact", "invoice", "service__product")
        .prefetch_related("invoice__items", "invoice__payments", "invoice__tax_lines")
        .order_by("pk")
    )


def due_balances(client_ids):
    """{client id: what the client owes on unpaid invoices}, in one query."""
    balance = ExpressionWrapper(
        F("total") - F("amount_paid") - F("credit_applied"), output_field=DecimalField(max_digits=12, decimal_places=2)
    )
    rows = (
        Invoice.objects.filter(client_id__in=client_ids, status=Invoice.Status.UNPAID)
        .values("client_id")
        .annotate(due=Sum(balance))
        .order_by()
    )
    return {row["client_id"]: row["due"] or ZERO for row in rows}


def deliver(*, log_ids=None, older_than=None):
    """Send claimed e-mails: render each with the merge fields as they are now, send, record. Returns
    (sent, failed ids). A row is never sent twice: once claimed it is sent, skipped or put back as failed."""
    logs = claim(log_ids=log_ids, older_than=older_than)
    if not logs:
        return 0, []
    templates = {t.name: t for t in EmailTemplate.objects.filter(name__in={log.template_name for log in logs})}
    balances = due_balances({log.client_id for log in logs})
    # The seller and its bank accounts, read once for the whole batch (billing/documents.py).
    documents = {"seller": seller_party(), "accounts": bank_accounts()}
    ready, done = [], []
    for log in logs:
        template = custom_template(log) or templates.get(log.template_name)
        to = recipient(log)
        if to is None:
            _finish(log, EmailLog.Status.SKIPPED, error="The contact this copy was for has been deleted.")
            done.append(log)
            continue
        if template is None or template.disabled:
            reason = "missing" if template is None else "disabled"
            _finish(log, EmailLog.Status.SKIPPED, error=f"The e-mail template '{log.template_name}' is {reason}.")
            done.append(log)
            continue
        if log.invoice is not None:
            log.invoice.client = log.client  # the same row, already loaded
        context = merge_fields(
            client=log.client, invoice=log.invoice, service=log.service,
            due_balance=balances.get(log.client_id, ZERO),
            extra={k: v for k, v in (log.extra or {}).items() if k != CUSTOM_MESSAGE}, **documents,
        )
        try:
            log.subject, log.body = render_template(template, context)
        except (TemplateSyntaxError, TemplateDoesNotExist) as exc:  # the latter: a template saved before tags were checked
            _finish(log, EmailLog.Status.FAILED, error=f"Template error: {exc}")
            done.append(log)
            continue
        log.to = to
        log.attachment = invoice_attachment(log, template, documents)
        ready.append(log)
    failed = []
    if ready:
        connection = mailers.default
        try:
            connection.open()
            for log in ready:
                message = EmailMessage(log.subject, log.body, settings.DEFAULT_FROM_EMAIL, [log.to])
                if log.attachment:
                    message.attach(*log.attachment)
                try:
                    connection.send_messages([message])
                except Exception as exc:  # refused or server down: back in the queue for a retry
                    _finish(log, EmailLog.Status.QUEUED, error=f"{type(exc).__name__}: {exc}")
                    failed.append(log.pk)
                else:
                    _finish(log, EmailLog.Status.SENT, sent_at=timezone.now())
        finally:
            connection.close()
    EmailLog.objects.bulk_update([*ready, *done], ["status", "to", "subject", "body", "error", "sent_at", "claim"])
    return len(ready) - len(failed), failed


CREDIT_NOTE_EVENT = "credit_note.issued:"  # billing.services.credit_notes queues its e-mail under this key


def invoice_attachment(log, template, documents):
    """(file name, PDF bytes, type) of the document an invoice e-mail is about, or None: the e-mail carries the
    legal document itself (seller and buyer, tax breakdown, bank details), as WHMCS's "attach PDF invoices". A
    credit note's e-mail carries the credit note (one query: such e-mails are few)."""
    if log.invoice is None or template.category != EmailTemplate.Category.INVOICE:
        return None
    if log.event_key.startswith(CREDIT_NOTE_EVENT):
        note = (CreditNote.objects.select_related("client", "invoice")
                .prefetch_related("items__invoice_item", "tax_lines")
                .filter(pk=log.event_key.removeprefix(CREDIT_NOTE_EVENT)).first())
        if note is None:
            return None
        document = credit_note_document(note, seller=documents["seller"])
    else:
        document = invoice_document(log.invoice, **documents)
    return document_filename(document), document_pdf(document), "application/pdf"


def _finish(log, status, *, error="", sent_at=None):
    log.status, log.error, log.sent_at, log.claim = status, error, sent_at, ""


def give_up(log_ids):
    """After the last retry: mark still-queued rows failed, so staff see them (and can resend from the admin)."""
    EmailLog.objects.filter(pk__in=log_ids, status=EmailLog.Status.QUEUED).update(status=EmailLog.Status.FAILED)


def resend(*, logs):
    """Staff resend: queue the same rows again (a failed, skipped or sent one)."""
    ids = [log.pk for log in logs]
    EmailLog.objects.filter(pk__in=ids).update(status=EmailLog.Status.QUEUED, error="", claim="")
    transaction.on_commit(lambda: _dispatch(ids))
    return len(ids)
