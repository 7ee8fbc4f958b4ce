"""The demo's payments: Stripe and PayPal enabled in test mode against the simulators run.py started
(DEMO_STRIPE_URL, DEMO_PAYPAL_URL), which send their signed webhooks to the demo portal (PORTAL_BASE_URL), and, once with the
data set (load_payments): a client with a saved card whose invoice was charged automatically, a client whose
automatic charge was declined (the invoice waits for him, the "Automatic Payment Failed" e-mail in the outbox),
and a bank statement with one line paying an invoice by its RF reference and one line waiting for staff."""
import logging
import os
from datetime import timedelta
from decimal import Decimal
from xml.sax.saxutils import escape

import requests
from django.conf import settings
from django.contrib.auth import get_user_model
from django.utils import timezone

from billing.models import Invoice, InvoiceItem
from billing.numbering import allocate_invoice_number
from billing.payment_reference import invoice_reference
from payments import services
from payments.bank.matching import import_file
from payments.gateways.base import GatewayError, PaymentReport
from payments.models import BankStatement, GatewaySettings, PaymentMethod
from payments.registry import get_gateway, settings_for
from portal.activity import Actor
from portal.models import Client

logger = logging.getLogger(__name__)


class Card:
    """A demo client's saved card: its ids at Stripe are fixed, so the simulator (its state in memory) is seeded
    with the same card on every start and the portal's PaymentMethod row stays valid."""

    def __init__(self, email, number, brand="visa"):
        self.email, self.number, self.brand = email, number, brand
        name = email.partition("@")[0]
        self.customer, self.method = f"cus_demo_{name}", f"pm_demo_{name}"


FRANK = "frank@northwind.example"  # saved card 4242…: his invoice was charged automatically
CAROL = "carol@initech.example"  # saved card 4000…0002: the automatic charge of her overdue invoice was declined
CARDS = [Card(FRANK, "4242424242424242"), Card(CAROL, "4000000000000002")]
STATEMENT_ID = "DEMO-STMT-1"
UNMATCHED_LINE = {"ref": "DEMO-BANK-0002", "amount": "47.30", "name": "J. Smith Consulting",
                  "ustrd": "Order 5521 thank you"}
DEMO_IBAN = "GB82WEST12345698765432"  # the demo's own account (run.py sets BANK_IBAN to it unless set)

URL_VARIABLE = "DEMO_STRIPE_URL"
SECRET_KEY = "sk_test_demo_portal"
WEBHOOK_SECRET = "whsec_demo_portal"


def attach_simulator(url=None):
    """Enable Stripe (test mode) with the simulator's URL as its API base, and tell the simulator the key, the
    webhook secret and where to send webhooks. Returns True when attached, None without a simulator."""
    cards = [{"customer": card.customer, "payment_method": card.method, "card": card.number} for card in CARDS]
    return _attach("stripe", url or os.environ.get(URL_VARIABLE, ""), display_name="Card (Stripe test mode)",
                   seed={"api_key": SECRET_KEY, "webhook_secret": WEBHOOK_SECRET, "cards": cards}, options={},
                   secrets={"secret_key": SECRET_KEY, "webhook_secret": WEBHOOK_SECRET})


PAYPAL_URL_VARIABLE = "DEMO_PAYPAL_URL"
PAYPAL_CLIENT_ID = "demo-portal-client"
PAYPAL_SECRET = "demo-portal-secret"
PAYPAL_WEBHOOK_ID = "WH-DEMO-PORTAL"


def attach_paypal_simulator(url=None):
    """Enable PayPal (test mode) against the PayPal simulator: its URL as the API base, the demo's client id,
    secret and webhook id, which the simulator is told too, with where to send webhooks. The same values on every
    load (nothing is added twice). Returns True when attached, None without a simulator."""
    ids = {"client_id": PAYPAL_CLIENT_ID, "webhook_id": PAYPAL_WEBHOOK_ID}
    return _attach("paypal", url or os.environ.get(PAYPAL_URL_VARIABLE, ""), display_name="PayPal (sandbox)",
                   seed={**ids, "client_secret": PAYPAL_SECRET}, options=ids,
                   secrets={"client_secret": PAYPAL_SECRET})


def _attach(key, url, *, display_name, seed, options, secrets):
    """Seed the gateway's simulator at `url` (with the demo portal's webhook URL) and enable the gateway in test
    mode against it. None when there is no simulator or it does not answer."""
    url = url.rstrip("/")
    if not url:
        return None
    webhook_url = f"{settings.PORTAL_BASE_URL.rstrip('/')}/payments/webhook/{key}/"
    try:
        requests.post(f"{url}/_simulator/seed", json={**seed, "webhook_url": webhook_url},
                      timeout=10).raise_for_status()
    except requests.RequestException as exc:
        logger.warning("Could not seed the %s simulator at %s: %s", key, url, exc)
        return None
    row = settings_for(key)
    row.enabled, row.test_mode, row.display_name = True, True, row.display_name or display_name
    row.options = {**row.options, **options, "api_base": url}
    row.set_secret_values(secrets)
    row.save()
    return True


def _actor():
    return Actor.system("load_demo")


