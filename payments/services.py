"""Writes of the payments app: sending a client to a gateway, recording what a gateway reports, webhooks, refunds
and gateway settings. Money is only ever recorded through billing's services (payment_record, refund_record): a
gateway has no second way to mark an invoice paid. Each function audits with the acting user."""
import logging
import uuid

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from billing.models import Invoice, Payment
from billing.services.payments import payment_record
from billing.services.transactions import refundable, refund_record
from payments.gateways.base import GatewayError, SignatureError
from payments.models import ChargeAttempt, GatewayEvent, GatewaySettings
from payments.registry import gateway_classes, get_gateway, settings_for
from portal.activity import Actor, log_activity
from portal.models import ActivityLog

logger = logging.getLogger(__name__)


def _payable(invoice):
    return invoice.status == Invoice.Status.UNPAID and invoice.balance > 0


def _enabled_gateway(key):
    if key not in gateway_classes():
        raise ValidationError(f"There is no payment gateway {key!r}.")
    gateway = get_gateway(key)
    if not gateway.settings.enabled:
        raise ValidationError(f"{gateway.settings} is not available for payments.")
    return gateway


def checkout_start(*, invoice, gateway_key, actor, success_url, cancel_url):
    """Open a hosted payment at the gateway for what the invoice still owes; returns the URL to send the client
    to. `success_url` may contain {ATTEMPT} (replaced by the attempt's key) and the gateway's own placeholders."""
    gateway = _enabled_gateway(gateway_key)
    invoice = Invoice.objects.select_related("client").get(pk=invoice.pk)
    if not _payable(invoice):
        raise ValidationError(f"Invoice {invoice} is {invoice.get_status_display().lower()}: there is nothing to pay.")
    attempt = ChargeAttempt.objects.create(
        invoice=invoice, gateway=gateway.key, kind=ChargeAttempt.Kind.CHECKOUT, amount=invoice.balance,
        currency=invoice.currency, idempotency_key=f"{gateway.key}:invoice:{invoice.pk}:checkout:{uuid.uuid4().hex}",
    )
    try:
        redirect = gateway.start_payment(
            invoice, amount=attempt.amount, attempt_key=attempt.idempotency_key,
            success_url=success_url.replace("{ATTEMPT}", attempt.idempotency_key), cancel_url=cancel_url,
        )
    except (GatewayError, ValueError) as exc:
        attempt.status, attempt.reason = ChargeAttempt.Status.FAILED, str(exc)[:255]
        attempt.save(update_fields=["status", "reason", "updated_at"])
        log_activity(actor=actor, action="payment.checkout_failed", target=invoice,
                     message=f"{gateway.settings} could not start a payment of invoice {invoice}: {exc}",
                     data={"attempt": attempt.pk, "gateway": gateway.key})
        raise
    attempt.reference = redirect.reference
    attempt.save(update_fields=["reference", "updated_at"])
    log_activity(actor=actor, action="payment.checkout_started", target=invoice,
                 message=f"Payment of {attempt.amount} {attempt.currency} started at {gateway.settings} "
                         f"for invoice {invoice}",
                 data={"attempt": attempt.pk, "gateway": gateway.key, "reference": redirect.reference})
    return redirect.url


def checkout_confirm(*, client, gateway_key, reference, actor):
    """The client is back from the hosted page: ask the gateway (never the browser) whether it was paid, and
    record it if so. Returns (attempt, outcome)."""
    attempt = ChargeAttempt.objects.select_related("invoice").filter(
        gateway=gateway_key, reference=reference, invoice__client=client).first()
    if attempt is None:
        raise ValidationError("This payment is not one of yours.")
    gateway = get_gateway(gateway_key)
    report = gateway.confirm(reference)
    outcome = report_record(gateway=gateway, report=report, actor=actor)
    attempt.refresh_from_db()
    return attempt, outcome


def _find_attempt(gateway, report):
    attempts = ChargeAttempt.objects.select_for_update().select_related("invoice")
    if report.attempt_key:
        attempt = attempts.filter(gateway=gateway.key, idempotency_key=report.attempt_key).first()
        if attempt is not None:
            return attempt
    for reference in {report.reference, report.transaction_id} - {""}:
        attempt = attempts.filter(gateway=gateway.key, reference=reference).first()
        if attempt is not None:
            return attempt
    return None


