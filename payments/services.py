"""Writes of the payments app: sending a client to a gateway, recording what a gateway reports, webhooks, refunds
and gateway settings. Money is only ever recorded through billing's services (payment_record, refund_record): a
gateway has no second way to mark an invoice paid. Each function audits with the acting user."""
import logging
import uuid
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from datetime import datetime, time, timedelta

from django.conf import settings as django_settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connections, transaction
from django.db.models import Count, F, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone

from billing import emails
from billing.models import Invoice, Payment
from billing.services.payments import payment_record
from billing.services.transactions import refund_record, refundable
from payments.charge_record import batchable, record_paid
from payments.gateways.base import GatewayError, SignatureError
from payments.money import whole_minor_units
from payments.models import ChargeAttempt, GatewayEvent, GatewaySettings, PaymentMethod
from payments.ratelimit import limiter_for
from payments.registry import gateway_classes, get_gateway, settings_for
from portal.activity import Actor, log_activity
from portal.models import ActivityLog
from portal.money import currency_decimals
from portal.network import client_ip

logger = logging.getLogger(__name__)


def _payable(invoice):
    return invoice.status == Invoice.Status.UNPAID and invoice.balance > 0


def online_payment_refusal(invoice):
    """Why the invoice's balance cannot be paid at a gateway (None if it can). Gateways take whole minor units of
    the currency and billing keeps two decimals in every currency: an invoice in a currency with fewer (1,332.72
    JPY after tax) would have to be rounded, so it is refused, never charged rounded. Three-decimal currencies
    (KWD, BHD…) are always whole fils: 12.35 KWD is 12,350 fils, charged exactly."""
    if whole_minor_units(invoice.balance, invoice.currency):
        return None
    decimals = currency_decimals(invoice.currency)
    return (f"Invoice {invoice} cannot be paid online: {invoice.currency} amounts have "
            f"{'no decimals' if decimals == 0 else f'{decimals} decimals'}, and its balance of {invoice.balance} "
            f"{invoice.currency} would have to be rounded. Please pay it by bank transfer, or contact us to correct "
            f"the invoice.")


def _chargeable(invoice):
    if not _payable(invoice):
        raise ValidationError(f"Invoice {invoice} is {invoice.get_status_display().lower()}: there is nothing to pay.")
    refusal = online_payment_refusal(invoice)
    if refusal:
        raise ValidationError(refusal)


def _enabled_gateway(key):
    if key not in gateway_classes():
        raise ValidationError(f"There is no payment gateway {key!r}.")
    gateway = get_gateway(key)
    if not gateway.settings.enabled:
        raise ValidationError(f"{gateway.settings} is not available for payments.")
    return gateway


