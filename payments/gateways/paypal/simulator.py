"""A simulator of the parts of PayPal's REST API the portal uses, in the vendor simulators' framework
(provisioning/simulation/base.py): run it with `manage.py run_simulator paypal`, or start it in a test.

    sim = PayPalSimulator(client_id="sim-client", client_secret="sim-secret", webhook_id="WH-SIM").start()
    # the portal creates an order; its payer-action link is the approval page here:
    sim.approve(order_id, funding="balance")   # what the buyer does on PayPal's page
    sim.outbox                                 # the signed webhooks it sent (or would have sent)

Routes (PayPal's paths and JSON, errors as {name, message, details: [{issue, description}]}): POST
/v1/oauth2/token (Basic client id:secret → a bearer token that expires after `token_lifetime` seconds of the
simulator's clock), POST /v2/checkout/orders, GET /v2/checkout/orders/{id}, POST /v2/checkout/orders/{id}/capture,
GET /v2/payments/captures/{id}, POST /v2/payments/captures/{id}/refund (PayPal-Request-Id honoured on the POSTs)
and POST /v1/notifications/verify-webhook-signature. An order nobody approved is gone (404) three hours after it
was created, as at PayPal. The approval page is GET/POST /checkoutnow?token={order id}; the buyer picks a
funding source:

    balance   the capture completes          declined  the capture answers 422 INSTRUMENT_DECLINED
    pending   the capture stays PENDING until settle(capture id) completes or denies it

Webhooks carry PayPal's headers (PAYPAL-TRANSMISSION-ID/-TIME/-SIG, PAYPAL-CERT-URL, PAYPAL-AUTH-ALGO). The
simulator's signature is its own: an HMAC-SHA256, with a key it keeps per webhook id, over the algorithm, the
certificate URL, the transmission id and time, the webhook id and the CRC32 of the event (as canonical JSON);
its verify-webhook-signature checks it, so a changed body or header answers FAILURE. Knobs (POST
/_simulator/knobs, or attributes): latency_ms, fail {...} (base), lose_webhooks (the next n are not sent),
duplicate_webhooks (the next n are sent twice), webhook_url, webhook_id, client_id, client_secret,
token_lifetime, fee_percent and fee_fixed (PayPal's fee, in the currency's units).
"""
import base64
import hashlib
import hmac
import html
import json
import secrets
import zlib
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from urllib.parse import parse_qsl, urlencode

from payments.gateways.paypal.api import amount_of, money, paypal_decimals
from payments.gateways.simulation import WebhookOutbox
from provisioning.simulation.base import NO_ICON, Response, Simulator, route

FUNDING = {"balance": "PayPal balance", "declined": "Card that will be declined", "pending": "eCheck (pending)"}
ORDER_LIFETIME = 3 * 3600  # an order nobody approved is gone after three hours
AUTH_ALGO = "SHA256withRSA"


def canonical(event):
    return json.dumps(event, sort_keys=True, separators=(",", ":")).encode()


