"""Payments, paying from credit, and what a paid invoice sets off.

A payment carries a gateway transaction id that is unique per gateway: a repeated notification returns the
first payment and changes nothing. Partial payments leave the invoice unpaid with a smaller balance; money
beyond the balance goes to the client's credit. When an invoice becomes paid (`settle_invoices`, exactly once:
the caller holds its lock and it is Unpaid), each service period it bills moves the service's next due date on,
an add-funds invoice turns into credit, the confirmation e-mail is queued, and, after commit, a task accepts
pending orders and unsuspends services suspended for non-payment (`after_invoices_paid`)."""
from collections import defaultdict
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from billing import emails, hooks
from billing.models import AutomationSettings, CreditLedgerEntry, Invoice, InvoiceItem, Payment, Service
from billing.numbering import allocate_invoice_numbers
from billing.services.ledger import ledger_post, lock_client
from portal.activity import build_entry, log_activities, log_activity
from portal.money import ZERO, quantize, spendable
from portal.updates import rows_update


@dataclass(frozen=True)
class PaymentResult:
    payment: Payment
    created: bool
    applied: Decimal = ZERO
    credited: Decimal = ZERO


def _clean_amount(amount, field="amount"):
    try:
        value = Decimal(str(amount).strip())
    except (InvalidOperation, ValueError):
        raise ValidationError({field: "Enter an amount such as 25.00."}) from None
    if not value.is_finite() or value <= 0:
        raise ValidationError({field: "The amount must be more than zero."})
    if value != quantize(value):
        raise ValidationError({field: "Use at most two decimal places."})
    return value


def clean_fees(fees):
    """A gateway's fee as a payment keeps it: two places, half up (a fee of 0.388 KWD is kept as 0.39)."""
    return quantize(fees or ZERO)


def clean_reference(transaction_id, gateway):
    """The (transaction id, gateway) of a money record, stripped; both are required."""
    transaction_id, gateway = (transaction_id or "").strip(), (gateway or "").strip()
    errors = {}
    if not transaction_id:
        errors["transaction_id"] = "Give the transaction id (the bank or gateway reference)."
    if not gateway:
        errors["gateway"] = "Say which gateway or method the money went through."
    if errors:
        raise ValidationError(errors)
    return transaction_id, gateway


def recorded_by(actor):
    """The staff user who recorded a transaction by hand (None for the client, a gateway or the system)."""
    return getattr(actor, "user", None) if getattr(actor, "type", "") == "staff" else None


@transaction.atomic
def payment_record(*, invoice, amount, transaction_id, actor, gateway="manual", received_at=None, fees=ZERO, note=""):
    """Record money received for an invoice. The same (gateway, transaction id) twice pays once."""
    amount = _clean_amount(amount)
    transaction_id, gateway = clean_reference(transaction_id, gateway)
    existing = _existing_payment(gateway, transaction_id, invoice, amount)
    if existing is not None:
        return PaymentResult(existing, created=False)
    client = lock_client(invoice.client_id)
    invoice = Invoice.objects.select_for_update().get(pk=invoice.pk)
    if invoice.status == Invoice.Status.DRAFT:
        raise ValidationError("This invoice is a draft: issue it before recording a payment.")
    try:
        with transaction.atomic():
            payment = Payment.objects.create(
                invoice=invoice, client=client, amount=amount, fees=clean_fees(fees), currency=invoice.currency,
                gateway=gateway, transaction_id=transaction_id, received_at=received_at or timezone.now(),
                recorded_by=recorded_by(actor), note=note[:255],
            )
    except IntegrityError:  # the same notification, recorded by a concurrent request a moment ago
        return PaymentResult(_existing_payment(gateway, transaction_id, invoice, amount), created=False)
    applied = min(amount, invoice.balance) if invoice.status == Invoice.Status.UNPAID else ZERO
    credited = amount - applied
    if applied:
        invoice.amount_paid += applied
        invoice.save(update_fields=["amount_paid", "updated_at"])
    if credited:
        ledger_post(
            client=client, kind=CreditLedgerEntry.Kind.OVERPAYMENT, amount=credited, invoice=invoice, payment=payment,
            description=f"Overpayment of invoice {invoice} ({gateway} {transaction_id})", actor=actor,
            idempotency_key=f"payment:{payment.pk}:overpayment",
        )
    log_activity(
        actor=actor, action="payment.record", target=invoice,
        message=f"Payment of {amount} {invoice.currency} recorded on invoice {invoice} ({gateway} {transaction_id})"
        + (f"; {credited} added to credit" if credited else ""),
        data={"payment": payment.pk, "amount": str(amount), "applied": str(applied), "credited": str(credited),
              "balance": str(invoice.balance)},
    )
    if invoice.status == Invoice.Status.UNPAID and invoice.balance <= 0:
        settle_invoices(invoices=[invoice], actor=actor)
    return PaymentResult(payment, created=True, applied=applied, credited=credited)