@transaction.atomic
def report_record(*, gateway, report, actor):
    """What a gateway reports about money for an invoice (a confirmation or a webhook), recorded once whichever
    arrives first: a paid report whose amount and currency match the attempt is a payment (payment_record,
    unique per gateway transaction id); a mismatch is kept as an unapplied payment for staff, never as paid.
    Returns a GatewayEvent.Outcome."""
    attempt = _find_attempt(gateway, report)
    invoice = attempt.invoice if attempt is not None else (
        Invoice.objects.filter(pk=report.invoice_id).first() if report.invoice_id else None)
    if invoice is None:
        return GatewayEvent.Outcome.IGNORED
    if not report.paid:
        if attempt is not None and attempt.status == ChargeAttempt.Status.PENDING and report.reason:
            attempt.status, attempt.reason = ChargeAttempt.Status.FAILED, report.reason[:255]
            attempt.save(update_fields=["status", "reason", "updated_at"])
            log_activity(actor=actor, action="payment.charge_failed", target=invoice,
                         message=f"{gateway.settings} payment of invoice {invoice} failed: {report.reason}",
                         data={"attempt": attempt.pk, "reason": report.reason})
            return GatewayEvent.Outcome.FAILED_CHARGE
        return GatewayEvent.Outcome.IGNORED
    existing = Payment.objects.filter(gateway=gateway.key, transaction_id=report.transaction_id).first()
    expected = attempt.amount if attempt is not None else invoice.balance
    if existing is not None and existing.invoice_id == invoice.pk:
        payment, created = existing, False  # the other of confirmation and webhook got here first
    elif report.currency != invoice.currency or report.amount != expected:
        return _unapplied(gateway, report, attempt, invoice, expected, actor)
    else:
        fees = report.fees if report.fees is not None else gateway.fees(report.transaction_id, report.currency)
        result = payment_record(invoice=invoice, amount=report.amount, transaction_id=report.transaction_id,
                                gateway=gateway.key, actor=actor, fees=fees or 0,
                                note=f"{gateway.settings} {report.reference}")
        payment, created = result.payment, result.created
    if attempt is not None and attempt.status != ChargeAttempt.Status.SUCCEEDED:
        attempt.status, attempt.payment, attempt.reason = ChargeAttempt.Status.SUCCEEDED, payment, ""
        attempt.received_amount, attempt.received_currency = report.amount, report.currency
        attempt.save(update_fields=["status", "payment", "reason", "received_amount", "received_currency", "updated_at"])
    return GatewayEvent.Outcome.PAID if created else GatewayEvent.Outcome.ALREADY


def _unapplied(gateway, report, attempt, invoice, expected, actor):
    message = (f"{gateway.settings} reports {report.amount} {report.currency} received for invoice {invoice}, which "
               f"expected {expected} {invoice.currency}: not applied, left for staff ({report.transaction_id})")
    if attempt is None:
        attempt = ChargeAttempt.objects.create(
            invoice=invoice, gateway=gateway.key, amount=expected, currency=invoice.currency,
            idempotency_key=f"{gateway.key}:unapplied:{report.transaction_id or uuid.uuid4().hex}",
            reference=report.reference)
    if attempt.status != ChargeAttempt.Status.UNAPPLIED:
        attempt.status, attempt.reason = ChargeAttempt.Status.UNAPPLIED, message[:255]
        attempt.received_amount, attempt.received_currency = report.amount, report.currency
        attempt.save(update_fields=["status", "reason", "received_amount", "received_currency", "updated_at"])
        log_activity(actor=actor, action="payment.unapplied", target=invoice, message=message,
                     data={"attempt": attempt.pk, "amount": str(report.amount), "currency": report.currency,
                           "expected": str(expected), "transaction_id": report.transaction_id})
    return GatewayEvent.Outcome.MISMATCH


def webhook_actor(gateway_key, request):
    return Actor(ActivityLog.ActorType.SYSTEM, f"webhook:{gateway_key}", ip_address=request.META.get("REMOTE_ADDR"))


