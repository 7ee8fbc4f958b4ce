"""A simulator of the parts of Stripe's API the portal uses, in the vendor simulators' framework
(provisioning/simulation/base.py): run it with `manage.py run_simulator stripe`, or start it in a test.

    sim = StripeSimulator(api_key="sk_test_sim", webhook_secret="whsec_sim").start()
    # the stripe library pointed at sim.url creates a Checkout Session; its `url` is the hosted page here:
    sim.pay(session_id, card="4242424242424242")   # what the client does on the hosted page
    sim.outbox                                      # the signed webhooks it sent (or would have sent)

Routes (Stripe's paths, form-encoded bodies, `Authorization: Bearer sk_…`, errors as {"error": {type, code,
message}}): POST /v1/checkout/sessions, GET /v1/checkout/sessions/{id}, GET /v1/payment_intents/{id} (expand
latest_charge.balance_transaction for the fee), POST /v1/refunds and POST /v1/payment_intents (off-session charges of a saved card; Idempotency-Key honoured;
expand[]=latest_charge.balance_transaction as on GET),
GET /v1/payment_methods/{id}, POST /v1/payment_methods/{id}/detach. The hosted payment
page is GET/POST /pay/{session id}, with Stripe's well-known test cards:

    4242424242424242 success            4000000000000002 declined (card_declined / generic_decline)
    4000000000009995 insufficient_funds 4000002500003155 authentication_required

Webhooks are signed as Stripe signs them (`Stripe-Signature: t=<unix time>,v1=<HMAC-SHA256 hex of "t.payload">`
with the webhook secret) and POSTed to `webhook_url` when one is set (the demo); every one is kept in `outbox` for
tests to deliver themselves. Knobs (POST /_simulator/knobs, or attributes): latency_ms, fail {...} (base),
lose_webhooks (the next n are not sent), duplicate_webhooks (the next n are sent twice), webhook_url,
webhook_secret, api_key, fee_percent / fee_fixed (minor units) for the fee Stripe reports.
"""
import hashlib
import hmac
import html
import json
import re
import secrets
import time
from decimal import ROUND_HALF_UP, Decimal
from urllib.parse import parse_qsl

from payments.gateways.simulation import WebhookOutbox
from payments.money import from_minor
from provisioning.simulation.base import NO_ICON, Response, Simulator, route

TEST_CARDS = {
    "4242424242424242": None,
    "4000000000000002": ("card_declined", "generic_decline", "Your card was declined."),
    "4000000000009995": ("card_declined", "insufficient_funds", "Your card has insufficient funds."),
    "4000002500003155": ("authentication_required", "authentication_required",
                         "Your card was declined. This transaction requires authentication."),
}


def nested_form(body):
    """Stripe's form encoding (a[b][0][c]=v) back into dicts and lists."""
    root = {}
    for key, value in parse_qsl(body.decode() if isinstance(body, bytes) else body, keep_blank_values=True):
        parts = re.findall(r"[^\[\]]+", key)
        node = root
        for index, part in enumerate(parts):
            last = index == len(parts) - 1
            if last:
                node[part] = value
            else:
                node = node.setdefault(part, {})
    return _lists(root)


def _lists(node):
    if isinstance(node, dict):
        node = {k: _lists(v) for k, v in node.items()}
        if node and all(k.isdigit() for k in node):
            return [node[k] for k in sorted(node, key=int)]
    return node