def load_payments(*, staff_username="admin"):
    """Once (with the data set): the saved cards, the automatic charges and the bank statement. Charged through
    the real code path against the Stripe simulator when it is attached; without it, the same rows recorded from
    the answers the simulator gives for these cards. Returns True when it added them."""
    if PaymentMethod.objects.filter(gateway="stripe", method_id=CARDS[0].method).exists():
        return False
    clients = {c.email: c for c in Client.objects.filter(email__in=[card.email for card in CARDS])}
    if len(clients) != len(CARDS):
        return False  # not the demo data set
    methods = {card.email: _saved_card(clients[card.email], card) for card in CARDS}
    today = timezone.localdate()
    frank_invoice = _one_off_invoice(clients[FRANK], today)
    carol_invoice = (Invoice.objects.filter(client=clients[CAROL], status=Invoice.Status.UNPAID)
                     .order_by("due_date", "pk").first())
    if _stripe_attached():
        for invoice in (frank_invoice, carol_invoice):
            services.charge_saved_method(invoice=invoice, actor=_actor())
    else:
        _record_without_simulator(frank_invoice, methods[FRANK], carol_invoice, methods[CAROL])
    _bank_statement(staff_username)
    return True


def _stripe_attached():
    row = GatewaySettings.objects.filter(gateway="stripe", enabled=True).first()
    return bool(row and row.options.get("api_base"))


def _saved_card(client, card):
    return PaymentMethod.objects.create(
        client=client, gateway="stripe", customer_id=card.customer, method_id=card.method, brand=card.brand,
        last4=card.number[-4:], exp_month=12, exp_year=timezone.localdate().year + 3, is_default=True)


def _one_off_invoice(client, today):
    """Frank's porting of two numbers: a one-off item, due today (what the automatic charge pays)."""
    amount = Decimal("15.00")
    invoice = Invoice.objects.create(
        client=client, number=allocate_invoice_number(on_date=today - timedelta(days=7)),
        status=Invoice.Status.UNPAID, currency=client.currency, date=today - timedelta(days=7), due_date=today,
        subtotal=amount, total=amount)
    InvoiceItem.objects.create(invoice=invoice, kind=InvoiceItem.Kind.ITEM, amount=amount,
                               description="Number porting – 2 numbers (one-off)")
    return invoice


def _record_without_simulator(paid_invoice, paid_method, declined_invoice, declined_method):
    """What charge_saved_method records for these cards, from the answers the simulator would give."""
    gateway, now = get_gateway("stripe"), timezone.now()
    attempt = services._new_attempt(paid_invoice, paid_method, 1, now)
    report = PaymentReport(reference=f"pi_demo_{paid_invoice.pk}", transaction_id=f"pi_demo_{paid_invoice.pk}",
                           paid=True, amount=attempt.amount, currency=attempt.currency, fees=Decimal("0.74"),
                           invoice_id=paid_invoice.pk, attempt_key=attempt.idempotency_key)
    services._charge_outcome(gateway, attempt, paid_invoice, report, None, actor=_actor(), now=now)
    attempt = services._new_attempt(declined_invoice, declined_method, 1, now)
    declined = GatewayError("Your card was declined.", permanent=True, code="generic_decline")
    services._charge_outcome(gateway, attempt, declined_invoice, None, declined, actor=_actor(), now=now)


def _bank_statement(staff_username):
    """A camt.053 statement uploaded by the demo staff user: one line pays an unpaid invoice by its RF
    reference, one (an unknown reference and amount) waits for staff."""
    invoice = (Invoice.objects.filter(status=Invoice.Status.UNPAID, charge_attempts__isnull=True,
                                      client__email="alice@acme.example").order_by("due_date", "pk").first())
    entries = []
    if invoice is not None:
        entries.append({"ref": "DEMO-BANK-0001", "amount": str(invoice.balance), "name": invoice.client.company_name,
                        "strd": invoice_reference(invoice)})
    entries.append(UNMATCHED_LINE)
    staff = get_user_model().objects.filter(username=staff_username).first()
    actor = Actor.staff(staff) if staff else _actor()
    import_file(data=camt053(entries, currency=invoice.currency if invoice else "USD"),
                format=BankStatement.Format.CAMT053, actor=actor, filename="demo-statement.camt053.xml")


def camt053(entries, *, currency="USD"):
    """A camt.053.001.02 document (bytes): one statement of the demo account with credit `entries`
    (dicts: ref, amount, name, strd: a creditor reference, ustrd: free text)."""
    booked = timezone.localdate().isoformat()
    body = "".join(
        f"<Ntry><Amt Ccy=\"{currency}\">{e['amount']}</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts>BOOK</Sts>"
        f"<BookgDt><Dt>{booked}</Dt></BookgDt><AcctSvcrRef>{escape(e['ref'])}</AcctSvcrRef>"
        f"<NtryDtls><TxDtls><RltdPties><Dbtr><Nm>{escape(e.get('name', ''))}</Nm></Dbtr></RltdPties><RmtInf>"
        + (f"<Ustrd>{escape(e['ustrd'])}</Ustrd>" if e.get("ustrd") else "")
        + (f"<Strd><CdtrRefInf><Ref>{escape(e['strd'])}</Ref></CdtrRefInf></Strd>" if e.get("strd") else "")
        + "</RmtInf></TxDtls></NtryDtls></Ntry>"
        for e in entries)
    iban = settings.BANK_IBAN or DEMO_IBAN
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"><BkToCstmrStmt>'
        f"<GrpHdr><MsgId>MSG-{STATEMENT_ID}</MsgId><CreDtTm>{booked}T06:00:00</CreDtTm></GrpHdr>"
        f"<Stmt><Id>{STATEMENT_ID}</Id><Acct><Id><IBAN>{iban}</IBAN></Id></Acct>{body}</Stmt>"
        "</BkToCstmrStmt></Document>"
    ).encode()
