"""Stripe, through the official `stripe` library: hosted Checkout for paying an invoice (card data never reaches
the portal), refunds, signed webhooks. The library's API base comes from the gateway's settings or
settings.STRIPE_API_BASE, so tests and the demo talk to the simulator next to this file (simulator.py)."""
import json
import time

import stripe
from django.conf import settings

from payments.gateways.base import (
    Event,
    Gateway,
    GatewayError,
    Lookup,
    PaymentReport,
    Redirect,
    RefundResult,
    SavedMethod,
    SignatureError,
    api_base_error,
)
from payments.money import from_minor, to_minor

# The settings staff fill in (payments/admin.py renders them): name → (label, secret?, help).
OPTION_SCHEMA = {
    "secret_key": ("Secret key", True, "sk_live_… (or sk_test_… in test mode), from Stripe's Developers → API keys."),
    "webhook_secret": ("Webhook signing secret", True, "whsec_…, shown when you add the webhook endpoint in Stripe."),
    "api_base": ("API base URL", False, "Leave empty for Stripe itself; the simulator's URL in the demo."),
}

TEMPORARY = (stripe.APIConnectionError, stripe.RateLimitError, stripe.APIError)


def _minor(obj, key):
    value = obj.get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


class StripeGateway(Gateway):
    key = "stripe"
    label = "Card (Stripe)"
    supports_hosted_payment = True
    supports_saved_methods = True
    supports_refunds = True
    option_schema = OPTION_SCHEMA

    @classmethod
    def check_settings(cls, *, test_mode, options, secrets):
        errors = {}
        key, webhook = secrets.get("secret_key", ""), secrets.get("webhook_secret", "")
        if key and not key.startswith(("sk_", "rk_")):
            errors["secret_key"] = "A Stripe secret key starts with sk_ (or rk_ for a restricted key)."
        elif key and test_mode != ("_test_" in key):
            errors["secret_key"] = ("Test mode needs a test key (sk_test_…)." if test_mode else
                                    "This is a test key (sk_test_…): untick Test mode only with a live key.")
        if webhook and not webhook.startswith("whsec_"):
            errors["webhook_secret"] = "A Stripe webhook signing secret starts with whsec_."
        if api_base_error(options):
            errors["api_base"] = api_base_error(options)
        return errors

    # --- the API client --------------------------------------------------------------------------------------

    def client(self):
        """One StripeClient per gateway object (its settings do not change): the library's RequestsClient keeps
        a session per thread, so the calls of a thread reuse their connection (the automatic-charge run makes
        thousands from a few threads)."""
        key = self.secrets.get("secret_key", "")
        if not key:
            raise GatewayError("Stripe has no secret key: set it in the staff area (Payments → Gateway settings).",
                               permanent=True)
        if getattr(self, "_client", None) is None:
            base = (self.options.get("api_base") or settings.STRIPE_API_BASE).rstrip("/")
            self._client = stripe.StripeClient(key, base_addresses={"api": base}, max_network_retries=2,
                                               http_client=stripe.RequestsClient(timeout=(5, 30)))
        return self._client

    def _call(self, function, *args, **kwargs):
        try:
            return function(*args, **kwargs)
        except stripe.CardError as exc:
            error = exc.error
            code = exc.code if exc.code == "authentication_required" else (
                getattr(error, "decline_code", None) or exc.code or "card_declined")
            raise GatewayError(exc.user_message or str(exc), permanent=True, code=code) from exc
        except TEMPORARY as exc:
            raise GatewayError(f"Stripe is unreachable or failed: {exc.user_message or exc}", code="temporary") from exc
        except stripe.StripeError as exc:
            raise GatewayError(f"Stripe refused: {exc.user_message or exc}", permanent=True, code=exc.code or "") from exc

    # --- paying an invoice -----------------------------------------------------------------------------------

    def start_payment(self, invoice, *, amount, attempt_key, success_url, cancel_url, save_method=False,
                      customer_id=""):
        metadata = {"invoice_id": str(invoice.pk), "invoice_number": str(invoice), "attempt": attempt_key}
        params = {
            "mode": "payment",
            "line_items": [{"quantity": 1, "price_data": {
                "currency": invoice.currency.lower(), "unit_amount": to_minor(amount, invoice.currency),
                "product_data": {"name": f"Invoice {invoice}"}}}],
            "success_url": success_url,
            "cancel_url": cancel_url,
            "client_reference_id": str(invoice.pk),
            "metadata": metadata,
            "payment_intent_data": {"metadata": metadata},
        }
        if save_method:
            params["payment_intent_data"]["setup_future_usage"] = "off_session"
        if customer_id:
            params["customer"] = customer_id
        elif invoice.client.email:
            params["customer_email"] = invoice.client.email
        if save_method and not customer_id:
            params["customer_creation"] = "always"
        session = self._call(self.client().v1.checkout.sessions.create, params, {"idempotency_key": attempt_key})
        return Redirect(url=session.url, reference=session.id)

    def confirm(self, reference):
        session = self._call(self.client().v1.checkout.sessions.retrieve, reference)
        return self._session_report(session.to_dict(), with_fees=True)

    def lookup(self, attempt):
        """Reconciliation: the Checkout Session by its id, or the PaymentIntent by its id or (an off-session charge
        whose answer was lost) by the idempotency key the portal put in its metadata (Stripe's search API)."""
        try:
            if attempt.kind == "checkout":
                if not attempt.reference:
                    return Lookup("missing")
                session = self._call(self.client().v1.checkout.sessions.retrieve, attempt.reference).to_dict()
                report = self._session_report(session, with_fees=True)
                if report.paid:
                    return Lookup("paid", report)
                return Lookup("expired" if session.get("status") == "expired" else "open", report)
            if attempt.reference:
                intent = self._call(self.client().v1.payment_intents.retrieve, attempt.reference).to_dict()
            else:
                key = attempt.idempotency_key.replace("\\", "\\\\").replace("'", "\\'")
                found = self._call(self.client().v1.payment_intents.search,
                                   {"query": f"metadata['attempt']:'{key}'", "limit": 1}).to_dict()
                if not found.get("data"):
                    return Lookup("missing")
                intent = found["data"][0]
        except GatewayError as exc:
            if exc.code == "resource_missing":
                return Lookup("missing")
            raise
        report = self._intent_report(intent, with_fees=True)
        if report.paid:
            return Lookup("paid", report)
        if intent.get("status") in ("requires_payment_method", "requires_action", "canceled") and report.reason:
            return Lookup("failed", report)
        return Lookup("open", report)

    def _session_report(self, session, *, with_fees):
        metadata = session.get("metadata") or {}
        currency = (session.get("currency") or "").upper()
        intent = session.get("payment_intent") or ""
        intent = intent.get("id", "") if isinstance(intent, dict) else intent
        paid = session.get("payment_status") == "paid" and bool(intent)
        amount = _minor(session, "amount_total")
        return PaymentReport(
            reference=session.get("id", ""), transaction_id=intent, paid=paid, currency=currency,
            amount=from_minor(amount, currency) if amount is not None and currency else None,
            fees=self.fees(intent, currency) if paid and with_fees else None,
            invoice_id=_int(metadata.get("invoice_id") or session.get("client_reference_id")),
            attempt_key=metadata.get("attempt", ""),
            reason="" if paid else f"Checkout session {session.get('status', 'open')}, payment {session.get('payment_status')}",
        )

    def _intent_report(self, intent, *, with_fees):
        metadata = intent.get("metadata") or {}
        currency = (intent.get("currency") or "").upper()
        paid = intent.get("status") == "succeeded"
        amount = _minor(intent, "amount_received" if paid else "amount")
        error = intent.get("last_payment_error") or {}
        return PaymentReport(
            reference=intent.get("id", ""), transaction_id=intent.get("id", ""), paid=paid, currency=currency,
            amount=from_minor(amount, currency) if amount is not None and currency else None,
            fees=self._intent_fee(intent, currency) if paid and with_fees else None,
            invoice_id=_int(metadata.get("invoice_id")), attempt_key=metadata.get("attempt", ""),
            reason=error.get("decline_code") or error.get("code") or "" if not paid else "",
        )

    def _intent_fee(self, intent, currency):
        """The fee from an intent whose balance transaction came expanded; else asked for (one more call)."""
        charge = intent.get("latest_charge")
        txn = charge.get("balance_transaction") if isinstance(charge, dict) else None
        if isinstance(txn, dict):
            return self._txn_fee(txn, currency)
        return self.fees(intent.get("id", ""), currency)

    @staticmethod
    def _txn_fee(txn, currency):
        if (txn.get("currency") or "").upper() != currency or _minor(txn, "fee") is None:
            return None
        return from_minor(txn["fee"], currency)

    def fees(self, intent_id, currency):
        """Stripe's fee on the payment, when its balance transaction is in the invoice's currency; else None."""
        try:
            intent = self._call(self.client().v1.payment_intents.retrieve, intent_id,
                                {"expand": ["latest_charge.balance_transaction"]}).to_dict()
        except GatewayError:
            return None
        charge = intent.get("latest_charge")
        txn = charge.get("balance_transaction") if isinstance(charge, dict) else None
        return self._txn_fee(txn, currency) if isinstance(txn, dict) else None

    def saved_method(self, transaction_id):
        intent = self._call(self.client().v1.payment_intents.retrieve, transaction_id).to_dict()
        method_id, customer = intent.get("payment_method"), intent.get("customer")
        if not method_id or not customer:
            return None
        method = self._call(self.client().v1.payment_methods.retrieve, method_id).to_dict()
        card = method.get("card") or {}
        return SavedMethod(customer_id=customer, method_id=method_id, brand=card.get("brand", ""),
                           last4=card.get("last4", ""), exp_month=card.get("exp_month"), exp_year=card.get("exp_year"))

    def charge(self, invoice, method, idempotency_key, *, amount):
        metadata = {"invoice_id": str(invoice.pk), "invoice_number": str(invoice), "attempt": idempotency_key}
        params = {"amount": to_minor(amount, invoice.currency), "currency": invoice.currency.lower(),
                  "customer": method.customer_id, "payment_method": method.method_id, "off_session": True,
                  "confirm": True, "metadata": metadata, "description": f"Invoice {invoice}",
                  # the fee in the same answer: one call per charge, not a second to look the fee up
                  "expand": ["latest_charge.balance_transaction"]}
        intent = self._call(self.client().v1.payment_intents.create, params,
                            {"idempotency_key": idempotency_key}).to_dict()
        return self._intent_report(intent, with_fees=True)

    def detach(self, method):
        try:
            self._call(self.client().v1.payment_methods.detach, method.method_id)
        except GatewayError as exc:
            if exc.code not in ("payment_method_unexpected_state", "resource_missing"):  # already detached or gone
                raise

    # --- refunds ---------------------------------------------------------------------------------------------

    def refund(self, payment, amount, *, idempotency_key=""):
        params = {"payment_intent": payment.transaction_id, "amount": to_minor(amount, payment.currency),
                  "metadata": {"payment_id": str(payment.pk)}}
        options = {"idempotency_key": idempotency_key} if idempotency_key else {}
        refund = self._call(self.client().v1.refunds.create, params, options)
        if refund.status not in ("succeeded", "pending"):
            raise GatewayError(f"Stripe did not refund: the refund is {refund.status}.", permanent=True,
                               code=refund.status)
        return RefundResult(transaction_id=refund.id, amount=from_minor(refund.amount, payment.currency),
                            status=refund.status)

    # --- webhooks --------------------------------------------------------------------------------------------

    def parse_event(self, request):
        secret = self.secrets.get("webhook_secret", "")
        if not secret:
            raise SignatureError("Stripe has no webhook signing secret configured.")
        header = request.headers.get("Stripe-Signature", "")
        tolerance = settings.PAYMENT_WEBHOOK_TOLERANCE
        try:
            stripe.WebhookSignature.verify_header(request.body, header, secret, tolerance)
        except stripe.SignatureVerificationError as exc:
            raise SignatureError(str(exc).split(". ")[0]) from None
        timestamp = int(dict(part.split("=", 1) for part in header.split(",") if "=" in part)["t"])
        if timestamp > time.time() + tolerance:  # the library checks only the past
            raise SignatureError("Timestamp in the future, outside the tolerance zone")
        try:
            data = json.loads(request.body)
            event_id, event_type, obj = data["id"], data["type"], data["data"]["object"]
        except (ValueError, KeyError, TypeError):
            raise SignatureError("A signed body that is not a Stripe event") from None
        report = None
        if event_type in ("checkout.session.completed", "checkout.session.async_payment_succeeded"):
            report = self._session_report(obj, with_fees=False)
        elif event_type in ("payment_intent.succeeded", "payment_intent.payment_failed"):
            report = self._intent_report(obj, with_fees=False)
        return Event(id=event_id, type=event_type, payload=data, report=report)


def _int(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return None

