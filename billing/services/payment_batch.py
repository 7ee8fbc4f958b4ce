"""Many payments of one gateway recorded at once (a bank statement's lines; a run of automatic card charges, with
the gateway's fee on each): the same rules as `payment_record` — a (gateway, transaction id) pays once, a partial
payment leaves the balance, money beyond the balance goes to credit, an invoice whose balance reaches zero is
settled once with everything that follows — with a fixed number of queries per batch instead of some twenty per
payment.

Each request either gives a PaymentResult or an error message (the same ones `payment_record` raises); an error
never stops the others. If a concurrent writer records one of the transaction ids while the batch runs, the batch
falls back to `payment_record` one by one, which settles the race as it does for a single notification."""
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from billing.models import CreditLedgerEntry, Invoice, Payment
from billing.services.ledger import ledger_post
from billing.services.payments import (
    PaymentResult,
    _clean_amount,
    clean_fees,
    clean_reference,
    payment_record,
    recorded_by,
    settle_invoices,
)
from portal.activity import build_entry, log_activities
from portal.models import Client
from portal.money import ZERO
from portal.updates import rows_update


@dataclass(frozen=True)
class PaymentRequest:
    invoice_id: int
    amount: Decimal
    transaction_id: str
    received_at: datetime | None = None
    note: str = ""
    fees: Decimal = ZERO  # what the gateway kept, stored on the payment as payment_record does


def _chunks(values, size=900):
    for i in range(0, len(values), size):
        yield values[i:i + size]


def _message(exc):
    if hasattr(exc, "message_dict"):
        return " ".join(m for messages in exc.message_dict.values() for m in messages)
    return " ".join(exc.messages)


