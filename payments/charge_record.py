"""Succeeded automatic charges recorded in batches: the payments through billing's `payments_record_batch` (the
gateway's fee on each; billing alone marks invoices paid, once, with what follows — the paid e-mail, the due
dates moved on, orders accepted and services unsuspended after commit), then the tries marked succeeded with
their payment. A fixed number of queries per batch, however many charges it holds."""
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from billing.services.payment_batch import PaymentRequest, payments_record_batch
from payments.models import ChargeAttempt
from portal.money import ZERO
from portal.updates import rows_update


def batchable(report, attempt, invoice):
    """A paid answer that is exactly what the try asked for: money received in the invoice's currency, the
    try's amount. Anything else goes through report_record one by one (a mismatch is left for staff)."""
    return (report.paid and report.currency == invoice.currency == attempt.currency
            and report.amount == attempt.amount)


@transaction.atomic
def record_paid(gateway, paid, *, actor):
    """`paid`: [(invoice, attempt, report)] of one gateway, each `batchable`. Returns (recorded attempts,
    [(invoice, attempt, report, why)] billing refused — e.g. the transaction id is recorded on another invoice —
    for the caller to record on their own)."""
    results = payments_record_batch(requests=[
        # the fee came with the answer; None means the gateway gave none in this currency: 0, as payment_record
        PaymentRequest(invoice.pk, report.amount, report.transaction_id, note=f"{gateway.settings} {report.reference}",
                       fees=report.fees if report.fees is not None else ZERO)
        for invoice, attempt, report in paid], gateway=gateway.key, actor=actor)
    recorded, refused, stamp = [], [], timezone.now()
    for (invoice, attempt, report), result in zip(paid, results, strict=True):
        if isinstance(result, str):
            refused.append((invoice, attempt, report, result))
            continue
        attempt.status, attempt.payment, attempt.reason = ChargeAttempt.Status.SUCCEEDED, result.payment, ""
        attempt.received_amount, attempt.received_currency = report.amount, report.currency
        attempt.next_retry_at, attempt.updated_at = None, stamp
        recorded.append(attempt)
    if recorded:
        # what every try shares in one UPDATE (received = what it asked: see batchable), then each its payment
        # in one prepared statement (bulk_update's CASE per row costs a second per few hundred rows)
        ChargeAttempt.objects.filter(pk__in=[attempt.pk for attempt in recorded]).update(
            status=ChargeAttempt.Status.SUCCEEDED, reason="", received_amount=F("amount"),
            received_currency=F("currency"), next_retry_at=None, updated_at=stamp)
        rows_update(ChargeAttempt, ["payment"], [(attempt.pk, attempt.payment.pk) for attempt in recorded])
    return recorded, refused