def sign(payload, secret, timestamp):
    """The Stripe-Signature header of a payload (bytes or str) at a Unix time."""
    payload, timestamp = payload.decode() if isinstance(payload, bytes) else payload, int(timestamp)
    digest = hmac.new(secret.encode(), f"{timestamp}.{payload}".encode(), hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


class StripeSimulator(WebhookOutbox, Simulator):
    name = "stripe"
    event_type_field = "type"
    user_agent = "Stripe/1.0 (+https://stripe.com/docs/webhooks) simulator"

    def __init__(self, *, latency_ms=0, api_key="", webhook_secret="whsec_simulator", webhook_url=""):
        super().__init__(latency_ms=latency_ms)
        self.api_key = api_key  # "" accepts any sk_… key
        self.webhook_secret = webhook_secret
        self.webhook_url = webhook_url
        self.fee_percent = Decimal("2.9")
        self.fee_fixed = 30
        self.lose_webhooks = 0
        self.duplicate_webhooks = 0
        self._reset_state()

    def _reset_state(self):
        self.sessions, self.intents, self.charges, self.balance_transactions = {}, {}, {}, {}
        self.refunds, self.idempotent = {}, {}
        self.customers, self.payment_methods, self.cards = {}, {}, {}  # cards: payment method id → card number
        self.reset_outbox()  # (event dict, raw payload bytes, Stripe-Signature header)

    def reset(self):
        super().reset()
        with self.lock:
            self._reset_state()
            self.lose_webhooks = self.duplicate_webhooks = 0

    # --- authentication, errors ----------------------------------------------------------------------------

    def call_route(self, handler, request, params):
        if getattr(handler, "meta", {}).get("public"):
            return handler(request, **params)
        key = request.bearer
        if not key.startswith("sk_") or (self.api_key and key != self.api_key):
            return self.error(401, "invalid_request_error", f"Invalid API Key provided: {key[:8]}***", code="api_key_invalid")
        return handler(request, **params)

    @staticmethod
    def error(status, kind, message, *, code="", decline_code="", param=""):
        body = {"type": kind, "message": message}
        for name, value in (("code", code), ("decline_code", decline_code), ("param", param)):
            if value:
                body[name] = value
        return Response(status, {"error": body})

    def failure_response(self, status):
        return self.error(status, "api_error", f"Injected failure {status}")

    def not_found(self, request, allowed_methods):
        return self.error(404, "invalid_request_error", f"Unrecognized request URL ({request.method}: {request.path}).")

    def _id(self, prefix):
        return f"{prefix}_test_{secrets.token_hex(12)}"

    # --- Checkout Sessions ---------------------------------------------------------------------------------

    @route("POST", "/v1/checkout/sessions")
    def create_session(self, request):
        data = nested_form(request.body)
        items = data.get("line_items") or []
        if not items or not data.get("success_url"):
            return self.error(400, "invalid_request_error", "Missing required param: line_items.", param="line_items")
        try:
            currency = items[0]["price_data"]["currency"].lower()
            total = sum(int(item["price_data"]["unit_amount"]) * int(item.get("quantity", 1)) for item in items)
        except (KeyError, TypeError, ValueError):
            return self.error(400, "invalid_request_error", "Invalid line_items[0][price_data].", param="line_items")
        if total <= 0:
            return self.error(400, "invalid_request_error", "The Checkout Session's total amount must be positive.")
        with self.lock:
            session_id = self._id("cs")
            session = {
                "id": session_id, "object": "checkout.session", "mode": data.get("mode", "payment"),
                "amount_total": total, "currency": currency, "status": "open", "payment_status": "unpaid",
                "client_reference_id": data.get("client_reference_id"), "customer_email": data.get("customer_email"),
                "metadata": data.get("metadata") or {}, "payment_intent": None,
                "success_url": data["success_url"], "cancel_url": data.get("cancel_url"),
                "url": f"{request.root_url}/pay/{session_id}", "created": int(self.now()),
                "payment_intent_data": data.get("payment_intent_data") or {}, "livemode": False,
                "customer": data.get("customer") or None,
                "customer_creation": data.get("customer_creation"),
            }
            self.sessions[session_id] = session
            return Response(200, self._public_session(session))

    @staticmethod
    def _public_session(session):
        return {k: v for k, v in session.items() if k != "payment_intent_data"}

    @route("GET", "/v1/checkout/sessions/{session_id}")
    def get_session(self, request, session_id):
        with self.lock:
            session = self.sessions.get(session_id)
            if session is None:
                return self.error(404, "invalid_request_error", f"No such checkout.session: '{session_id}'",
                                  code="resource_missing")
            return Response(200, self._public_session(session))

    @route("GET", "/v1/payment_intents/{intent_id}")
    def get_intent(self, request, intent_id):
        if intent_id == "search":
            return self.search_intents(request)
        expand = [value for key, value in request.query.items() if key.startswith("expand")]
        with self.lock:
            intent = self.intents.get(intent_id)
            if intent is None:
                return self.error(404, "invalid_request_error", f"No such payment_intent: '{intent_id}'",
                                  code="resource_missing")
            return Response(200, self._expanded(intent, expand))

    def _expanded(self, intent, expand):
        """A copy of the intent with latest_charge (and its balance_transaction) expanded as asked (under lock)."""
        intent = dict(intent)
        if intent.get("latest_charge") and any(e.startswith("latest_charge") for e in expand):
            charge = dict(self.charges[intent["latest_charge"]])
            if "latest_charge.balance_transaction" in expand:
                charge["balance_transaction"] = self.balance_transactions[charge["balance_transaction"]]
            intent["latest_charge"] = charge
        return intent

    def search_intents(self, request):
        """GET /v1/payment_intents/search?query=metadata['key']:'value' (the one query form the portal uses)."""
        match = re.fullmatch(r"metadata\['(\w+)'\]:'((?:[^'\\]|\\.)*)'", request.query.get("query", "").strip())
        if match is None:
            return self.error(400, "invalid_request_error", "Unsupported search query.", param="query")
        name, value = match.group(1), re.sub(r"\\(.)", r"\1", match.group(2))
        with self.lock:
            found = [dict(i) for i in self.intents.values() if (i.get("metadata") or {}).get(name) == value]
        return Response(200, {"object": "search_result", "data": found, "has_more": False, "next_page": None,
                              "url": "/v1/payment_intents/search"})

    # --- refunds -------------------------------------------------------------------------------------------

    @route("POST", "/v1/refunds")
    def create_refund(self, request):
        data = nested_form(request.body)
        key = request.headers.get("idempotency-key")
        with self.lock:
            if key and key in self.idempotent:
                return self.idempotent[key]
            intent = self.intents.get(data.get("payment_intent", ""))
            if intent is None or intent["status"] != "succeeded":
                return self.error(400, "invalid_request_error", "No such payment_intent or it has no successful charge.",
                                  code="resource_missing", param="payment_intent")
            refunded = sum(r["amount"] for r in self.refunds.values() if r["payment_intent"] == intent["id"])
            amount = int(data.get("amount") or intent["amount"] - refunded)
            if amount <= 0 or amount > intent["amount"] - refunded:
                return self.error(400, "invalid_request_error",
                                  f"Refund amount ({amount}) is greater than unrefunded amount on charge "
                                  f"({intent['amount'] - refunded}).", code="amount_too_large", param="amount")
            refund = {"id": self._id("re"), "object": "refund", "amount": amount, "currency": intent["currency"],
                      "payment_intent": intent["id"], "charge": intent["latest_charge"], "status": "succeeded",
                      "metadata": data.get("metadata") or {}, "created": int(self.now())}
            self.refunds[refund["id"]] = refund
            if key:
                self.idempotent[key] = Response(200, refund)
        self._send_event("charge.refunded", self.charges[refund["charge"]])
        return Response(200, refund)

    # --- the hosted payment page ---------------------------------------------------------------------------

    @route("GET", "/pay/{session_id}", public=True)
    def payment_page(self, request, session_id):
        session = self.sessions.get(session_id)
        if session is None:
            return Response(404, "<h1>This checkout session does not exist.</h1>")
        return Response(200, self._page(session))

    @route("POST", "/pay/{session_id}", public=True)
    def payment_submit(self, request, session_id):
        card = dict(parse_qsl(request.body.decode())).get("card", "")
        result = self.pay(session_id, card=card)
        if result["error"]:
            session = self.sessions.get(session_id)
            if session is None:
                return Response(404, "<h1>This checkout session does not exist.</h1>")
            return Response(402, self._page(session, error=result["error"]))
        return Response(303, "", headers={"Location": result["redirect"]})

    def _page(self, session, error=""):
        amount = from_minor(session["amount_total"], session["currency"])
        notice = f'<p class="error" role="alert">{html.escape(error)}</p>' if error else ""
        if session["status"] != "open":
            return f"<h1>Stripe simulator</h1><p>This checkout session is {session['status']}.</p>"
        return (f"<!doctype html><title>Stripe Checkout (simulator)</title>{NO_ICON}<h1>Pay {amount} "
                f"{session['currency'].upper()}</h1>{notice}<form method=post><label>Card number "
                f"<input name=card value=4242424242424242></label><button type=submit>Pay</button></form>"
                "<p>Test cards: 4242424242424242 success, 4000000000000002 declined, 4000000000009995 insufficient "
                "funds, 4000002500003155 authentication required.</p>")

    def pay(self, session_id, *, card="4242424242424242"):
        """What the client does on the hosted page: returns {"error": message or "", "redirect": success URL}."""
        card = re.sub(r"\D", "", card or "")
        with self.lock:
            session = self.sessions.get(session_id)
            if session is None or session["status"] != "open":
                return {"error": "This checkout session is no longer open.", "redirect": ""}
            outcome = TEST_CARDS.get(card, ("card_declined", "generic_decline", "Your card number is not a test card."))
            intent = self._intent(session, card)
            if outcome is not None:
                code, decline_code, message = outcome
                intent.update(status="requires_payment_method",
                              last_payment_error={"code": code, "decline_code": decline_code, "message": message})
                failed = dict(intent)
            else:
                self._succeed(intent)
                session.update(status="complete", payment_status="paid")
                if session["payment_intent_data"].get("setup_future_usage") == "off_session":
                    customer, method = self.attach_card(card, customer=session.get("customer"))
                    session["customer"] = customer
                    intent.update(customer=customer, payment_method=method)
                failed = None
            session["payment_intent"] = intent["id"]
            completed, succeeded = self._public_session(session), dict(intent)
        if failed is not None:
            self._send_event("payment_intent.payment_failed", failed)
            return {"error": failed["last_payment_error"]["message"], "redirect": ""}
        self._send_event("checkout.session.completed", completed)
        self._send_event("payment_intent.succeeded", succeeded)
        return {"error": "", "redirect": session["success_url"].replace("{CHECKOUT_SESSION_ID}", session_id)}

    def _intent(self, session, card):
        intent_id = session.get("payment_intent")
        if intent_id:
            return self.intents[intent_id]
        intent = {"id": self._id("pi"), "object": "payment_intent", "amount": session["amount_total"],
                  "amount_received": 0, "currency": session["currency"], "status": "requires_payment_method",
                  "metadata": {**session["metadata"], **(session["payment_intent_data"].get("metadata") or {})},
                  "latest_charge": None, "last_payment_error": None, "created": int(self.now()),
                  "payment_method": f"pm_card_{card[-4:] or 'none'}"}
        self.intents[intent["id"]] = intent
        return intent

    def _succeed(self, intent):
        fee = int((Decimal(intent["amount"]) * self.fee_percent / 100).to_integral_value(ROUND_HALF_UP)) + self.fee_fixed
        txn = {"id": self._id("txn"), "object": "balance_transaction", "amount": intent["amount"], "fee": fee,
               "net": intent["amount"] - fee, "currency": intent["currency"]}
        charge = {"id": self._id("ch"), "object": "charge", "amount": intent["amount"], "currency": intent["currency"],
                  "payment_intent": intent["id"], "paid": True, "status": "succeeded", "balance_transaction": txn["id"]}
        self.balance_transactions[txn["id"]], self.charges[charge["id"]] = txn, charge
        intent.update(status="succeeded", amount_received=intent["amount"], latest_charge=charge["id"],
                      last_payment_error=None)

    # --- saved cards and off-session charges ----------------------------------------------------------------

    def attach_card(self, card, *, customer=None):
        """Save a card for later (what Checkout does with setup_future_usage, or a test seeding a saved card whose
        later charges fail): returns (customer id, payment method id)."""
        with self.lock:
            if not customer:
                customer = self._id("cus")
                self.customers[customer] = {"id": customer, "object": "customer"}
            method = self._id("pm")
            brand = {"4": "visa", "5": "mastercard", "3": "amex"}.get(card[:1], "unknown")
            self.payment_methods[method] = {
                "id": method, "object": "payment_method", "type": "card", "customer": customer,
                "card": {"brand": brand, "last4": card[-4:], "exp_month": 12,
                         "exp_year": time.gmtime(self.now()).tm_year + 3}}
            self.cards[method] = card
            return customer, method

    @route("GET", "/v1/payment_methods/{method_id}")
    def get_payment_method(self, request, method_id):
        with self.lock:
            method = self.payment_methods.get(method_id)
            if method is None:
                return self.error(404, "invalid_request_error", f"No such PaymentMethod: '{method_id}'",
                                  code="resource_missing")
            return Response(200, method)

    @route("POST", "/v1/payment_methods/{method_id}/detach")
    def detach_payment_method(self, request, method_id):
        with self.lock:
            method = self.payment_methods.get(method_id)
            if method is None or method["customer"] is None:
                return self.error(400, "invalid_request_error",
                                  "The payment method you provided is not attached to a customer.",
                                  code="payment_method_unexpected_state")
            method["customer"] = None
            return Response(200, method)

    @route("POST", "/v1/payment_intents")
    def create_intent(self, request):
        """An off-session charge of a saved card (confirm=true): succeeds, or answers 402 as Stripe does."""
        data = nested_form(request.body)
        key = request.headers.get("idempotency-key")
        with self.lock:
            if key and key in self.idempotent:
                return self.idempotent[key]
            method = self.payment_methods.get(data.get("payment_method", ""))
            if method is None or method["customer"] != data.get("customer"):
                return self.error(400, "invalid_request_error", "No such PaymentMethod for this customer.",
                                  code="resource_missing", param="payment_method")
            try:
                amount = int(data["amount"])
            except (KeyError, ValueError):
                return self.error(400, "invalid_request_error", "Missing required param: amount.", param="amount")
            intent = {"id": self._id("pi"), "object": "payment_intent", "amount": amount, "amount_received": 0,
                      "currency": data.get("currency", "usd").lower(), "status": "requires_payment_method",
                      "metadata": data.get("metadata") or {}, "latest_charge": None, "last_payment_error": None,
                      "customer": method["customer"], "payment_method": method["id"], "created": int(self.now())}
            self.intents[intent["id"]] = intent
            outcome = TEST_CARDS.get(self.cards[method["id"]], ("card_declined", "generic_decline", "Declined."))
            if outcome is None:
                self._succeed(intent)
                expand = data.get("expand") or []
                response = Response(200, self._expanded(intent, expand if isinstance(expand, list) else [expand]))
                event = ("payment_intent.succeeded", dict(intent))
            else:
                code, decline_code, message = outcome
                error = {"code": code, "decline_code": decline_code, "message": message}
                intent.update(last_payment_error=error,
                              status="requires_action" if code == "authentication_required" else
                              "requires_payment_method")
                response = self.error(402, "card_error", message, code=code, decline_code=decline_code)
                response.body["error"]["payment_intent"] = dict(intent)
                event = ("payment_intent.payment_failed", dict(intent))
            if key:
                self.idempotent[key] = response
        self._send_event(*event)
        return response

    # --- webhooks ------------------------------------------------------------------------------------------

    def _send_event(self, event_type, obj):
        event = {"id": self._id("evt"), "object": "event", "type": event_type, "created": int(self.now()),
                 "livemode": False, "api_version": "2025-01-01", "data": {"object": obj}}
        payload = json.dumps(event).encode()
        self.dispatch(event, payload, sign(payload, self.webhook_secret, self.now()))

    def webhook_headers(self, signature):
        return {"Stripe-Signature": signature}

    # --- inspection ----------------------------------------------------------------------------------------

    def snapshot(self):
        with self.lock:
            return {"sessions": list(self.sessions.values()), "payment_intents": list(self.intents.values()),
                    "payment_methods": list(self.payment_methods.values()),
                    "refunds": list(self.refunds.values()),
                    "webhooks": [{"id": e["id"], "type": e["type"]} for e, _, _ in self.outbox],
                    "lost_webhooks": [{"id": e["id"], "type": e["type"]} for e, _, _ in self.lost],
                    "webhook_url": self.webhook_url}

    def seed(self, data):
        """Set the key, the webhook secret and URL; "cards" ([{customer, payment_method, card}]) saves cards under
        ids of the caller's choosing (the demo's saved cards, the same after a restart). Idempotent."""
        for name in ("api_key", "webhook_secret", "webhook_url"):
            if name in data:
                setattr(self, name, str(data[name]))
        for saved in data.get("cards", []):
            customer, method, card = str(saved["customer"]), str(saved["payment_method"]), str(saved["card"])
            with self.lock:
                self.customers[customer] = {"id": customer, "object": "customer"}
                brand = {"4": "visa", "5": "mastercard", "3": "amex"}.get(card[:1], "unknown")
                self.payment_methods[method] = {
                    "id": method, "object": "payment_method", "type": "card", "customer": customer,
                    "card": {"brand": brand, "last4": card[-4:], "exp_month": 12,
                             "exp_year": time.gmtime(self.now()).tm_year + 3}}
                self.cards[method] = card

    def set_knobs(self, data):
        super().set_knobs(data)
        for name in ("lose_webhooks", "duplicate_webhooks", "fee_fixed"):
            if name in data:
                setattr(self, name, int(data[name]))
        if "fee_percent" in data:
            self.fee_percent = Decimal(str(data["fee_percent"]))
        self.seed(data)