def checkout_start(*, invoice, gateway_key, actor, success_url, cancel_url, save_method=False):
    """Open a hosted payment at the gateway for what the invoice still owes; returns the URL to send the client
    to. `success_url` may contain {ATTEMPT} (replaced by the attempt's key) and the gateway's own placeholders."""
    gateway = _enabled_gateway(gateway_key)
    invoice = Invoice.objects.select_related("client").get(pk=invoice.pk)
    _chargeable(invoice)
    attempt = ChargeAttempt.objects.create(
        invoice=invoice, gateway=gateway.key, kind=ChargeAttempt.Kind.CHECKOUT, amount=invoice.balance,
        currency=invoice.currency, idempotency_key=f"{gateway.key}:invoice:{invoice.pk}:checkout:{uuid.uuid4().hex}",
        save_method=bool(save_method and gateway.supports_saved_methods),
    )
    known = PaymentMethod.objects.filter(client=invoice.client, gateway=gateway.key).order_by("-is_default").first()
    try:
        redirect = gateway.start_payment(
            invoice, amount=attempt.amount, attempt_key=attempt.idempotency_key,
            success_url=success_url.replace("{ATTEMPT}", attempt.idempotency_key), cancel_url=cancel_url,
            save_method=attempt.save_method, customer_id=known.customer_id if known else "",
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
        attempt.next_retry_at = None
        attempt.save(update_fields=["status", "payment", "reason", "received_amount", "received_currency",
                                    "next_retry_at", "updated_at"])
        if attempt.save_method:
            _method_save(gateway, attempt, report, actor)
    return GatewayEvent.Outcome.PAID if created else GatewayEvent.Outcome.ALREADY


def _method_save(gateway, attempt, report, actor):
    """Keep the card the client asked to save with this payment (the gateway's ids, brand, last four, expiry)."""
    try:
        saved = gateway.saved_method(report.transaction_id)
    except GatewayError as exc:
        logger.warning("Could not read the saved method of %s %s: %s", gateway.key, report.transaction_id, exc)
        return None
    if saved is None:
        return None
    client = attempt.invoice.client
    method, created = PaymentMethod.objects.get_or_create(
        gateway=gateway.key, method_id=saved.method_id,
        defaults={"client": client, "customer_id": saved.customer_id, "brand": saved.brand, "last4": saved.last4,
                  "exp_month": saved.exp_month, "exp_year": saved.exp_year, "is_default": True})
    if created:
        # The card the client just chose for automatic payments replaces the default (often one that was
        # declined: the decline e-mail's pay link is how clients come to save a new card).
        PaymentMethod.objects.filter(client=client, is_default=True).exclude(pk=method.pk).update(is_default=False)
        log_activity(actor=actor, action="payment.method_saved", target=client,
                     message=f"{method} saved at {gateway.settings} for automatic payments (the default card now)",
                     data={"method": method.pk, "gateway": gateway.key})
    return method


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
        attempt.received_transaction_id = report.transaction_id
        attempt.save(update_fields=["status", "reason", "received_amount", "received_currency",
                                    "received_transaction_id", "updated_at"])
        log_activity(actor=actor, action="payment.unapplied", target=invoice, message=message,
                     data={"attempt": attempt.pk, "amount": str(report.amount), "currency": report.currency,
                           "expected": str(expected), "transaction_id": report.transaction_id})
    return GatewayEvent.Outcome.MISMATCH


@transaction.atomic
def unapplied_apply(*, attempt, actor):
    """Staff apply money a gateway received that did not match the invoice: recorded as a payment of what was
    received (less than the balance leaves the invoice unpaid; more goes to credit). Money in another currency
    cannot be applied: refund it at the gateway."""
    attempt = ChargeAttempt.objects.select_for_update().select_related("invoice").get(pk=attempt.pk)
    if attempt.status != ChargeAttempt.Status.UNAPPLIED:
        raise ValidationError(f"This charge is {attempt.get_status_display().lower()}: there is nothing to apply.")
    invoice = attempt.invoice
    if attempt.received_currency != invoice.currency:
        raise ValidationError(f"{attempt.received_amount} {attempt.received_currency} cannot pay an invoice in "
                              f"{invoice.currency}: refund it at the gateway.")
    gateway = get_gateway(attempt.gateway)
    result = payment_record(invoice=invoice, amount=attempt.received_amount,
                            transaction_id=attempt.received_transaction_id, gateway=gateway.key, actor=actor,
                            fees=gateway.fees(attempt.received_transaction_id, invoice.currency) or 0,
                            note=f"Applied by staff: received {attempt.received_amount}, expected {attempt.amount}")
    attempt.status, attempt.payment = ChargeAttempt.Status.SUCCEEDED, result.payment
    attempt.save(update_fields=["status", "payment", "updated_at"])
    return result


def webhook_actor(gateway_key, request):
    return Actor(ActivityLog.ActorType.SYSTEM, f"webhook:{gateway_key}", ip_address=client_ip(request))


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
                     data={"gateway": gateway_key, "reason": str(exc), "ip": client_ip(request)})
        return 400, f"Refused: {exc}."
    except GatewayError as exc:  # the gateway verifies signatures itself (PayPal) and did not answer: retry later
        logger.warning("A %s webhook could not be verified: %s", gateway_key, exc)
        return 500, "The signature could not be verified now; send it again."
    try:
        with transaction.atomic():
            row = GatewayEvent.objects.create(gateway=gateway_key, event_id=event.id, type=event.type,
                                              payload=event.payload)
    except IntegrityError:
        row = GatewayEvent.objects.get(gateway=gateway_key, event_id=event.id)
    try:
        # The event's row is locked while it is processed: copies of it delivered at once wait here and then find
        # it processed, so it is processed once and its outcome is the first delivery's, never overwritten.
        with transaction.atomic():
            done = GatewayEvent.objects.select_for_update().values_list("outcome", flat=True).get(pk=row.pk)
            if done not in (GatewayEvent.Outcome.PENDING, GatewayEvent.Outcome.ERROR):
                logger.info("%s event %s received again: already processed (%s)", gateway_key, event.id, done)
                return 200, "Already processed."
            report = gateway.event_report(event)
            outcome = report_record(gateway=gateway, report=report, actor=actor) if report else \
                GatewayEvent.Outcome.IGNORED
            GatewayEvent.objects.filter(pk=row.pk).update(outcome=outcome, processed_at=timezone.now(), message="")
    except Exception as exc:  # the gateway retries on a 5xx; staff see the error on the event
        logger.exception("%s event %s could not be processed", gateway_key, event.id)
        GatewayEvent.objects.filter(pk=row.pk).update(outcome=GatewayEvent.Outcome.ERROR,
                                                      message=f"{type(exc).__name__}: {exc}"[:255])
        return 500, "Processing error; send it again."
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
    errors = gateway_classes()[gateway_key].check_settings(test_mode=test_mode, options=options, secrets=stored)
    if errors:
        raise ValidationError({f"option_{name}": message for name, message in errors.items()})
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


