"""Re-rating: a service's calls of a period rated again with its product's current deck (after a deck was
corrected), and unmatched calls matched again (after a service's tenant, DIDs or extensions were corrected).

Re-rating locks the period's calls, rates each stored call again from its stored fields, writes the new
results and posts the difference in one transaction, as an adjustment entry keyed on the re-rating's batch.
Running it again finds nothing to change and posts nothing: it is idempotent by construction. Postpaid calls
are not in the credit: their new costs change the client's unbilled usage (billed by the next usage invoice),
and calls already on a usage invoice are left as they were (the invoice is what the client was billed).
"""
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from billing.models import CreditLedgerEntry, Service
from billing.services.ledger import ledger_post, lock_client
from portal.activity import log_activity
from provisioning.telephony.cdrs import CdrRecord
from voip.models import Cdr, CdrImport, CdrSource
from voip.rating.engine import RATED
from voip.selectors import period_bounds
from voip.services.imports import (
    PROVIDER_UNMATCHED, ImportReport, ServiceRating, finish_import, hide_internal_legs, start_import,
    stored_precise_cost,
)
from voip.services.matching import matcher_for
from voip.services.unbilled import refresh_unbilled

RERATED_FIELDS = (
    "e164", "billed_seconds", "prefix", "destination", "cost", "precise_cost", "status", "reason", "rated_at",
)
# Calls whose rating depends on the deck; ignored calls (unanswered, internal) stay as they are.
RERATABLE = (Cdr.Status.RATED, Cdr.Status.UNRATED, Cdr.Status.INVALID)


def _batch(source, actor, message):
    return start_import(source=source, kind=CdrImport.Kind.RERATE, actor_user=getattr(actor, "user", None),
                        message=message)


def _record(cdr):
    return CdrRecord(cdr.line, cdr.external_id, cdr.direction, cdr.caller, cdr.callee, cdr.number, cdr.answer_time,
                     cdr.billsec, cdr.disposition, "", [], cdr.account)


def rerate_service(*, service, start, end, actor):
    """Re-rate `service`'s calls answered from `start` to `end` (dates, inclusive, business time zone) with the
    current deck. Returns the CdrImport (kind re-rate) that reports it; its `charged` is the change in charges
    (positive: the client now pays more). The difference of the prepaid calls is posted as one adjustment entry;
    that of the postpaid calls not yet invoiced moves the client's unbilled usage. Invoiced calls are kept."""
    service = Service.objects.get(pk=service.pk)
    rating = ServiceRating({service.pk: service.product_id})
    first, after = period_bounds(start, end)
    cdr_import = _batch(None, actor, f"{service.domain}: calls from {start} to {end}")
    now = timezone.now()
    with transaction.atomic():
        # The client first, then its calls: the order usage invoicing takes them in (no deadlock between the two).
        client = lock_client(service.client_id)
        calls = list(
            Cdr.objects.select_for_update().filter(
                service=service, answer_time__gte=first, answer_time__lt=after, status__in=RERATABLE,
                usage_invoice__isnull=True,
            ).order_by("id")
        )
        before = _charged(calls)
        digits_of = dict(CdrSource.objects.filter(pk__in={cdr.source_id for cdr in calls})
                         .values_list("pk", "extension_digits"))
        changed = []
        for cdr in calls:
            new = _rated_values(rating.result(service.pk, _record(cdr), digits_of[cdr.source_id]), now)
            if any(getattr(cdr, name) != value for name, value in new.items() if name != "rated_at"):
                for name, value in new.items():
                    setattr(cdr, name, value)
                changed.append(cdr)
        Cdr.objects.bulk_update(changed, RERATED_FIELDS, batch_size=1000)
        after_total = _charged(calls)
        difference = after_total[False] - before[False]  # prepaid: the client's credit
        unbilled_difference = after_total[True] - before[True]  # postpaid, not invoiced yet
        if unbilled_difference or any(cdr.postpaid for cdr in changed):
            refresh_unbilled([service.client_id])
        if difference:
            ledger_post(
                client=client, kind=CreditLedgerEntry.Kind.ADJUSTMENT, amount=-difference,
                description=f"Re-rating of {service.domain} calls {start} – {end}: {len(changed)} call(s) changed",
                service=service, idempotency_key=f"cdr-rerate:{cdr_import.pk}:{service.pk}", actor=actor,
            )
        CdrImport.objects.filter(pk=cdr_import.pk).update(
            status=CdrImport.Status.DONE, finished_at=timezone.now(), lines_read=len(calls), inserted=0,
            rated=sum(1 for cdr in calls if cdr.status == RATED), duplicates=len(calls) - len(changed),
            unrated=sum(1 for cdr in calls if cdr.status == Cdr.Status.UNRATED),
            invalid=sum(1 for cdr in calls if cdr.status == Cdr.Status.INVALID), charged=difference,
        )
        log_activity(
            actor=actor, action="voip.rerate", target=service,
            message=f"Calls of {start} – {end} re-rated: {len(changed)} of {len(calls)} changed, charges "
                    f"{difference:+} {service.currency}"
                    + (f", unbilled usage {unbilled_difference:+}" if unbilled_difference else ""),
            data={"import": cdr_import.pk, "changed": len(changed), "calls": len(calls), "difference": str(difference),
                  "unbilled_difference": str(unbilled_difference)},
        )
    cdr_import.refresh_from_db()
    return cdr_import