def _existing_payment(gateway, transaction_id, invoice, amount):
    existing = Payment.objects.filter(gateway=gateway, transaction_id=transaction_id).first()
    if existing is None:
        return None
    if existing.invoice_id != invoice.pk or existing.amount != amount:
        raise ValidationError(
            {"transaction_id": f"The {gateway} transaction {transaction_id} is already recorded "
                               f"({existing.amount} {existing.currency} on invoice {existing.invoice})."}
        )
    return existing


@transaction.atomic
def invoice_pay_from_credit(*, invoice, actor, amount=None):
    """Pay (part of) an unpaid invoice from the client's credit balance."""
    client = lock_client(invoice.client_id)
    invoice = Invoice.objects.select_for_update().get(pk=invoice.pk)
    if invoice.status != Invoice.Status.UNPAID:
        raise ValidationError(f"Invoice {invoice} is {invoice.get_status_display().lower()}: nothing to pay.")
    if invoice.kind == Invoice.Kind.ADD_FUNDS:
        raise ValidationError("An add-funds invoice cannot be paid from credit: pay it to add credit.")
    available = spendable(client.credit_balance, invoice.currency)
    if available <= 0:
        raise ValidationError("There is no credit on the account to apply.")
    use = min(available, invoice.balance) if amount is None else _clean_amount(amount)
    if use > available or use > invoice.balance:
        raise ValidationError({"amount": f"Apply at most {min(available, invoice.balance)} (the credit or the balance)."})
    invoice.credit_applied += use
    invoice.save(update_fields=["credit_applied", "updated_at"])
    ledger_post(
        client=client, kind=CreditLedgerEntry.Kind.INVOICE_PAYMENT, amount=-use, invoice=invoice,
        description=f"Credit applied to invoice {invoice}", actor=actor,
    )
    log_activity(
        actor=actor, action="invoice.pay_from_credit", target=invoice,
        message=f"{use} {invoice.currency} of credit applied to invoice {invoice}",
        data={"amount": str(use), "balance": str(invoice.balance), "credit_left": str(client.credit_balance)},
    )
    if invoice.balance <= 0:
        settle_invoices(invoices=[invoice], actor=actor)
    return invoice


def settle_invoices(*, invoices, actor):
    """Mark unpaid invoices whose balance is nil as paid, once, and set off what follows. The caller holds the
    invoices (fresh ones, or locked rows) inside its transaction."""
    invoices = [inv for inv in invoices if inv.status == Invoice.Status.UNPAID and inv.balance <= 0]
    if not invoices:
        return
    numbered = give_legal_numbers(invoices)
    now = timezone.now()  # read after the sequence lock, so paid times run in the order of the legal numbers
    ids = [inv.pk for inv in invoices]
    Invoice.objects.filter(pk__in=ids, status=Invoice.Status.UNPAID).update(status=Invoice.Status.PAID, paid_at=now)
    for inv in invoices:
        inv.status, inv.paid_at = Invoice.Status.PAID, now
    if numbered:
        log_activities([
            build_entry(actor=actor, action="invoice.numbered", target=inv,
                        message=f"Proforma {inv.proforma_number} paid: invoice number {inv.number} given",
                        data={"number": inv.number, "proforma_number": inv.proforma_number})
            for inv in numbered
        ])
    advance_due_dates(invoice_ids=ids)
    hooks.apply_paid_changes(invoice_ids=ids, actor=actor)  # upgrades waiting for these invoices take effect
    for inv in invoices:
        if inv.kind == Invoice.Kind.ADD_FUNDS:
            ledger_post(
                client=inv.client, kind=CreditLedgerEntry.Kind.TOPUP, amount=inv.subtotal, invoice=inv, actor=actor,
                description=f"Funds added (invoice {inv})", idempotency_key=f"invoice:{inv.pk}:topup",
            )
    log_activities(
        [build_entry(actor=actor, action="invoice.paid", target=inv, message=f"Invoice {inv} paid") for inv in invoices]
    )
    emails.queue_emails(
        [
            emails.EmailRequest(emails.INVOICE_PAID, inv.client_id, f"invoice.paid:{inv.pk}", invoice_id=inv.pk)
            for inv in invoices
            if inv.total > 0
        ]
    )
    waiting = Service.objects.filter(
        invoice_items__invoice_id__in=ids, status__in=[Service.Status.PENDING, Service.Status.SUSPENDED]
    )
    if waiting.exists():
        transaction.on_commit(lambda: _follow_up(ids))