@transaction.atomic
def method_remove(*, method, actor):
    """The client removes a saved card: the gateway forgets it, the portal deletes its record, and the newest
    remaining card becomes the default. A temporary gateway error leaves everything as it was."""
    method = PaymentMethod.objects.select_for_update().get(pk=method.pk)
    get_gateway(method.gateway).detach(method)
    client, label, was_default = method.client, str(method), method.is_default
    ChargeAttempt.objects.filter(method=method).update(method=None)
    method.delete()
    if was_default:
        newest = PaymentMethod.objects.filter(client=client).order_by("-created_at", "-pk").first()
        if newest is not None:
            PaymentMethod.objects.filter(pk=newest.pk).update(is_default=True)
    log_activity(actor=actor, action="payment.method_removed", target=client, message=f"Saved card {label} removed")


# --- automatic charges of saved methods, and dunning ---------------------------------------------------------

# Days after the due date on which a declined automatic charge is tried again (the first try is on the due date).
DUNNING_DAYS = (1, 3, 5)
TEMPORARY_RETRY = timedelta(hours=1)


def default_method(client):
    """The client's default saved method at an enabled gateway that can charge it, or None."""
    enabled = [key for key, cls in gateway_classes().items() if cls.supports_saved_methods]
    enabled = GatewaySettings.objects.filter(enabled=True, gateway__in=enabled).values_list("gateway", flat=True)
    return PaymentMethod.objects.filter(client=client, gateway__in=list(enabled)).order_by("-is_default", "-pk").first()


def dunning_retry_at(invoice, failures):
    """When to try again after `failures` declined automatic charges (None: no more tries)."""
    if failures > len(DUNNING_DAYS):
        return None
    day = invoice.due_date + timedelta(days=DUNNING_DAYS[failures - 1])
    return timezone.make_aware(datetime.combine(day, time(hour=6)))