def _charged(calls):
    """{postpaid?: total cost of the rated calls}."""
    totals = {False: Decimal(0), True: Decimal(0)}
    for cdr in calls:
        if cdr.status == RATED:
            totals[cdr.postpaid] += cdr.cost
    return totals


def _rated_values(result, now):
    rate = result.rate
    return {
        "e164": result.e164, "billed_seconds": result.billed_seconds,
        "prefix": rate.prefix if rate is not None else "", "destination": rate.destination[:120] if rate else "",
        "cost": result.cost, "precise_cost": stored_precise_cost(result), "status": result.status,
        "reason": result.reason[:200], "rated_at": now if result.status == RATED else None,
    }


def rematch_unmatched(*, source, actor):
    """Match the source's unmatched calls again (after a service's identifiers were corrected), rate them and
    charge them as one new batch. Returns the CdrImport (kind re-rate) with the counts; calls that still match
    nothing stay unmatched."""
    matcher = matcher_for(source)
    rating = ServiceRating(matcher.product_of, matcher.zone_of, source.extension_digits)
    cdr_import = _batch(source, actor, f"Unmatched calls of {source.name} matched again")
    now = timezone.now()
    with transaction.atomic():
        calls = list(
            Cdr.objects.select_for_update().filter(source=source, status=Cdr.Status.UNMATCHED)
            .exclude(reason__startswith=PROVIDER_UNMATCHED)  # the module could not tell their direction
            .order_by("id")
        )
        changed = []
        for cdr in calls:
            record = _record(cdr)
            service_id = matcher.match(record)
            if service_id is None:
                continue
            for name, value in _rated_values(rating.result(service_id, record), now).items():
                setattr(cdr, name, value)
            cdr.service_id = service_id
            cdr.postpaid = rating.postpaid(service_id)  # its service's billing mode now decides
            cdr.cdr_import_id = cdr_import.pk  # the new batch charges it (or, postpaid, leaves it unbilled)
            changed.append(cdr)
        Cdr.objects.bulk_update(changed, (*RERATED_FIELDS, "service", "cdr_import", "postpaid"), batch_size=1000)
    if any(cdr.call_id for cdr in changed):
        hide_internal_legs(cdr_import)  # legs of one call matched now: the call is listed once
    report = ImportReport()
    report.lines = len(changed)
    finish_import(cdr_import, report)
    log_activity(
        actor=actor, action="voip.rematch", target=source,
        message=f"{len(changed)} of {len(calls)} unmatched call(s) of {source.name} now match a service",
        data={"import": cdr_import.pk, "matched": len(changed), "unmatched": len(calls)},
    )
    cdr_import.refresh_from_db()
    return cdr_import
