"""PayPal's REST API through the project's HTTP client (provisioning/http.py: timeouts, retries only where a repeat
is safe, secrets redacted from the log). Not PayPal's server SDK: its environment is an enum of PayPal's two hosts
(sandbox, live) with no base URL of our choosing, so it cannot talk to the simulator, and it has no call for the
webhook-signature verification (docs/payments.md, *PayPal*).

OAuth2: one access token per (API base, client id, secret) in the process, kept until a minute before it expires
and renewed once when PayPal answers 401. Amounts are decimal strings with PayPal's decimals for the currency
(PayPal has none for JPY, HUF and TWD), converted exactly both ways (payments.money)."""
import base64
import hashlib
import time

from payments.gateways.base import GatewayError
from payments.money import from_decimal_text, to_decimal_text
from portal.money import currency_decimals
from provisioning.http import ServerConnections
from provisioning.modules.base import ModuleError

LIVE = "https://api-m.paypal.com"
SANDBOX = "https://api-m.sandbox.paypal.com"
# Currencies whose amounts PayPal takes without decimals although ISO 4217 gives them two (HUF, TWD).
PAYPAL_DECIMALS = {"JPY": 0, "HUF": 0, "TWD": 0}
TOKEN_MARGIN = 60  # seconds before its expiry a token is renewed

_connections = ServerConnections()  # tokens: (base, client id, secret digest) -> (access token, monotonic expiry)


def paypal_decimals(currency):
    return PAYPAL_DECIMALS.get(currency.upper(), currency_decimals(currency.upper()))


def money(amount, currency):
    """{"currency_code", "value"} as PayPal takes it: Decimal('25.00') USD → "25.00"; Decimal('1500.00') HUF → "1500"."""
    return {"currency_code": currency.upper(), "value": to_decimal_text(amount, currency, paypal_decimals(currency))}


def amount_of(money_object):
    """(Decimal, currency) of a PayPal money object, exactly; (None, "") when it is missing or malformed."""
    if not isinstance(money_object, dict):
        return None, ""
    currency = str(money_object.get("currency_code") or "").upper()
    try:
        return from_decimal_text(money_object.get("value"), currency, paypal_decimals(currency)), currency
    except ValueError:
        return None, currency


class PayPalAPI:
    def __init__(self, base_url, client_id, secret):
        if not client_id or not secret:
            raise GatewayError("PayPal has no client id and secret: set them in the staff area (Payments → Gateway "
                               "settings).", permanent=True, code="not_configured")
        self.base_url, self.client_id, self.secret = base_url.rstrip("/"), client_id, secret
        self.basic = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
        self.key = ("paypal", self.base_url, client_id, hashlib.sha256(secret.encode()).hexdigest()[:16])
        self.http, self.lock = _connections.open(self.key, self.base_url, verify=True, connect_timeout=5,
                                                 read_timeout=30)

    def token(self, *, renew=False):
        with self.lock:
            cached = _connections.tokens.get(self.key)
            if cached and not renew and cached[1] > time.monotonic():
                return cached[0]
            try:
                response = self.http.request("POST", "/v1/oauth2/token", data={"grant_type": "client_credentials"},
                                             headers={"Authorization": f"Basic {self.basic}"}, idempotent=True)
            except ModuleError as exc:
                raise GatewayError(f"PayPal is unreachable: {exc}", code="temporary") from exc
            body = _json(response)
            if response.status_code in (400, 401, 403):
                raise GatewayError("PayPal refused the client id and secret "
                                   f"({body.get('error_description') or body.get('error') or response.status_code}).",
                                   permanent=True, code="invalid_client")
            if response.status_code != 200 or not body.get("access_token"):
                raise GatewayError(f"PayPal gave no access token ({response.status_code}).", code="temporary")
            lifetime = int(body.get("expires_in") or 0)
            _connections.tokens[self.key] = (body["access_token"], time.monotonic() + max(lifetime - TOKEN_MARGIN, 0))
            return body["access_token"]

    def call(self, method, path, *, json=None, request_id="", repeatable=False):
        """One API call: the answer's JSON, or GatewayError (permanent for 4xx: `code` is PayPal's issue, e.g.
        INSTRUMENT_DECLINED, RESOURCE_NOT_FOUND; temporary for transport failures, 429 and 5xx). A call with a
        PayPal-Request-Id is idempotent at PayPal and may be repeated, as may a GET and a `repeatable` POST (one that
        changes nothing, such as the signature verification)."""
        for renew in (False, True):
            headers = {"Authorization": f"Bearer {self.token(renew=renew)}", "Prefer": "return=representation"}
            if request_id:
                headers["PayPal-Request-Id"] = request_id
            try:
                response = self.http.request(method, path, json=json, headers=headers,
                                             idempotent=True if request_id or repeatable or method == "GET" else None)
            except ModuleError as exc:
                raise GatewayError(f"PayPal is unreachable or failed: {exc}", code="temporary") from exc
            if response.status_code != 401:
                break
        body = _json(response)
        if response.status_code < 400:
            return body
        details = body.get("details") or [{}]
        issue = (details[0] or {}).get("issue") or body.get("name") or str(response.status_code)
        text = (details[0] or {}).get("description") or body.get("message") or f"HTTP {response.status_code}"
        raise GatewayError(f"PayPal refused: {issue}: {text}", permanent=response.status_code != 429, code=issue)


def _json(response):
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}
