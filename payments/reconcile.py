"""Reconciliation: charges the portal started but never heard back about (the worker died between the gateway's
answer and the record, the webhook was lost) are asked about at the gateway and recorded through the same code
path as the webhook and the return page (services.report_record → billing's payment_record, one Payment per
gateway transaction id), so a charge is recorded once whichever of them gets there first."""
import logging
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from payments import services
from payments.gateways.base import GatewayError
from payments.models import ChargeAttempt, GatewaySettings
from payments.registry import gateway_classes, get_gateway
from payments.services import report_record
from portal.activity import Actor, log_activity

logger = logging.getLogger(__name__)

# A pending attempt younger than this is left to the webhook and the return page.
RECONCILE_AFTER = timedelta(minutes=15)
# How many attempts one run asks about; the rest wait for the next run.
BATCH = 200


def pending_attempts(*, now, older_than=RECONCILE_AFTER):
    """Pending attempts older than `older_than` at the enabled gateways, the longest not asked about first (an
    attempt left pending is touched, so a run's batch moves on past open sessions to the others)."""
    enabled = GatewaySettings.objects.filter(enabled=True, gateway__in=list(gateway_classes())).values_list(
        "gateway", flat=True)
    return ChargeAttempt.objects.filter(status=ChargeAttempt.Status.PENDING, gateway__in=list(enabled),
                                        created_at__lte=now - older_than).order_by("updated_at", "pk")


def reconcile_charges(*, now=None, older_than=RECONCILE_AFTER, actor=None, limit=BATCH, threads=None):
    """The periodic run: ask the gateway about each old pending attempt and record what it says — paid → the
    payment (once), failed → the attempt fails with the gateway's reason, expired (or a checkout that never reached
    the gateway) → the attempt expires. Open sessions (the client may still pay) and off-session charges the
    gateway never saw (the dunning job retries them with the same key) are left alone. The lookups run at once on
    a thread pool (as the automatic charges: PAYMENT_CHARGE_THREADS, within the gateway's rate limit); the answers
    are recorded on this thread, in order. Returns {outcome: count}."""
    now = now or timezone.now()
    actor = actor or Actor.system("payments.reconcile_charges")
    attempts = list(pending_attempts(now=now, older_than=older_than)[:limit])
    if not attempts:
        return {}
    gateways = {key: get_gateway(key) for key in sorted({attempt.gateway for attempt in attempts})}
    counts = {}
    with ThreadPoolExecutor(max_workers=min(services.charge_threads(threads), len(attempts)),
                            thread_name_prefix="payments-reconcile") as pool:
        lookups = [pool.submit(services.in_call_thread, services.gateway_call, gateways[attempt.gateway],
                               gateways[attempt.gateway].lookup, attempt) for attempt in attempts]
        for attempt, lookup in zip(attempts, lookups, strict=True):
            gateway = gateways[attempt.gateway]
            found, error = lookup.result()
            try:
                if error is not None:
                    raise error
                outcome = reconcile_attempt(attempt=attempt, gateway=gateway, actor=actor, found=found)
            except GatewayError as exc:
                logger.warning("Reconciling %s with %s failed: %s", attempt.idempotency_key, attempt.gateway, exc)
                outcome = "error"
            if outcome in ("left", "error"):
                ChargeAttempt.objects.filter(pk=attempt.pk, status=ChargeAttempt.Status.PENDING).update(
                    updated_at=timezone.now())
            counts[outcome] = counts.get(outcome, 0) + 1
    return counts


def reconcile_attempt(*, attempt, gateway, actor, found=None):
    """One attempt: returns what was done (recorded, already, failed, expired, mismatch, left). `found` is what
    the gateway's lookup answered, if it was asked already."""
    found = found if found is not None else gateway.lookup(attempt)
    if found.state == "paid":
        outcome = report_record(gateway=gateway, report=found.report, actor=actor)
        done = {"paid": "recorded", "already": "already", "mismatch": "mismatch"}.get(outcome, "left")
        if done != "left":
            _audit(attempt, actor, done, f"{gateway.settings} reports the payment {found.report.transaction_id} of "
                                         f"invoice {attempt.invoice}: {done}", found.report.transaction_id)
        return done
    if found.state == "failed":
        report_record(gateway=gateway, report=found.report, actor=actor)
        if attempt.kind == ChargeAttempt.Kind.OFF_SESSION:
            _dunning_after_failure(attempt)
        return "failed"
    if found.state == "expired" or (found.state == "missing" and attempt.kind == ChargeAttempt.Kind.CHECKOUT):
        # A checkout without a session at the gateway never reached the client: nothing can be paid on it.
        return "expired" if _expire(attempt, gateway, actor, found.state) else "left"
    return "left"


def _dunning_after_failure(attempt):
    """An automatic charge declined while nobody listened: what charge_saved_method does on a decline — the next
    try on the next dunning day and the client's pay link — so the dunning job neither retries it at once nor
    skips the e-mail."""
    attempt = ChargeAttempt.objects.select_related("invoice__client").get(pk=attempt.pk)
    if attempt.status != ChargeAttempt.Status.FAILED:
        return
    failures = ChargeAttempt.objects.filter(invoice=attempt.invoice, kind=ChargeAttempt.Kind.OFF_SESSION,
                                            status=ChargeAttempt.Status.FAILED).count()
    attempt.next_retry_at = services.dunning_retry_at(attempt.invoice, failures)
    attempt.save(update_fields=["next_retry_at", "updated_at"])
    services.pay_link_email(attempt.invoice, attempt, attempt.reason)


@transaction.atomic
def _expire(attempt, gateway, actor, state):
    attempt = ChargeAttempt.objects.select_for_update().select_related("invoice").get(pk=attempt.pk)
    if attempt.status != ChargeAttempt.Status.PENDING:  # the webhook got here meanwhile
        return False
    why = "the session expired" if state == "expired" else "the gateway has no such session"
    attempt.status, attempt.reason = ChargeAttempt.Status.EXPIRED, f"Reconciliation: {why}"
    attempt.save(update_fields=["status", "reason", "updated_at"])
    _audit(attempt, actor, "expired", f"{gateway.settings} payment of invoice {attempt.invoice} not completed: {why}")
    return True


def _audit(attempt, actor, outcome, message, transaction_id=""):
    log_activity(actor=actor, action="payment.reconciled", target=attempt.invoice, message=message,
                 data={"attempt": attempt.pk, "gateway": attempt.gateway, "outcome": outcome,
                       "transaction_id": transaction_id})