def charge_saved_method(*, invoice, actor, now=None):
    """Charge what the invoice owes to the client's default saved method, off-session. One ChargeAttempt per try;
    its idempotency key (gateway, invoice, try number) is sent to the gateway, so retrying the same try after a
    timeout charges once. A decline or a card needing authentication fails the try, schedules the next (dunning
    days after the due date) and e-mails the client a link to pay; a temporary error keeps the try pending, to be
    repeated with the same key. Returns the ChargeAttempt."""
    now = now or timezone.now()
    invoice = Invoice.objects.select_related("client").get(pk=invoice.pk)
    _chargeable(invoice)
    tries = ChargeAttempt.objects.filter(invoice=invoice, kind=ChargeAttempt.Kind.OFF_SESSION)
    attempt = tries.filter(status=ChargeAttempt.Status.PENDING).select_related("method").order_by("-pk").first()
    if attempt is None:
        method = default_method(invoice.client)
        if method is None:
            raise ValidationError(f"The client of invoice {invoice} has no saved payment method.")
        attempt = _new_attempt(invoice, method, tries.count() + 1, now)
    gateway = get_gateway(attempt.gateway)
    report, error = _gateway_charge(gateway, attempt, invoice)
    return _charge_outcome(gateway, attempt, invoice, report, error, actor=actor, now=now)


def _attempt_row(invoice, method, number, now):
    """The try number `number` of an automatic charge, unsaved; its unique idempotency key is also the claim: a
    concurrent run creating the same try fails with IntegrityError."""
    return ChargeAttempt(
        invoice=invoice, gateway=method.gateway, kind=ChargeAttempt.Kind.OFF_SESSION, method=method,
        idempotency_key=f"{method.gateway}:invoice:{invoice.pk}:auto:{number}", amount=invoice.balance,
        currency=invoice.currency, next_retry_at=now + TEMPORARY_RETRY)  # retried with its key if this run dies


def _new_attempt(invoice, method, number, now):
    attempt = _attempt_row(invoice, method, number, now)
    attempt.save(force_insert=True)
    return attempt


def gateway_call(gateway, function, *args, **kwargs):
    """One provider call (no database access) in its slot of the gateway's rate limit (payments/ratelimit.py):
    (result, None) or (None, GatewayError)."""
    limiter_for(gateway).acquire()
    try:
        return function(*args, **kwargs), None
    except GatewayError as exc:
        return None, exc


def in_call_thread(function, *args, **kwargs):
    """Run `function` on a pool thread, closing that thread's database connections after (if anything in the
    call opened one)."""
    try:
        return function(*args, **kwargs)
    finally:
        connections.close_all()


def _gateway_charge(gateway, attempt, invoice):
    return gateway_call(gateway, gateway.charge, invoice, attempt.method, attempt.idempotency_key,
                        amount=attempt.amount)


def _charge_outcome(gateway, attempt, invoice, report, exc, *, actor, now):
    """Record what the gateway answered to one try (see charge_saved_method). Returns the ChargeAttempt."""
    if exc is not None:
        if not exc.permanent:
            attempt.reason, attempt.next_retry_at = f"Temporary: {exc.message}"[:255], now + TEMPORARY_RETRY
            attempt.save(update_fields=["reason", "next_retry_at", "updated_at"])
            return attempt
        # (the gateway's payment_failed webhook may have marked this very try failed already)
        tries = ChargeAttempt.objects.filter(invoice=invoice, kind=ChargeAttempt.Kind.OFF_SESSION)
        failures = tries.filter(status=ChargeAttempt.Status.FAILED).exclude(pk=attempt.pk).count() + 1
        attempt.status, attempt.reason = ChargeAttempt.Status.FAILED, (exc.code or exc.message)[:255]
        attempt.next_retry_at = dunning_retry_at(invoice, failures)
        attempt.save(update_fields=["status", "reason", "next_retry_at", "updated_at"])
        log_activity(actor=actor, action="payment.charge_failed", target=invoice,
                     message=f"Automatic charge of {attempt.amount} {attempt.currency} to {attempt.method} for "
                             f"invoice {invoice} failed: {exc.code or exc.message}",
                     data={"attempt": attempt.pk, "reason": exc.code, "next_retry_at":
                           attempt.next_retry_at.isoformat() if attempt.next_retry_at else None})
        pay_link_email(invoice, attempt, exc.code)
        return attempt
    if not report.paid:  # e.g. still processing: the webhook records it; until then, ask again later
        attempt.reason, attempt.next_retry_at = report.reason[:255], now + TEMPORARY_RETRY
        attempt.save(update_fields=["reason", "next_retry_at", "updated_at"])
        return attempt
    report_record(gateway=gateway, report=report, actor=actor)
    attempt.refresh_from_db()
    return attempt


