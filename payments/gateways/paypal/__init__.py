"""PayPal, Orders v2 through its REST API (api.py; why not the server SDK: there and in docs/payments.md): the
client approves an order on PayPal's page, the portal captures it (on the return page, on the
CHECKOUT.ORDER.APPROVED webhook or in reconciliation, whichever comes first; the capture is idempotent), refunds
of captures, and webhooks verified as PayPal specifies (its verify-webhook-signature call, after local checks of
the headers and the transmission time). No saved payment methods (no vaulting). The API base is PayPal's sandbox
in test mode, live otherwise, or the gateway's `api_base` option / settings.PAYPAL_API_BASE (the simulator next to
this file, simulator.py)."""
import json
import re
from datetime import UTC, datetime
from urllib.parse import urlsplit

from django.conf import settings

from payments.gateways.base import (
    Event,
    Gateway,
    GatewayError,
    Lookup,
    PaymentReport,
    Redirect,
    RefundResult,
    SignatureError,
    api_base_error,
)
from payments.gateways.paypal.api import LIVE, SANDBOX, PayPalAPI, amount_of, money

# The settings staff fill in (payments/admin.py renders them): name → (label, secret?, help).
OPTION_SCHEMA = {
    "client_id": ("Client ID", False, "From developer.paypal.com → Apps & Credentials: the app's client id (a Sandbox "
                                      "app in test mode, a Live app otherwise)."),
    "client_secret": ("Secret", True, "The secret shown beside the app's client id."),
    "webhook_id": ("Webhook ID", False, "The id PayPal gives the webhook you add to the app for "
                                        "https://<portal>/payments/webhook/paypal/."),
    "api_base": ("API base URL", False, "Leave empty for PayPal (sandbox in test mode, live otherwise); the "
                                        "simulator's URL in the demo."),
}
# The headers PayPal signs a webhook with, as the verify-webhook-signature call names them.
SIGNATURE_HEADERS = {"auth_algo": "PAYPAL-AUTH-ALGO", "cert_url": "PAYPAL-CERT-URL",
                     "transmission_id": "PAYPAL-TRANSMISSION-ID", "transmission_sig": "PAYPAL-TRANSMISSION-SIG",
                     "transmission_time": "PAYPAL-TRANSMISSION-TIME"}
# The attempt keys the portal puts in custom_id (payments.services.checkout_start): only such orders are captured.
PORTAL_KEY = re.compile(r"^paypal:invoice:(\d+):")
PAID = ("COMPLETED", "PARTIALLY_REFUNDED", "REFUNDED")  # capture states of money received (refunds are separate)
DECLINES = ("INSTRUMENT_DECLINED", "PAYER_ACTION_REQUIRED", "TRANSACTION_REFUSED", "PAYER_CANNOT_PAY")


