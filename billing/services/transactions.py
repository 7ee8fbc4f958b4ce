"""Transactions other than a payment of an invoice (payments.payment_record): money received into credit, money
paid out (refunds), and corrections of a transaction's record.

The rules of a money record:
- a transaction is money in or money out, never both, and its amounts never change once recorded; a mistake in
  an amount is corrected by a new transaction (a refund of money in, or a new payment), so the books show both;
- what may be corrected in place is how the money is described: description, gateway transaction id, gateway
  and date, and the gateway's fees (the gateway's cut, not the client's money; negative when it returned
  them). Each correction is in
  the audit log with the old and new values;
- money in without an invoice goes to the client's credit (the portal keeps no unallocated money);
- money out is a refund: of money received on a paid invoice (at most what its gateway payments brought in,
  less earlier refunds; the invoice becomes Refunded when all of it is returned), or of the client's credit
  (at most the spendable balance). The same (gateway, transaction id) is recorded once, as for payments.
"""
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.utils import timezone

from billing.models import CreditLedgerEntry, CreditNote, Invoice, Payment
from billing.services.credit_notes import credit_note_issue, credited_total
from billing.services.ledger import ledger_post, lock_client
from billing.services.payments import _clean_amount, clean_reference, recorded_by
from portal.activity import log_activity
from portal.money import ZERO, quantize, spendable

EDITABLE_FIELDS = ("note", "transaction_id", "gateway", "received_at", "fees")


def _create(**fields):
    try:
        with transaction.atomic():
            return Payment.objects.create(**fields)
    except IntegrityError:
        raise ValidationError(
            {"transaction_id": f"The {fields['gateway']} transaction {fields['transaction_id']} is already recorded."}
        ) from None


@transaction.atomic
def payment_to_credit(*, client, amount, transaction_id, gateway, actor, received_at=None, fees=ZERO, note=""):
    """Money received without an invoice: it is added to the client's credit. Returns the Payment."""
    amount = _clean_amount(amount)
    transaction_id, gateway = clean_reference(transaction_id, gateway)
    client = lock_client(client)
    payment = _create(
        invoice=None, client=client, amount=amount, fees=fees or ZERO, currency=client.currency, gateway=gateway,
        transaction_id=transaction_id, received_at=received_at or timezone.now(), recorded_by=recorded_by(actor),
        note=(note or "")[:255],
    )
    ledger_post(
        client=client, kind=CreditLedgerEntry.Kind.TOPUP, amount=amount, payment=payment, actor=actor,
        description=f"Payment to credit ({gateway} {transaction_id})", idempotency_key=f"payment:{payment.pk}:credit",
    )
    log_activity(
        actor=actor, action="payment.to_credit", target=client,
        message=f"Payment of {amount} {client.currency} added to credit ({gateway} {transaction_id})",
        data={"payment": payment.pk, "amount": str(amount), "balance": str(client.credit_balance)},
    )
    return payment


def refundable(invoice):
    """What can still be refunded from an invoice's gateway payments (money in less money out)."""
    sums = Payment.objects.filter(invoice=invoice).aggregate(paid=Sum("amount"), out=Sum("amount_out"))
    return quantize((sums["paid"] or ZERO) - (sums["out"] or ZERO))