def pay_link_email(invoice, attempt, code):
    """E-mail the client the link to pay the invoice themselves after the automatic try `attempt` failed with
    `code` (once per try)."""
    if code == "authentication_required":
        why = "your bank asks you to confirm this payment yourself"
    else:
        why = "your card was declined"
    emails.queue_custom_email(
        client=invoice.client, invoice=invoice, name="Automatic Payment Failed",
        event_key=f"payment.charge_failed:{attempt.pk}",
        subject="Payment of invoice {{ invoice_num }} did not go through",
        message=("Dear {{ client_first_name }},\n\nWe tried to charge {{ invoice_total }} for invoice "
                 "{{ invoice_num }} to your saved card, but " + why + ". Please pay it here:\n\n"
                 "{{ invoice_link }}\n\nThank you."))


# Automatic charges a run keeps claimed ahead of the provider calls, per call thread.
CLAIM_AHEAD = 4
# Succeeded charges recorded together (payments/charge_record.py): at 90 calls a second a batch fills in about
# two seconds, and recording it takes well under the time the calls already queued need.
RECORD_BATCH = 200


def charge_threads(threads=None):
    """How many automatic charges are in flight at once (the calls hold no database connection)."""
    return max(1, threads or getattr(django_settings, "PAYMENT_CHARGE_THREADS", 32))


def due_for_charge(now):
    """The set-based selection of the periodic run: every unpaid invoice due by today with something owed whose
    client has a saved method at an enabled gateway, not yet tried or whose last try's retry time has come. Each
    row carries `method_pk` (the default method), `pending_pk` (the try to repeat with its key, if any) and
    `tries` (how many automatic tries it had). Two queries, however many invoices (gateways, then this)."""
    chargeable = [key for key, cls in gateway_classes().items() if cls.supports_saved_methods]
    enabled = list(GatewaySettings.objects.filter(enabled=True, gateway__in=chargeable)
                   .values_list("gateway", flat=True))
    methods = PaymentMethod.objects.filter(client=OuterRef("client_id"), gateway__in=enabled)
    tries = ChargeAttempt.objects.filter(invoice=OuterRef("pk"), kind=ChargeAttempt.Kind.OFF_SESSION)
    latest = tries.order_by("-pk")
    return (Invoice.objects.filter(status=Invoice.Status.UNPAID, due_date__lte=timezone.localdate(now))
            .annotate(owed=F("total") - F("amount_paid") - F("credit_applied"),
                      method_pk=Subquery(methods.order_by("-is_default", "-pk").values("pk")[:1]),
                      last_pk=Subquery(latest.values("pk")[:1]),
                      last_retry=Subquery(latest.values("next_retry_at")[:1]),
                      pending_pk=Subquery(latest.filter(status=ChargeAttempt.Status.PENDING).values("pk")[:1]),
                      tries=Coalesce(Subquery(tries.order_by().values("invoice").annotate(n=Count("pk"))
                                              .values("n")[:1]), 0))
            .filter(owed__gt=0, method_pk__isnull=False)
            .filter(Q(last_pk__isnull=True) | Q(last_retry__lte=now))
            .select_related("client").order_by("due_date", "pk"))