class PayPalGateway(Gateway):
    key = "paypal"
    label = "PayPal"
    button_text = "Pay with PayPal"
    supports_hosted_payment = True
    supports_refunds = True
    option_schema = OPTION_SCHEMA
    return_query = ""  # PayPal adds token=<order id>&PayerID=… to the return URL itself
    return_reference_param = "token"

    @classmethod
    def check_settings(cls, *, test_mode, options, secrets):
        errors = {}
        if options.get("client_id") and not re.fullmatch(r"[A-Za-z0-9_-]{10,100}", options["client_id"]):
            errors["client_id"] = "A PayPal client id is letters, digits, - and _ (copy it from the app's page)."
        if options.get("webhook_id") and not re.fullmatch(r"[A-Za-z0-9-]{5,50}", options["webhook_id"]):
            errors["webhook_id"] = "A PayPal webhook id is letters and digits, e.g. 8PT597110X687430LKGECATA."
        if api_base_error(options):
            errors["api_base"] = api_base_error(options)
        return errors

    # --- the API client --------------------------------------------------------------------------------------

    def base_url(self):
        return (self.options.get("api_base") or settings.PAYPAL_API_BASE
                or (SANDBOX if self.settings.test_mode else LIVE)).rstrip("/")

    def api(self):
        if getattr(self, "_api", None) is None:
            self._api = PayPalAPI(self.base_url(), self.options.get("client_id", ""),
                                  self.secrets.get("client_secret", ""))
        return self._api

    # --- paying an invoice -----------------------------------------------------------------------------------

    def start_payment(self, invoice, *, amount, attempt_key, success_url, cancel_url, save_method=False,
                      customer_id=""):
        unit = {"reference_id": str(invoice.pk), "custom_id": attempt_key, "description": f"Invoice {invoice}",
                # unique per attempt: PayPal refuses a second payment under an invoice id it has seen paid
                "invoice_id": f"{invoice}-{attempt_key[-8:]}", "amount": money(amount, invoice.currency)}
        context = {"return_url": success_url, "cancel_url": cancel_url, "user_action": "PAY_NOW",
                   "shipping_preference": "NO_SHIPPING"}
        order = self.api().call("POST", "/v2/checkout/orders", request_id=attempt_key, json={
            "intent": "CAPTURE", "purchase_units": [unit], "payment_source": {"paypal": {"experience_context": context}}})
        links = {link.get("rel"): link.get("href") for link in order.get("links") or []}
        url = links.get("payer-action") or links.get("approve")
        if not order.get("id") or not url:
            raise GatewayError("PayPal gave no page to approve the payment on.", code="temporary")
        return Redirect(url=url, reference=order["id"])

    def confirm(self, reference):
        order, declined = self._settle(self._order(reference))
        return self._order_report(order, declined)

    def lookup(self, attempt):
        """Reconciliation: the order by its id — approved but not captured is captured now; completed is paid;
        voided or gone (PayPal forgets orders nobody approved) is expired or missing."""
        if not attempt.reference:
            return Lookup("missing")
        try:
            order = self._order(attempt.reference)
        except GatewayError as exc:
            if exc.code in ("RESOURCE_NOT_FOUND", "INVALID_RESOURCE_ID"):
                return Lookup("missing")
            raise
        if order.get("status") == "VOIDED":
            return Lookup("expired", self._order_report(order))
        order, declined = self._settle(order)
        report = self._order_report(order, declined)
        if report.paid:
            return Lookup("paid", report)
        return Lookup("failed" if report.reason else "open", report)

    def _order(self, order_id):
        return self.api().call("GET", f"/v2/checkout/orders/{order_id}")

    def _settle(self, order):
        """(order, decline issue): an approved order is captured (the same PayPal-Request-Id for every capture of
        it, so the return page, the webhook and reconciliation capture it once); a declined funding source gives
        the order back unchanged with PayPal's issue."""
        if order.get("status") != "APPROVED":
            return order, ""
        try:
            return self.api().call("POST", f"/v2/checkout/orders/{order['id']}/capture", json={},
                                   request_id=f"capture-{order['id']}"), ""
        except GatewayError as exc:
            if exc.code == "ORDER_ALREADY_CAPTURED":
                return self._order(order["id"]), ""
            if exc.code in DECLINES:
                return order, exc.code
            raise

    def _order_report(self, order, declined=""):
        unit = (order.get("purchase_units") or [{}])[0]
        captures = (unit.get("payments") or {}).get("captures") or []
        if captures:
            return self._capture_report(captures[0], order_id=order.get("id", ""), unit=unit)
        amount, currency = amount_of(unit.get("amount"))
        status = order.get("status", "")
        reason = declined or ("Order voided" if status == "VOIDED" else "")
        return PaymentReport(reference=order.get("id", ""), transaction_id="", paid=False, amount=amount,
                             currency=currency, invoice_id=_invoice_pk(unit), attempt_key=unit.get("custom_id", ""),
                             reason=reason)

    def _capture_report(self, capture, *, order_id="", unit=None):
        unit = unit or {}
        amount, currency = amount_of(capture.get("amount"))
        status = capture.get("status", "")
        paid = status in PAID and amount is not None
        fee, fee_currency = amount_of((capture.get("seller_receivable_breakdown") or {}).get("paypal_fee"))
        related = (capture.get("supplementary_data") or {}).get("related_ids") or {}
        key = capture.get("custom_id") or unit.get("custom_id") or ""
        reason = "" if paid or status == "PENDING" else f"Capture {status.lower() or 'not completed'}" + (
            f": {capture['status_details'].get('reason')}" if capture.get("status_details") else "")
        return PaymentReport(
            reference=order_id or related.get("order_id", ""), transaction_id=capture.get("id", ""), paid=paid,
            amount=amount, currency=currency, fees=fee if paid and fee_currency == currency else None,
            invoice_id=_invoice_pk({"custom_id": key, **unit}), attempt_key=key, reason=reason)

    def fees(self, capture_id, currency):
        """PayPal's fee on a capture (seller_receivable_breakdown.paypal_fee) in the invoice's currency, or None."""
        try:
            capture = self.api().call("GET", f"/v2/payments/captures/{capture_id}")
        except GatewayError:
            return None
        fee, fee_currency = amount_of((capture.get("seller_receivable_breakdown") or {}).get("paypal_fee"))
        return fee if fee_currency == currency else None

    # --- refunds ---------------------------------------------------------------------------------------------

    def refund(self, payment, amount, *, idempotency_key=""):
        refund = self.api().call("POST", f"/v2/payments/captures/{payment.transaction_id}/refund",
                                 request_id=idempotency_key,
                                 json={"amount": money(amount, payment.currency),
                                       "note_to_payer": f"Refund for invoice {payment.invoice}"})
        status = refund.get("status", "")
        if status not in ("COMPLETED", "PENDING") or not refund.get("id"):
            raise GatewayError(f"PayPal did not refund: the refund is {status or 'unknown'}.", permanent=True,
                               code=status)
        refunded, currency = amount_of(refund.get("amount"))
        if refunded is not None and (currency != payment.currency or refunded > amount):
            raise GatewayError(f"PayPal reports a refund of {refunded} {currency}, not {amount} {payment.currency}.",
                               permanent=True, code="amount_mismatch")
        return RefundResult(transaction_id=refund["id"], amount=amount if refunded is None else refunded,
                            status=status.lower())

    # --- webhooks --------------------------------------------------------------------------------------------

    def parse_event(self, request):
        """Local checks first (the webhook id configured, every signature header present, the transmission time
        within settings.PAYMENT_WEBHOOK_TOLERANCE, the certificate at PayPal or at the configured API base), then
        PayPal's verify-webhook-signature; FAILURE, or anything missing, raises SignatureError."""
        webhook_id = self.options.get("webhook_id", "")
        if not webhook_id:
            raise SignatureError("PayPal has no webhook id configured")
        headers = {name: request.headers.get(header, "") for name, header in SIGNATURE_HEADERS.items()}
        missing = [SIGNATURE_HEADERS[name] for name, value in headers.items() if not value]
        if missing:
            raise SignatureError(f"Missing {', '.join(missing)}")
        _check_time(headers["transmission_time"])
        if not self._trusted_cert(headers["cert_url"]):
            raise SignatureError("The certificate URL is not PayPal's")
        try:
            event = json.loads(request.body)
            event_id, event_type = str(event["id"]), str(event["event_type"])
        except (ValueError, KeyError, TypeError):
            raise SignatureError("The body is not a PayPal event") from None
        answer = self.api().call("POST", "/v1/notifications/verify-webhook-signature", repeatable=True,
                                 json={**headers, "webhook_id": webhook_id, "webhook_event": event})
        if answer.get("verification_status") != "SUCCESS":
            raise SignatureError(f"PayPal did not verify the signature ({answer.get('verification_status')})")
        report = None
        if event_type in ("PAYMENT.CAPTURE.COMPLETED", "PAYMENT.CAPTURE.DENIED"):
            report = self._capture_report(event.get("resource") or {})
        return Event(id=event_id, type=event_type, payload=event, report=report)

    def _trusted_cert(self, cert_url):
        parts = urlsplit(cert_url)
        if parts.scheme == "https" and (parts.hostname or "").endswith(".paypal.com"):
            return True
        return cert_url.startswith(self.base_url() + "/")

    def event_report(self, event):
        """An approved order of the portal's is captured here (once per event id; the capture itself is
        idempotent); orders the portal did not start are left alone (the account may sell elsewhere too)."""
        if event.type != "CHECKOUT.ORDER.APPROVED":
            return event.report
        order = event.payload.get("resource") or {}
        unit = (order.get("purchase_units") or [{}])[0]
        if not order.get("id") or not PORTAL_KEY.match(unit.get("custom_id") or ""):
            return None
        order, declined = self._settle(order)
        return self._order_report(order, declined)


def _check_time(text):
    try:
        sent = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise SignatureError("Unreadable PAYPAL-TRANSMISSION-TIME") from None
    if sent.tzinfo is None:
        raise SignatureError("PAYPAL-TRANSMISSION-TIME without a time zone")
    if abs((datetime.now(UTC) - sent).total_seconds()) > settings.PAYMENT_WEBHOOK_TOLERANCE:
        raise SignatureError("Transmission time outside the tolerance zone")


def _invoice_pk(unit):
    match = PORTAL_KEY.match(unit.get("custom_id") or "")
    value = match.group(1) if match else unit.get("reference_id")
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