class PayPalSimulator(WebhookOutbox, Simulator):
    name = "paypal"
    event_type_field = "event_type"
    user_agent = "PayPal/AUHD-214.0 simulator"

    def __init__(self, *, latency_ms=0, client_id="", client_secret="", webhook_id="WH-SIMULATOR", webhook_url="",
                 token_lifetime=32400):
        super().__init__(latency_ms=latency_ms)
        self.client_id, self.client_secret = client_id, client_secret  # "" accepts any
        self.webhook_id, self.webhook_url = webhook_id, webhook_url
        self.token_lifetime = token_lifetime
        self.fee_percent, self.fee_fixed = Decimal("3.49"), Decimal("0.49")
        self.lose_webhooks = self.duplicate_webhooks = 0
        self._reset_state()

    def _reset_state(self):
        self.tokens, self.orders, self.captures, self.refunds, self.idempotent = {}, {}, {}, {}, {}
        self.webhook_keys = {}  # webhook id → HMAC key
        self.reset_outbox()  # (event dict, raw payload bytes, headers)

    def reset(self):
        super().reset()
        with self.lock:
            self._reset_state()
            self.lose_webhooks = self.duplicate_webhooks = 0

    @staticmethod
    def _id(length=17):
        return "".join(secrets.choice("0123456789ABCDEFGHJKLMNPRSTUVWXY") for _ in range(length))

    def _time(self, offset=0):
        return datetime.fromtimestamp(self.now() + offset, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

    # --- authentication, errors ----------------------------------------------------------------------------

    def call_route(self, handler, request, params):
        if handler.meta.get("public"):
            return handler(request, **params)
        with self.lock:
            expiry = self.tokens.get(request.bearer)
        if expiry is None or expiry <= self.now():
            return Response(401, {"error": "invalid_token", "error_description": "Token signature verification failed"})
        return handler(request, **params)

    @staticmethod
    def error(status, name, issue, description):
        return Response(status, {"name": name, "message": description, "debug_id": secrets.token_hex(6),
                                 "details": [{"issue": issue, "description": description}]})

    def unprocessable(self, issue, description):
        return self.error(422, "UNPROCESSABLE_ENTITY", issue, description)

    def failure_response(self, status):
        return self.error(status, "INTERNAL_SERVER_ERROR", "INTERNAL_SERVICE_ERROR", f"Injected failure {status}")

    def not_found(self, request, allowed_methods):
        return self.error(404, "RESOURCE_NOT_FOUND", "INVALID_RESOURCE_ID", f"No route {request.method} {request.path}")

    def _missing(self, what, ident):
        return self.error(404, "RESOURCE_NOT_FOUND", "INVALID_RESOURCE_ID", f"Specified resource ID {ident} "
                                                                            f"({what}) does not exist.")

    def _idempotent(self, request, key_part, create):
        """Run `create` once per PayPal-Request-Id (under the lock): a repeat gets the first answer."""
        request_id = request.headers.get("paypal-request-id", "")
        with self.lock:
            key = (key_part, request_id)
            if request_id and key in self.idempotent:
                return self.idempotent[key]
            response = create()
            if request_id:
                self.idempotent[key] = response
            return response

    @route("POST", "/v1/oauth2/token", public=True)
    def token(self, request):
        header = request.headers.get("authorization", "")
        try:
            client_id, _, secret = base64.b64decode(header[6:]).decode().partition(":")
        except ValueError:
            client_id = secret = ""
        form = dict(parse_qsl(request.body.decode()))
        wrong = (not header.startswith("Basic ") or not client_id or not secret
                 or (self.client_id and client_id != self.client_id)
                 or (self.client_secret and secret != self.client_secret))
        if wrong:
            return Response(401, {"error": "invalid_client", "error_description": "Client Authentication failed"})
        if form.get("grant_type") != "client_credentials":
            return Response(400, {"error": "unsupported_grant_type", "error_description": "Grant type is not supported"})
        token = f"A21AA{secrets.token_urlsafe(24)}"
        with self.lock:
            self.tokens[token] = self.now() + self.token_lifetime
        return Response(200, {"scope": "https://uri.paypal.com/services/payments/payment", "access_token": token,
                              "token_type": "Bearer", "app_id": "APP-SIMULATOR", "expires_in": self.token_lifetime,
                              "nonce": secrets.token_hex(8)})

    # --- orders --------------------------------------------------------------------------------------------

    @route("POST", "/v2/checkout/orders")
    def create_order(self, request):
        data = request.json or {}
        try:
            unit = data["purchase_units"][0]
            value, currency = amount_of(unit["amount"])
            context = data["payment_source"]["paypal"]["experience_context"]
            return_url, cancel_url = context["return_url"], context["cancel_url"]
        except (KeyError, IndexError, TypeError):
            return self.error(400, "INVALID_REQUEST", "MISSING_REQUIRED_PARAMETER",
                              "purchase_units[0].amount and payment_source.paypal.experience_context are required.")
        if data.get("intent") != "CAPTURE":
            return self.error(400, "INVALID_REQUEST", "INVALID_PARAMETER_VALUE", "Only intent CAPTURE is simulated.")
        if value is None or value <= 0:
            return self.unprocessable("DECIMAL_PRECISION", f"The amount needs at most {paypal_decimals(currency)} "
                                                           f"decimals for {currency} and must be positive.")

        def create():
            order_id = self._id()
            order = {"id": order_id, "intent": "CAPTURE", "status": "PAYER_ACTION_REQUIRED",
                     "create_time": self._time(), "created": self.now(),
                     "purchase_units": [{"reference_id": unit.get("reference_id", "default"),
                                         "custom_id": unit.get("custom_id", ""), "invoice_id": unit.get("invoice_id", ""),
                                         "description": unit.get("description", ""), "amount": unit["amount"]}],
                     "return_url": return_url, "cancel_url": cancel_url, "funding": "", "payer": None,
                     "links": [{"href": f"{request.root_url}/v2/checkout/orders/{order_id}", "rel": "self",
                                "method": "GET"},
                               {"href": f"{request.root_url}/checkoutnow?token={order_id}", "rel": "payer-action",
                                "method": "GET"}]}
            self.orders[order_id] = order
            return Response(200, self._public(order))

        return self._idempotent(request, "orders", create)

    @staticmethod
    def _public(order):
        return {k: v for k, v in order.items() if k not in ("return_url", "cancel_url", "funding", "created")}

    def _order(self, order_id):
        """The order, or None when it does not exist or expired unapproved (under the lock)."""
        order = self.orders.get(order_id)
        if order is not None and order["status"] in ("CREATED", "PAYER_ACTION_REQUIRED") \
                and self.now() - order["created"] > ORDER_LIFETIME:
            return None
        return order

    @route("GET", "/v2/checkout/orders/{order_id}")
    def get_order(self, request, order_id):
        with self.lock:
            order = self._order(order_id)
            return Response(200, self._public(order)) if order else self._missing("order", order_id)

    @route("POST", "/v2/checkout/orders/{order_id}/capture")
    def capture_order(self, request, order_id):
        events = []

        def capture():
            order = self._order(order_id)
            if order is None:
                return self._missing("order", order_id)
            if order["status"] == "COMPLETED":
                return self.unprocessable("ORDER_ALREADY_CAPTURED", "Order already captured.")
            if order["status"] != "APPROVED":
                return self.unprocessable("ORDER_NOT_APPROVED", "Payer has not yet approved the Order for payment.")
            if order["funding"] == "declined":
                return self.unprocessable("INSTRUMENT_DECLINED", "The instrument presented was declined. Please "
                                                                 "select another.")
            unit = order["purchase_units"][0]
            status = "PENDING" if order["funding"] == "pending" else "COMPLETED"
            capture = {"id": self._id(), "status": status, "amount": unit["amount"], "final_capture": True,
                       "custom_id": unit["custom_id"], "invoice_id": unit["invoice_id"],
                       "create_time": self._time(), "update_time": self._time(),
                       "supplementary_data": {"related_ids": {"order_id": order_id}}}
            if status == "COMPLETED":
                capture["seller_receivable_breakdown"] = self._breakdown(unit["amount"])
            else:
                capture["status_details"] = {"reason": "ECHECK"}
            self.captures[capture["id"]] = capture
            unit["payments"] = {"captures": [capture]}
            order["status"] = "COMPLETED"
            events.append((f"PAYMENT.CAPTURE.{status}", "capture", dict(capture)))
            return Response(201, self._public(order))

        response = self._idempotent(request, ("capture", order_id), capture)
        for event in events:
            self._send_event(*event)
        return response

    def _breakdown(self, gross):
        value, currency = amount_of(gross)
        places = Decimal(1).scaleb(-paypal_decimals(currency))
        fee = (value * self.fee_percent / 100 + self.fee_fixed).quantize(places, rounding=ROUND_HALF_UP)
        return {"gross_amount": gross, "paypal_fee": money(fee, currency), "net_amount": money(value - fee, currency)}

    @route("GET", "/v2/payments/captures/{capture_id}")
    def get_capture(self, request, capture_id):
        with self.lock:
            capture = self.captures.get(capture_id)
            return Response(200, capture) if capture else self._missing("capture", capture_id)

    @route("POST", "/v2/payments/captures/{capture_id}/refund")
    def refund_capture(self, request, capture_id):
        events = []
        data = request.json or {}

        def refund():
            capture = self.captures.get(capture_id)
            if capture is None:
                return self._missing("capture", capture_id)
            if capture["status"] not in ("COMPLETED", "PARTIALLY_REFUNDED"):
                return self.unprocessable("CAPTURE_FULLY_REFUNDED" if capture["status"] == "REFUNDED" else
                                          "INVALID_RESOURCE_ID", f"The capture is {capture['status']}.")
            captured, currency = amount_of(capture["amount"])
            refunded = sum(amount_of(r["amount"])[0] for r in self.refunds.values() if r["capture_id"] == capture_id)
            asked, asked_currency = amount_of(data.get("amount")) if data.get("amount") else (captured - refunded,
                                                                                             currency)
            if asked is None or asked_currency != currency:
                return self.unprocessable("CURRENCY_MISMATCH", "Refund must be in the currency of the capture.")
            if asked <= 0 or asked > captured - refunded:
                return self.unprocessable("REFUND_AMOUNT_EXCEEDED", "The refund amount must be less than or equal to "
                                                                    "the capture amount that has not been refunded.")
            item = {"id": self._id(), "status": "COMPLETED", "amount": money(asked, currency),
                    "capture_id": capture_id, "note_to_payer": data.get("note_to_payer", ""),
                    "create_time": self._time()}
            self.refunds[item["id"]] = item
            capture["status"] = "REFUNDED" if refunded + asked == captured else "PARTIALLY_REFUNDED"
            events.append(("PAYMENT.CAPTURE.REFUNDED", "refund", dict(item)))
            return Response(201, {k: v for k, v in item.items() if k != "capture_id"})

        response = self._idempotent(request, ("refund", capture_id), refund)
        for event in events:
            self._send_event(*event)
        return response

    # --- the approval page ---------------------------------------------------------------------------------

    @route("GET", "/checkoutnow", public=True)
    def approval_page(self, request):
        with self.lock:
            order = self._order(request.query.get("token", ""))
            page = self._page(order) if order else None
        return Response(200, page) if page else Response(404, "<h1>This order does not exist or expired.</h1>")

    @route("POST", "/checkoutnow", public=True)
    def approval_submit(self, request):
        form = dict(parse_qsl(request.body.decode()))
        order_id = request.query.get("token", "") or form.get("token", "")
        if form.get("action") == "cancel":
            result = self.cancel(order_id)
        else:
            result = self.approve(order_id, funding=form.get("funding", "balance"))
        if result["error"]:
            return Response(409, f"<h1>PayPal simulator</h1><p role=alert>{html.escape(result['error'])}</p>")
        return Response(303, "", headers={"Location": result["redirect"]})

    def _page(self, order):
        unit = order["purchase_units"][0]
        value, currency = unit["amount"]["value"], unit["amount"]["currency_code"]
        if order["status"] != "PAYER_ACTION_REQUIRED":
            return f"<h1>PayPal simulator</h1><p>This order is {order['status'].lower()}.</p>"
        options = "".join(f"<option value={key}>{html.escape(label)}</option>" for key, label in FUNDING.items())
        return (f"<!doctype html><title>PayPal Checkout (simulator)</title>{NO_ICON}<h1>Pay {html.escape(value)} "
                f"{html.escape(currency)} with PayPal</h1><p>{html.escape(unit['description'])}</p>"
                f"<form method=post><input type=hidden name=token value={order['id']}><label>Pay with "
                f"<select name=funding>{options}</select></label> <button type=submit name=action value=approve>"
                "Pay Now</button> <button type=submit name=action value=cancel>Cancel and return</button></form>")

    def approve(self, order_id, *, funding="balance", payer_id="SIMPAYER01"):
        """What the buyer does on PayPal's page: returns {"error": message or "", "redirect": the return URL}."""
        if funding not in FUNDING:
            return {"error": f"Unknown funding source {funding!r}.", "redirect": ""}
        with self.lock:
            order = self._order(order_id)
            if order is None or order["status"] != "PAYER_ACTION_REQUIRED":
                return {"error": "This order cannot be approved now.", "redirect": ""}
            order.update(status="APPROVED", funding=funding,
                         payer={"payer_id": payer_id, "email_address": "buyer@example.com"})
            approved = self._public(order)
            redirect = _with_query(order["return_url"], token=order_id, PayerID=payer_id)
        self._send_event("CHECKOUT.ORDER.APPROVED", "checkout-order", approved)
        return {"error": "", "redirect": redirect}

    def cancel(self, order_id):
        with self.lock:
            order = self._order(order_id)
            if order is None:
                return {"error": "This order does not exist or expired.", "redirect": ""}
            return {"error": "", "redirect": _with_query(order["cancel_url"], token=order_id)}

    def settle(self, capture_id, *, completed=True):
        """A pending capture (eCheck) clears, or is denied: PAYMENT.CAPTURE.COMPLETED or .DENIED is sent."""
        with self.lock:
            capture = self.captures[capture_id]
            capture.update(status="COMPLETED" if completed else "DECLINED", update_time=self._time())
            capture.pop("status_details", None)
            if completed:
                capture["seller_receivable_breakdown"] = self._breakdown(capture["amount"])
            settled = dict(capture)
        self._send_event("PAYMENT.CAPTURE.COMPLETED" if completed else "PAYMENT.CAPTURE.DENIED", "capture", settled)

    # --- webhooks ------------------------------------------------------------------------------------------

    def signature(self, event, *, webhook_id, transmission_id, transmission_time, cert_url, auth_algo=AUTH_ALGO):
        """The simulator's PAYPAL-TRANSMISSION-SIG of an event (None for a webhook id it never signed for)."""
        with self.lock:
            key = self.webhook_keys.get(webhook_id)
        if key is None:
            return None
        message = f"{auth_algo}|{cert_url}|{transmission_id}|{transmission_time}|{webhook_id}|{zlib.crc32(canonical(event))}"
        return base64.b64encode(hmac.new(key, message.encode(), hashlib.sha256).digest()).decode()

    def signed(self, event, *, transmission_time=None, webhook_id=None):
        """(raw payload, headers) of an event as the simulator sends it, signed for `webhook_id` (its own)."""
        webhook_id = webhook_id or self.webhook_id
        with self.lock:
            self.webhook_keys.setdefault(webhook_id, secrets.token_bytes(32))
        headers = {"PAYPAL-AUTH-ALGO": AUTH_ALGO, "PAYPAL-CERT-URL": f"{self.url}/v1/notifications/certs/CERT-SIM",
                   "PAYPAL-TRANSMISSION-ID": secrets.token_hex(16),
                   "PAYPAL-TRANSMISSION-TIME": transmission_time or self._time()}
        headers["PAYPAL-TRANSMISSION-SIG"] = self.signature(
            event, webhook_id=webhook_id, transmission_id=headers["PAYPAL-TRANSMISSION-ID"],
            transmission_time=headers["PAYPAL-TRANSMISSION-TIME"], cert_url=headers["PAYPAL-CERT-URL"])
        return json.dumps(event).encode(), headers

    def event(self, event_type, resource_type, resource, *, event_id=None):
        return {"id": event_id or f"WH-{self._id()}-{self._id()}", "event_version": "1.0",
                "create_time": self._time(), "resource_type": resource_type, "event_type": event_type,
                "summary": f"{event_type} (simulator)", "resource": resource}

    @route("POST", "/v1/notifications/verify-webhook-signature")
    def verify_signature(self, request):
        data = request.json or {}
        names = ("auth_algo", "cert_url", "transmission_id", "transmission_sig", "transmission_time", "webhook_id")
        if any(not isinstance(data.get(name), str) or not data[name] for name in names) \
                or not isinstance(data.get("webhook_event"), dict):
            return self.error(400, "VALIDATION_ERROR", "MISSING_REQUIRED_PARAMETER",
                              f"{', '.join(names)} and webhook_event are required.")
        expected = self.signature(data["webhook_event"], webhook_id=data["webhook_id"],
                                  transmission_id=data["transmission_id"], cert_url=data["cert_url"],
                                  transmission_time=data["transmission_time"], auth_algo=data["auth_algo"])
        good = expected is not None and hmac.compare_digest(expected, data["transmission_sig"])
        return Response(200, {"verification_status": "SUCCESS" if good else "FAILURE"})

    def _send_event(self, event_type, resource_type, resource):
        event = self.event(event_type, resource_type, resource)
        self.dispatch(event, *self.signed(event))

    def webhook_headers(self, signature):
        return signature

    # --- inspection ----------------------------------------------------------------------------------------

    def snapshot(self):
        with self.lock:
            return {"orders": [self._public(o) for o in self.orders.values()], "captures": list(self.captures.values()),
                    "refunds": list(self.refunds.values()),
                    "webhooks": [{"id": e["id"], "event_type": e["event_type"]} for e, _, _ in self.outbox],
                    "lost_webhooks": [{"id": e["id"], "event_type": e["event_type"]} for e, _, _ in self.lost],
                    "webhook_url": self.webhook_url, "webhook_id": self.webhook_id}

    def seed(self, data):
        """Set the credentials, the webhook id and the URL webhooks go to. Idempotent."""
        for name in ("client_id", "client_secret", "webhook_id", "webhook_url"):
            if name in data:
                setattr(self, name, str(data[name]))

    def set_knobs(self, data):
        super().set_knobs(data)
        for name in ("lose_webhooks", "duplicate_webhooks", "token_lifetime"):
            if name in data:
                setattr(self, name, int(data[name]))
        for name in ("fee_percent", "fee_fixed"):
            if name in data:
                setattr(self, name, Decimal(str(data[name])))
        self.seed(data)


def _with_query(url, **params):
    return f"{url}{'&' if '?' in url else '?'}{urlencode(params)}"