def _claim(rows, methods, pendings, now):
    """Claim a chunk of due invoices for this run: a new try (its unique key is the claim) or the pending try
    whose retry time has come (a conditional UPDATE moves it an hour ahead; one another run moved first is not
    ours). Returns [(invoice, attempt)] claimed. One transaction and a fixed number of queries per chunk."""
    with transaction.atomic():
        # what the invoices owe now (one query): one paid or paid in part since the selection is charged for
        # what is left, or not at all
        fresh = {pk: (total, paid, credit) for pk, total, paid, credit in Invoice.objects.filter(
            pk__in=[invoice.pk for invoice in rows], status=Invoice.Status.UNPAID,
        ).values_list("pk", "total", "amount_paid", "credit_applied")}
        owing = []
        for invoice in rows:
            if invoice.pk in fresh:
                invoice.total, invoice.amount_paid, invoice.credit_applied = fresh[invoice.pk]
                if invoice.balance > 0:
                    owing.append(invoice)
        ours = _take_pending([i for i in owing if i.pending_pk is not None], pendings, now)
        ours.update(_create_tries([i for i in owing if i.pending_pk is None], methods, now))
    claimed = []
    for invoice in owing:
        if invoice.pk in ours:
            attempt = ours[invoice.pk]
            attempt.invoice = invoice
            claimed.append((invoice, attempt))
    return claimed


def _take_pending(invoices, pendings, now):
    """The pending tries of `invoices` whose retry time has come, taken by one conditional UPDATE that moves them
    an hour ahead and marks them with this claim; a try another run moved first does not carry the mark. Returns
    {invoice pk: attempt}; two queries however many."""
    if not invoices:
        return {}
    ids, mark = [invoice.pending_pk for invoice in invoices], f"Being retried (claim {uuid.uuid4().hex[:16]})"
    ChargeAttempt.objects.filter(pk__in=ids, status=ChargeAttempt.Status.PENDING, next_retry_at__lte=now).update(
        next_retry_at=now + TEMPORARY_RETRY, reason=mark, updated_at=timezone.now())
    taken = set(ChargeAttempt.objects.filter(pk__in=ids, reason=mark).values_list("pk", flat=True))
    return {invoice.pk: pendings[invoice.pending_pk] for invoice in invoices if invoice.pending_pk in taken}


def _create_tries(invoices, methods, now):
    """New tries of `invoices` in one bulk INSERT (its unique keys are the claim). If another run created one of
    them meanwhile the INSERT fails as a whole, and each is created on its own: those that fail are that run's.
    Returns {invoice pk: attempt}."""
    rows = [_attempt_row(invoice, methods[invoice.method_pk], invoice.tries + 1, now) for invoice in invoices]
    if not rows:
        return {}
    try:
        with transaction.atomic():
            ChargeAttempt.objects.bulk_create(rows)
    except IntegrityError:
        rows = []
        for invoice in invoices:
            try:
                with transaction.atomic():
                    rows.append(_new_attempt(invoice, methods[invoice.method_pk], invoice.tries + 1, now))
            except IntegrityError:
                continue  # a concurrent run created this try: it charges it
    if any(row.pk is None for row in rows):  # databases whose bulk INSERT returns no ids: one query for them
        ids = dict(ChargeAttempt.objects.filter(idempotency_key__in=[row.idempotency_key for row in rows])
                   .values_list("idempotency_key", "pk"))
        for row in rows:
            row.pk = ids[row.idempotency_key]
    return {row.invoice_id: row for row in rows}


def _record_one(gateway, attempt, invoice, report, error, *, actor, now):
    """An answer recorded on its own (a decline, a temporary error, a mismatch): the outcome counted."""
    try:
        return _charge_outcome(gateway, attempt, invoice, report, error, actor=actor, now=now).status
    except Exception:  # noqa: BLE001 - one invoice's failure never stops the run
        logger.exception("Recording the automatic charge of invoice %s failed", invoice.pk)
        return "error"