@transaction.atomic
def refund_record(*, amount, transaction_id, gateway, actor, invoice=None, client=None, received_at=None, fees=ZERO,
                  note=""):
    """Money out: a refund of a paid invoice's payments (`invoice`) or of the client's credit (`client`).
    Returns the Payment (amount 0, amount_out the refund)."""
    amount = _clean_amount(amount, "amount_out")
    transaction_id, gateway = clean_reference(transaction_id, gateway)
    if (invoice is None) == (client is None):
        raise ValidationError("A refund is of an invoice's payments or of the client's credit: give one of them.")
    client = lock_client(invoice.client_id if invoice is not None else client)
    fields = dict(client=client, amount=ZERO, amount_out=amount, fees=fees or ZERO, currency=client.currency,
                  gateway=gateway, transaction_id=transaction_id, received_at=received_at or timezone.now(),
                  recorded_by=recorded_by(actor), note=(note or "")[:255])
    if invoice is None:
        available = spendable(client.credit_balance, client.currency)
        if amount > available:
            raise ValidationError({"amount_out": f"Refund at most {available} {client.currency} (the client's credit)."})
        payment = _create(invoice=None, **fields)
        ledger_post(
            client=client, kind=CreditLedgerEntry.Kind.REFUND, amount=-amount, payment=payment, actor=actor,
            description=f"Credit refunded ({gateway} {transaction_id})", idempotency_key=f"payment:{payment.pk}:refund",
        )
        log_activity(
            actor=actor, action="payment.refund", target=client,
            message=f"{amount} {client.currency} of credit refunded ({gateway} {transaction_id})",
            data={"payment": payment.pk, "amount": str(amount), "balance": str(client.credit_balance)},
        )
        return payment
    invoice = Invoice.objects.select_for_update().get(pk=invoice.pk)
    if invoice.status != Invoice.Status.PAID:
        raise ValidationError(
            f"Invoice {invoice} is {invoice.get_status_display().lower()}: only a paid invoice's payments can be "
            "refunded (cancel an unpaid invoice: what it received goes to credit, which can then be refunded)."
        )
    left = refundable(invoice)
    if amount > left:
        raise ValidationError({"amount_out": f"Refund at most {left} {invoice.currency} (received on invoice {invoice} "
                                             "by gateway payments, less earlier refunds)."})
    original = invoice.payments.filter(amount__gt=0).order_by("-received_at", "-pk").first()
    payment = _create(invoice=invoice, refund_of=original, **fields)
    # The refund is documented by a credit note (never an edit of the paid invoice), for what the invoice still
    # holds: money a payment brought beyond the invoice's total went to credit and is not the invoice's to undo.
    to_credit = min(amount, invoice.total - credited_total(invoice))
    credit_note = None
    if to_credit > 0:
        credit_note = credit_note_issue(invoice=invoice, amount=to_credit, kind=CreditNote.Kind.REFUND, payment=payment,
                                        actor=actor, reason=(note or "").strip() or f"Refund ({gateway} {transaction_id})")
    fully = amount == left
    if fully:
        invoice.status = Invoice.Status.REFUNDED
        invoice.save(update_fields=["status", "updated_at"])
    log_activity(
        actor=actor, action="payment.refund", target=invoice,
        message=f"{amount} {invoice.currency} refunded on invoice {invoice} ({gateway} {transaction_id})"
        + ("; the invoice is refunded" if fully else "") + (f"; credit note {credit_note}" if credit_note else ""),
        data={"payment": payment.pk, "amount": str(amount), "refund_of": getattr(original, "pk", None),
              "invoice_status": invoice.status, "credit_note": getattr(credit_note, "number", None)},
    )
    return payment


@transaction.atomic
def transaction_update(*, payment, actor, **changes):
    """Correct how a transaction is described (EDITABLE_FIELDS). Amounts, invoice and client never change."""
    refused = sorted(set(changes) - set(EDITABLE_FIELDS))
    if refused:
        raise ValidationError(
            f"{', '.join(refused)} of a transaction cannot be changed: record a correcting transaction instead."
        )
    payment = Payment.objects.select_for_update().get(pk=payment.pk)
    if "transaction_id" in changes or "gateway" in changes:
        changes["transaction_id"], changes["gateway"] = clean_reference(
            changes.get("transaction_id", payment.transaction_id), changes.get("gateway", payment.gateway)
        )
    if "fees" in changes:
        fees = Decimal(changes["fees"])  # may be negative: a gateway returning its fee (WHMCS allows it)
        if not fees.is_finite() or fees != fees.quantize(Decimal("0.01")):
            raise ValidationError({"fees": "Fees are an amount with at most two decimal places."})
    if "note" in changes:
        changes["note"] = (changes["note"] or "")[:255]
    diff = {name: [str(getattr(payment, name)), str(value)] for name, value in changes.items() if getattr(payment, name) != value}
    if not diff:
        return payment
    for name, value in changes.items():
        setattr(payment, name, value)
    clash = Payment.objects.filter(gateway=payment.gateway, transaction_id=payment.transaction_id).exclude(pk=payment.pk)
    if clash.exists():
        raise ValidationError({"transaction_id": f"The {payment.gateway} transaction {payment.transaction_id} is already recorded."})
    payment.save(update_fields=list(diff))
    log_activity(
        actor=actor, action="payment.update", target=payment.invoice or payment.client, client=payment.client,
        message=f"Transaction #{payment.pk} corrected: {', '.join(sorted(diff))}",
        data={"payment": payment.pk, "changes": diff},
    )
    return payment