def webhook_receive(*, gateway_key, request):
    """A gateway's webhook: (HTTP status, text). Unsigned, tampered, stale → 400, nothing recorded, audited. Each
    event id is processed once (a repeat answers 200: the gateway stops sending it); unknown or unrelated events
    answer 200 and are logged; an error while processing answers 500 so the gateway sends the event again."""
    if gateway_key not in gateway_classes():
        return 404, "Unknown gateway."
    actor = webhook_actor(gateway_key, request)
    gateway = get_gateway(gateway_key)
    try:
        event = gateway.parse_event(request)
    except SignatureError as exc:
        log_activity(actor=actor, action="payment.webhook_refused",
                     message=f"A {gateway_key} webhook was refused: {exc}",
                     data={"gateway": gateway_key, "reason": str(exc), "ip": request.META.get("REMOTE_ADDR")})
        return 400, f"Refused: {exc}."
    try:
        with transaction.atomic():
            row = GatewayEvent.objects.create(gateway=gateway_key, event_id=event.id, type=event.type,
                                              payload=event.payload)
    except IntegrityError:
        row = GatewayEvent.objects.get(gateway=gateway_key, event_id=event.id)
        if row.outcome not in (GatewayEvent.Outcome.PENDING, GatewayEvent.Outcome.ERROR):
            logger.info("%s event %s received again: already processed (%s)", gateway_key, event.id, row.outcome)
            return 200, "Already processed."
    try:
        outcome = report_record(gateway=gateway, report=event.report, actor=actor) if event.report else \
            GatewayEvent.Outcome.IGNORED
    except Exception as exc:  # the gateway retries on a 5xx; staff see the error on the event
        logger.exception("%s event %s could not be processed", gateway_key, event.id)
        GatewayEvent.objects.filter(pk=row.pk).update(outcome=GatewayEvent.Outcome.ERROR,
                                                      message=f"{type(exc).__name__}: {exc}"[:255])
        return 500, "Processing error; send it again."
    GatewayEvent.objects.filter(pk=row.pk).update(outcome=outcome, processed_at=timezone.now(), message="")
    if outcome == GatewayEvent.Outcome.IGNORED:
        logger.info("%s event %s (%s) is not about a portal payment", gateway_key, event.id, event.type)
    return 200, GatewayEvent.Outcome(outcome).label


def refund_through_gateway(*, payment, amount, actor):
    """Return money of a gateway payment through the gateway's API, then record it with refund_record. Checked
    first so that the gateway never refunds what the books cannot."""
    payment = Payment.objects.select_related("invoice").get(pk=payment.pk)
    if payment.gateway not in gateway_classes() or payment.amount <= 0 or payment.invoice is None:
        raise ValidationError("Only a payment received through an online gateway can be refunded through it.")
    gateway = get_gateway(payment.gateway)
    if not gateway.supports_refunds:
        raise ValidationError(f"{gateway.label} cannot refund through its API: refund by hand and record it.")
    invoice = payment.invoice
    if invoice.status != Invoice.Status.PAID:
        raise ValidationError(f"Invoice {invoice} is {invoice.get_status_display().lower()}: only a paid invoice's "
                              "payments can be refunded.")
    left = min(refundable(invoice), payment.amount - sum(r.amount_out for r in payment.refunds.all()))
    if amount <= 0 or amount > left:
        raise ValidationError({"amount": f"Refund between 0.01 and {left} {payment.currency}."})
    key = f"{gateway.key}:refund:{payment.pk}:{payment.refunds.count() + 1}:{amount}"
    try:
        result = gateway.refund(payment, amount, idempotency_key=key)
    except GatewayError as exc:
        log_activity(actor=actor, action="payment.refund_failed", target=invoice,
                     message=f"{gateway.label} refused the refund of {amount} {payment.currency}: {exc.message}",
                     data={"payment": payment.pk, "code": exc.code, "permanent": exc.permanent})
        raise
    return refund_record(invoice=invoice, amount=result.amount, transaction_id=result.transaction_id,
                         gateway=gateway.key, actor=actor, note=f"Refund of {payment.transaction_id} ({result.status})")


@transaction.atomic
def gateway_settings_update(*, gateway_key, actor, enabled, display_name, test_mode, options, secrets):
    """Save a gateway's settings. A secret left empty keeps the stored one; the audit names what changed,
    never a secret's value."""
    row = GatewaySettings.objects.select_for_update().get(pk=settings_for(gateway_key).pk)
    stored = row.secret_values()
    changed_secrets = sorted(name for name, value in secrets.items() if value and value != stored.get(name))
    stored.update({name: value for name, value in secrets.items() if value})
    before = {"enabled": row.enabled, "display_name": row.display_name, "test_mode": row.test_mode,
              "options": row.options}
    row.enabled, row.display_name, row.test_mode, row.options = enabled, display_name, test_mode, options
    row.set_secret_values(stored)
    row.save()
    after = {"enabled": enabled, "display_name": display_name, "test_mode": test_mode, "options": options}
    changes = {k: [before[k], after[k]] for k in after if before[k] != after[k]}
    log_activity(actor=actor, action="payment.gateway_settings", target=row,
                 message=f"Settings of {gateway_key} saved" + (f"; new {', '.join(changed_secrets)}" if changed_secrets
                                                               else ""),
                 data={"changes": changes, "secrets_changed": changed_secrets})
    return row