def _record_paid(gateway, paid, *, actor, now):
    """Succeeded charges of one gateway, recorded in one batch; what billing refuses (or a batch that fails) is
    recorded one by one, as a single answer would be. Returns their outcomes."""
    try:
        recorded, refused = record_paid(gateway, paid, actor=actor)
    except Exception:  # noqa: BLE001 - the batch is rolled back: each is tried alone so one row cannot stop all
        logger.exception("Recording %s automatic charges together failed; recording them one by one", len(paid))
        recorded, refused = [], [(*item, "") for item in paid]
    outcomes = [attempt.status for attempt in recorded]
    for invoice, attempt, report, why in refused:
        if why:
            logger.warning("Billing refused the automatic charge of invoice %s in a batch: %s", invoice.pk, why)
        outcomes.append(_record_one(gateway, attempt, invoice, report, None, actor=actor, now=now))
    return outcomes


def charge_due_invoices(*, now=None, actor=None, threads=None):
    """The periodic run: every invoice of `due_for_charge` charged once, the gateway calls running concurrently
    on `threads` threads (PAYMENT_CHARGE_THREADS, 32) at the gateway's rate limit (PAYMENT_RATE_LIMIT) while
    this thread claims the next invoices and records the answers (the database work stays on one connection:
    SQLite has one writer). Each invoice is claimed before its call (see _claim), so two runs at once never
    charge it twice, and the idempotency key of the try makes a repeated call one charge. Succeeded charges are
    recorded RECORD_BATCH at a time through billing's batch recorder; declines and other answers one by one.
    Returns {outcome: count}; "error" counts invoices whose answer could not be recorded (logged; their try
    stays pending and is repeated with its key, or found by reconciliation)."""
    now = now or timezone.now()
    actor = actor or Actor.system("payments.charge_due_invoices")
    threads = charge_threads(threads)
    rows, counts = [], {}
    for row in due_for_charge(now):
        if whole_minor_units(row.owed, row.currency):
            rows.append(row)
        else:  # see online_payment_refusal: never charged rounded; counted in the job's summary
            logger.warning("Invoice %s is not charged automatically: %s %s is not a whole number of minor units",
                           row.pk, row.owed, row.currency)
            counts["not chargeable"] = counts.get("not chargeable", 0) + 1
    methods = PaymentMethod.objects.in_bulk({row.method_pk for row in rows if row.pending_pk is None})
    pendings = ChargeAttempt.objects.select_related("method").in_bulk(
        {row.pending_pk for row in rows if row.pending_pk is not None})
    gateways, running, paid = {}, {}, []

    def count(outcomes):
        for outcome in map(str, outcomes):  # the values, not the enum members: the job's summary shows them
            counts[outcome] = counts.get(outcome, 0) + 1

    def flush():
        for key in sorted({attempt.gateway for _, attempt, _ in paid}):
            count(_record_paid(gateways[key], [item for item in paid if item[1].gateway == key], actor=actor,
                               now=now))
        paid.clear()

    def collect(done):
        for future in done:
            invoice, attempt = running.pop(future)
            gateway = gateways[attempt.gateway]
            try:
                report, error = future.result()
            except Exception:  # noqa: BLE001 - a failure of the call itself: the try stays pending, repeated later
                logger.exception("The automatic charge of invoice %s failed in its call", invoice.pk)
                count(["error"])
                continue
            if error is None and batchable(report, attempt, invoice):
                paid.append((invoice, attempt, report))
            else:
                count([_record_one(gateway, attempt, invoice, report, error, actor=actor, now=now)])
        if len(paid) >= RECORD_BATCH:
            flush()

    chunk = threads * CLAIM_AHEAD
    with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="payments-charge") as pool:
        for start in range(0, len(rows), chunk):
            for invoice, attempt in _claim(rows[start:start + chunk], methods, pendings, now):
                gateway = gateways.get(attempt.gateway) or gateways.setdefault(attempt.gateway,
                                                                               get_gateway(attempt.gateway))
                running[pool.submit(in_call_thread, _gateway_charge, gateway, attempt, invoice)] = (invoice, attempt)
            while len(running) > chunk:  # record answers while the calls go on; claim more as they drain
                done, _ = wait(list(running), return_when=FIRST_COMPLETED)
                collect(done)
        while running:
            done, _ = wait(list(running), return_when=FIRST_COMPLETED)
            collect(done)
    flush()
    return counts
