"""The contract every online gateway keeps (docs/payments.md). Modelled on the provisioning modules: a small
class per gateway in payments/gateways/<name>/, installed through settings.PAYMENT_GATEWAYS, its credentials kept
encrypted in GatewaySettings, and errors that say whether they are permanent.

Inputs and outputs are small dataclasses; a gateway never records money itself: payments.services turns what it
reports into calls of billing's payment_record / refund_record."""
from dataclasses import dataclass, field
from decimal import Decimal


class GatewayError(Exception):
    """The gateway refused or failed. `permanent` errors (a declined card, bad credentials) need a person; temporary
    ones (timeouts, 5xx) may be retried. `code` is the gateway's reason (e.g. card_declined)."""

    def __init__(self, message, *, permanent=False, code=""):
        super().__init__(message)
        self.message = message
        self.permanent = permanent
        self.code = code


class SignatureError(Exception):
    """A webhook that is unsigned, tampered with or outside the timestamp tolerance: refused, nothing recorded."""


@dataclass(frozen=True)
class Redirect:
    """Where to send the client to pay (a hosted payment page) and the gateway's id for it."""

    url: str
    reference: str


@dataclass(frozen=True)
class PaymentReport:
    """Money the gateway says it received (or did not): what a confirmation or an event carries."""

    reference: str  # the gateway's id of the attempt (Checkout Session id, PaymentIntent id)
    transaction_id: str  # the id the payment is recorded under (PaymentIntent id): one per payment
    paid: bool
    amount: Decimal | None = None
    currency: str = ""
    fees: Decimal | None = None
    invoice_id: int | None = None
    attempt_key: str = ""  # the ChargeAttempt idempotency key the portal sent as metadata
    reason: str = ""


@dataclass(frozen=True)
class Lookup:
    """What the gateway knows of a charge the portal never heard back about (reconciliation): `state` is paid,
    failed, expired, open (the client may still pay: left alone) or missing (the gateway never saw it)."""

    state: str
    report: PaymentReport | None = None


@dataclass(frozen=True)
class SavedMethod:
    """A payment method the gateway keeps for the client (never the card number)."""

    customer_id: str
    method_id: str
    brand: str = ""
    last4: str = ""
    exp_month: int | None = None
    exp_year: int | None = None


@dataclass(frozen=True)
class Event:
    """A verified webhook. `report` is set for events about money for an invoice; others are only logged."""

    id: str
    type: str
    payload: dict = field(default_factory=dict)
    report: PaymentReport | None = None


@dataclass(frozen=True)
class RefundResult:
    transaction_id: str
    amount: Decimal
    status: str


def api_base_error(options):
    """The error of an `api_base` option staff typed, or "": https, or plain http to a simulator on this machine."""
    base = options.get("api_base", "")
    if base and not base.startswith(("https://", "http://127.0.0.1", "http://localhost")):
        return "Use https:// (plain http only for a simulator on this machine)."
    return ""


class Gateway:
    key = ""
    label = ""
    # Capabilities
    supports_hosted_payment = False
    supports_saved_methods = False
    supports_refunds = False
    supports_statement_import = False
    # The words of its Pay button on the invoice ("" → "Pay now <amount> — <display name>").
    button_text = ""
    # The client's way back from the hosted page: what the portal adds to the return URL for the gateway to fill
    # in, and the query parameter the gateway's id of the attempt comes back in.
    return_query = "session_id={CHECKOUT_SESSION_ID}"
    return_reference_param = "session_id"
    # The settings staff fill in: name → (label, secret?, help). Secrets are stored encrypted, never shown back.
    option_schema = {}

    def __init__(self, settings_row):
        self.settings = settings_row
        self.options = dict(settings_row.options or {})
        self.secrets = settings_row.secret_values()

    @classmethod
    def check_settings(cls, *, test_mode, options, secrets):
        """Errors in settings staff are about to save ({field name: message}); `secrets` are the stored ones
        merged with the new."""
        return {}

    def start_payment(self, invoice, *, amount, attempt_key, success_url, cancel_url, save_method=False,
                      customer_id="") -> Redirect:
        """Open a hosted payment; with `save_method` the gateway keeps the method for off-session charges."""
        raise NotImplementedError

    def saved_method(self, transaction_id):
        """The method a payment saved for later (SavedMethod), or None."""

    def confirm(self, reference) -> PaymentReport:
        """Ask the gateway for the state of an attempt (the return page never trusts the browser)."""
        raise NotImplementedError

    def lookup(self, attempt) -> Lookup:
        """Ask the gateway about a ChargeAttempt by its reference or its idempotency key (reconciliation)."""
        raise GatewayError(f"{self.label} cannot be asked about past charges.", permanent=True)

    def fees(self, transaction_id, currency):
        """The gateway's fee on a payment, in the currency, when it reports one (else None)."""

    def charge(self, invoice, method, idempotency_key, *, amount) -> PaymentReport:
        """Charge a saved PaymentMethod off-session; a decline raises a permanent GatewayError with its code."""
        raise GatewayError(f"{self.label} cannot charge saved payment methods.", permanent=True)

    def detach(self, method):
        """Have the gateway forget a saved method (the client removed it)."""

    def refund(self, payment, amount) -> RefundResult:
        raise GatewayError(f"{self.label} cannot refund through its API.", permanent=True)

    def parse_event(self, request) -> Event:
        """Verify the request's signature (raising SignatureError) and read the event."""
        raise NotImplementedError

    def event_report(self, event):
        """The PaymentReport of a verified event, asked for once per event id while it is processed: what
        parse_event read, unless the gateway must act first (PayPal captures an approved order here)."""
        return event.report