@transaction.atomic
def payments_record_batch(*, requests, gateway, actor):
    """Record `requests` (PaymentRequest) through `gateway`. Returns a list in the same order: a PaymentResult, or
    the error message (str) of a request that was refused."""
    requests = list(requests)
    results = [None] * len(requests)
    cleaned, seen = {}, set()
    for n, request in enumerate(requests):
        try:
            amount = _clean_amount(request.amount)
            transaction_id, gw = clean_reference(request.transaction_id, gateway)
        except ValidationError as exc:
            results[n] = _message(exc)
            continue
        if transaction_id in seen:
            results[n] = f"The {gw} transaction {transaction_id} is twice in this batch."
            continue
        cleaned[n] = transaction_id
        seen.add(transaction_id)
        requests[n] = PaymentRequest(request.invoice_id, amount, transaction_id, request.received_at, request.note,
                                     clean_fees(request.fees))
    gateway = gateway.strip()
    existing = _existing_payments(gateway, list(seen))
    pending = []
    for n, transaction_id in cleaned.items():
        request, payment = requests[n], existing.get(transaction_id)
        if payment is None:
            pending.append(n)
        elif payment.invoice_id != request.invoice_id or payment.amount != request.amount:
            results[n] = (f"The {gateway} transaction {transaction_id} is already recorded ({payment.amount} "
                          f"{payment.currency} on invoice {payment.invoice}).")
        else:
            results[n] = PaymentResult(payment, created=False)
    if not pending:
        return results
    invoice_ids = sorted({requests[n].invoice_id for n in pending})
    client_ids = set()
    for chunk in _chunks(invoice_ids):
        client_ids.update(Invoice.objects.filter(pk__in=chunk).values_list("client_id", flat=True))
    invoices = {}
    for chunk in _chunks(sorted(client_ids)):  # lock the clients first, then the invoices, as payment_record does
        list(Client.objects.select_for_update().filter(pk__in=chunk).order_by("pk").values_list("pk", flat=True))
    for chunk in _chunks(invoice_ids):
        invoices.update((i.pk, i) for i in Invoice.objects.select_for_update().filter(pk__in=chunk).order_by("pk"))
    now, rows, shares = timezone.now(), [], []
    for n in pending:
        request = requests[n]
        invoice = invoices.get(request.invoice_id)
        if invoice is None:
            results[n] = f"Invoice {request.invoice_id} does not exist."
            continue
        if invoice.status == Invoice.Status.DRAFT:
            results[n] = "This invoice is a draft: issue it before recording a payment."
            continue
        applied = min(request.amount, invoice.balance) if invoice.status == Invoice.Status.UNPAID else ZERO
        applied = max(applied, ZERO)
        invoice.amount_paid += applied
        invoice.updated_at = now
        shares.append((n, invoice, applied, request.amount - applied))
        rows.append(Payment(
            invoice=invoice, client_id=invoice.client_id, amount=request.amount, fees=request.fees,
            currency=invoice.currency, gateway=gateway, transaction_id=request.transaction_id,
            received_at=request.received_at or now, recorded_by=recorded_by(actor), note=request.note[:255],
        ))
    try:
        with transaction.atomic():
            Payment.objects.bulk_create(rows, batch_size=500)
    except IntegrityError:  # recorded by a concurrent writer meanwhile: settle each one as a single notification
        return _one_by_one(requests, results, pending, gateway, actor)
    # Read back (MySQL's bulk insert gives no ids) in one query.
    saved = {}
    for chunk in _chunks([r.transaction_id for r in rows]):
        saved.update((p.transaction_id, p) for p in Payment.objects.filter(gateway=gateway, transaction_id__in=chunk))
    touched = {invoice.pk: invoice for _, invoice, applied, _ in shares if applied}
    # one prepared UPDATE for every invoice's amount paid (bulk_update's CASE per row costs seconds per thousand)
    rows_update(Invoice, ["amount_paid", "updated_at"], [(i.pk, i.amount_paid, now) for i in touched.values()])
    entries = []
    for n, invoice, applied, credited in shares:
        payment = saved[requests[n].transaction_id]
        if credited:
            ledger_post(
                client=invoice.client, kind=CreditLedgerEntry.Kind.OVERPAYMENT, amount=credited,
                invoice=invoice, payment=payment, actor=actor,
                description=f"Overpayment of invoice {invoice} ({gateway} {payment.transaction_id})",
                idempotency_key=f"payment:{payment.pk}:overpayment",
            )
        entries.append(build_entry(
            actor=actor, action="payment.record", target=invoice,
            message=f"Payment of {payment.amount} {invoice.currency} recorded on invoice {invoice} ({gateway} "
                    f"{payment.transaction_id})" + (f"; {credited} added to credit" if credited else ""),
            data={"payment": payment.pk, "amount": str(payment.amount), "applied": str(applied),
                  "credited": str(credited), "balance": str(invoice.balance)},
        ))
        results[n] = PaymentResult(payment, created=True, applied=applied, credited=credited)
    log_activities(entries)
    settle_invoices(invoices=[i for i in invoices.values() if i.status == Invoice.Status.UNPAID and i.balance <= 0],
                    actor=actor)
    return results


def _existing_payments(gateway, transaction_ids):
    existing = {}
    for chunk in _chunks(transaction_ids):
        existing.update((p.transaction_id, p) for p in Payment.objects.filter(gateway=gateway, transaction_id__in=chunk)
                        .select_related("invoice"))
    return existing


def _one_by_one(requests, results, pending, gateway, actor):
    for n in pending:
        if results[n] is not None:
            continue
        request = requests[n]
        try:
            invoice = Invoice.objects.get(pk=request.invoice_id)
            results[n] = payment_record(invoice=invoice, amount=request.amount, transaction_id=request.transaction_id,
                                        gateway=gateway, actor=actor, received_at=request.received_at,
                                        note=request.note, fees=request.fees)
        except Invoice.DoesNotExist:
            results[n] = f"Invoice {request.invoice_id} does not exist."
        except ValidationError as exc:
            results[n] = _message(exc)
    return results
