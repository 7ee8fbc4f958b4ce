"""Re-rating: a service's calls of a period rated again with its product's current deck (after a deck was
corrected), and unmatched calls matched again (after a service's tenant, DIDs or extensions were corrected).

Re-rating locks the period's calls, rates each stored call again from its stored fields, writes the new
results and posts the difference in one transaction, as an adjustment entry keyed on the re-rating's batch.
Running it again finds nothing to change and posts nothing: it is idempotent by construction.
"""
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from billing.models import CreditLedgerEntry, Service
from billing.services.ledger import ledger_post, lock_client
from portal.activity import log_activity
from voip.cdr_formats import CdrRecord
from voip.models import Cdr, CdrImport
from voip.rating.engine import RATED
from voip.selectors import period_bounds
from voip.services.imports import (
    PROVIDER_UNMATCHED, ImportReport, ServiceRating, finish_import, start_import, stored_precise_cost,
)
from voip.services.matching import matcher_for

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
    (positive: the client now pays more). The difference is posted as one adjustment entry."""
    service = Service.objects.get(pk=service.pk)
    rating = ServiceRating({service.pk: service.product_id})
    first, after = period_bounds(start, end)
    cdr_import = _batch(None, actor, f"{service.domain}: calls from {start} to {end}")
    now = timezone.now()
    with transaction.atomic():
        calls = list(
            Cdr.objects.select_for_update().filter(
                service=service, answer_time__gte=first, answer_time__lt=after, status__in=RERATABLE
            ).order_by("id")
        )
        before = sum((cdr.cost for cdr in calls if cdr.status == RATED), Decimal(0))
        changed = []
        for cdr in calls:
            new = _rated_values(rating.result(service.pk, _record(cdr)), now)
            if any(getattr(cdr, name) != value for name, value in new.items() if name != "rated_at"):
                for name, value in new.items():
                    setattr(cdr, name, value)
                changed.append(cdr)
        Cdr.objects.bulk_update(changed, RERATED_FIELDS, batch_size=1000)
        after_total = sum((cdr.cost for cdr in calls if cdr.status == RATED), Decimal(0))
        difference = after_total - before
        if difference:
            ledger_post(
                client=lock_client(service.client_id), kind=CreditLedgerEntry.Kind.ADJUSTMENT, amount=-difference,
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
                    f"{difference:+} {service.currency}",
            data={"import": cdr_import.pk, "changed": len(changed), "calls": len(calls), "difference": str(difference)},
        )
    cdr_import.refresh_from_db()
    return cdr_import


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
    rating = ServiceRating(matcher.product_of)
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
            cdr.cdr_import_id = cdr_import.pk  # the new batch charges it
            changed.append(cdr)
        Cdr.objects.bulk_update(changed, (*RERATED_FIELDS, "service", "cdr_import"), batch_size=1000)
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