def give_legal_numbers(invoices):
    """A paid invoice always has its legal number: those that have none (proformas) take the next ones of the
    gap-free sequence now, in id order, dated today (their tax point). The sequence row stays locked until the
    caller's transaction ends, so concurrent payments are numbered in the order they commit, with no gap.
    Returns the invoices numbered."""
    unnumbered = sorted((inv for inv in invoices if not inv.number), key=lambda inv: inv.pk)
    if not unnumbered:
        return []
    today = timezone.localdate()
    for inv, number in zip(unnumbered, allocate_invoice_numbers(len(unnumbered), on_date=today)):
        inv.number, inv.date = number, today
    rows_update(Invoice, ["number", "date"], [(inv.pk, inv.number, inv.date) for inv in unnumbered])
    return unnumbered


def _follow_up(invoice_ids):
    hooks.follow_up_paid_invoices_later(invoice_ids)


def advance_due_dates(*, invoice_ids):
    """Move the next due date of each service billed on these (now paid) invoices past every paid period that
    starts on it. Derived from the paid periods, so applying it again changes nothing: exactly once."""
    service_ids = set(
        InvoiceItem.objects.filter(
            invoice_id__in=invoice_ids, kind=InvoiceItem.Kind.SERVICE, service__isnull=False, period_end__isnull=False
        ).values_list("service_id", flat=True)
    )
    if not service_ids:
        return
    services = list(
        Service.objects.select_for_update().filter(pk__in=service_ids, next_due_date__isnull=False)
        .only("pk", "next_due_date", "next_invoice_date").order_by("pk")
    )
    if not services:
        return
    periods = defaultdict(dict)
    paid = InvoiceItem.objects.filter(
        service_id__in=service_ids, kind=InvoiceItem.Kind.SERVICE, invoice__status=Invoice.Status.PAID,
        period_end__isnull=False, period_start__gte=min(s.next_due_date for s in services),
    )
    for service_id, start, end in paid.values_list("service_id", "period_start", "period_end"):
        periods[service_id][start] = end
    changed = []
    for service in services:
        due = service.next_due_date
        while due in periods[service.pk]:
            due = periods[service.pk][due] + timedelta(days=1)
        if due != service.next_due_date:
            service.next_due_date = due
            if service.next_invoice_date is None or service.next_invoice_date < due:
                service.next_invoice_date = due
            changed.append(service)
    Service.objects.bulk_update(changed, ["next_due_date", "next_invoice_date"], batch_size=500)


@dataclass
class FollowUp:
    accepted: list
    unsuspended: list
    failed: list  # (service, hooks.ProviderError)


def after_invoices_paid(*, invoice_ids, actor):
    """After payment commits: accept pending orders set to auto-accept (provisioning Create) and unsuspend
    services suspended for non-payment that owe nothing overdue any more, as the automation settings say.

    Each transition runs on its own (provisioning.lifecycle): a module error leaves that service as it was,
    is recorded for retry by lifecycle, and never touches the payment."""

    settings = AutomationSettings.load()
    today = timezone.localdate()
    services = list(
        Service.objects.filter(invoice_items__invoice_id__in=invoice_ids).distinct()
        .select_related("product", "client", "order").order_by("pk")
    )
    result = FollowUp([], [], [])
    # An order on hold (e-mail not verified, staff review) waits: releasing it runs this again.
    to_accept = [s for s in services if s.status == Service.Status.PENDING and s.product.auto_accept_on_payment
                 and not (s.order and s.order.hold)]
    to_unsuspend = [
        s for s in services
        if settings.unsuspend_on_payment and s.status == Service.Status.SUSPENDED
        and s.suspend_reason == Service.SuspendReason.OVERDUE
    ]
    still_overdue = set(
        InvoiceItem.objects.filter(
            service__in=to_unsuspend, invoice__status=Invoice.Status.UNPAID, invoice__due_date__lt=today
        ).values_list("service_id", flat=True)
    ) if to_unsuspend else set()
    for service in to_accept:
        try:
            hooks.service_create(service=service, actor=actor)
            result.accepted.append(service)
            if service.order_id:
                emails.queue_email(template_name=emails.SERVICE_WELCOME, client=service.client, service=service,
                                   event_key=f"service.welcome:{service.pk}", extra=hooks.welcome_details(service=service))
        except hooks.ActionRefused:
            pass  # accepted meanwhile (staff, or a concurrent run)
        except hooks.ProviderError as exc:
            result.failed.append((service, exc))
    for service in to_unsuspend:
        if service.pk in still_overdue:
            continue
        suspended_at = service.suspended_at
        try:
            hooks.service_unsuspend(service=service, actor=actor)
        except hooks.ActionRefused:
            continue
        except hooks.ProviderError as exc:
            result.failed.append((service, exc))
            continue
        result.unsuspended.append(service)
        if settings.send_unsuspension_email:
            stamp = suspended_at.isoformat() if suspended_at else "unknown"
            emails.queue_email(
                template_name=emails.SERVICE_UNSUSPENDED, client=service.client, service=service,
                event_key=f"service.unsuspended:{service.pk}:{stamp}",
            )
    return result
