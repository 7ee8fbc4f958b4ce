"""The portal's records in WHMCS's field names and formats (amounts as "10.00", dates as YYYY-MM-DD,
statuses as WHMCS spells them)."""
from datetime import datetime, time

from django.conf import settings
from django.utils import timezone

from billing.models import BillingCycle, Invoice, Service
from billing.selectors import currency_codes
from portal.money import format_money

CYCLES = {
    BillingCycle.MONTHLY: "Monthly",
    BillingCycle.QUARTERLY: "Quarterly",
    BillingCycle.SEMIANNUALLY: "Semi-Annually",
    BillingCycle.ANNUALLY: "Annually",
    BillingCycle.ONETIME: "One Time",
}
CYCLE_FROM_WHMCS = {label.lower().replace("-", "").replace(" ", ""): value for value, label in CYCLES.items()}
WHMCS_PRICE_FIELDS = {  # pricing keys WHMCS uses per cycle: (price, setup fee)
    BillingCycle.MONTHLY: ("monthly", "msetupfee"),
    BillingCycle.QUARTERLY: ("quarterly", "qsetupfee"),
    BillingCycle.SEMIANNUALLY: ("semiannually", "ssetupfee"),
    BillingCycle.ANNUALLY: ("annually", "asetupfee"),
    BillingCycle.ONETIME: ("monthly", "msetupfee"),  # WHMCS prices a one-time product in the monthly column
}
SUSPEND_REASONS = {"": "", **{value: label for value, label in Service.SuspendReason.choices}}


def money(value, currency):
    """An amount as WHMCS's API returns it: a string with the currency's decimals (portal.money.format_money)."""
    return format_money(value or 0, currency)


def credit_money(client):
    """A client's credit as the portal shows it everywhere: what may be spent, rounded down (docs/billing.md)."""
    return format_money(client.credit_balance, client.currency, spendable=True)


def day(value):
    return value.isoformat() if value else "0000-00-00"


def when(value):
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M:%S") if value else "0000-00-00 00:00:00"


def local_midnight(day):
    """The start of `day` in the business time zone (WHMCS's dates have no time)."""
    return timezone.make_aware(datetime.combine(day, time.min))


def label(choices_value, choices):
    return dict(choices).get(choices_value, str(choices_value).title())


def cycle_from_whmcs(text):
    value = CYCLE_FROM_WHMCS.get((text or "").lower().replace("-", "").replace(" ", "").replace("_", ""))
    if value is None and text in CYCLES:
        value = text
    return value


def currencies():
    """The portal's currencies with WHMCS-style numeric ids: the default currency is 1, then A–Z."""
    codes = currency_codes()
    default = settings.DEFAULT_CURRENCY
    ordered = [default] + sorted(codes - {default})
    return {code: index for index, code in enumerate(ordered, start=1)}


def currency_code(value):
    """A currency given by WHMCS id or by code; None when unknown."""
    table = currencies()
    if str(value).isdigit():
        return next((code for code, pk in table.items() if pk == int(value)), None)
    code = str(value).upper()
    return code if len(code) == 3 and code.isalpha() else None


def client_fields(client, *, currency_ids=None):
    currency_ids = currency_ids or {}
    return {
        "id": client.pk,
        "userid": client.pk,
        "client_id": client.pk,
        "firstname": client.first_name,
        "lastname": client.last_name,
        "fullname": client.full_name,
        "companyname": client.company_name,
        "email": client.email,
        "address1": client.address1,
        "address2": client.address2,
        "city": client.city,
        "state": client.state,
        "fullstate": client.state,
        "postcode": client.postcode,
        "countrycode": client.country,
        "country": client.country,
        "phonenumber": client.phone,
        "status": client.get_status_display(),
        "credit": credit_money(client),
        "taxexempt": client.tax_exempt,
        "tax_id": client.vat_number,
        "currency": currency_ids.get(client.currency, 0),
        "currency_code": client.currency,
        "notes": client.notes,
        "language": client.language,
        "datecreated": day(timezone.localdate(client.created_at)),
        "lastlogin": when(client.last_login_at) if client.last_login_at else "No Login Logged",
        "groupid": 0,
    }


def client_row(client):
    """A client as GetClients lists it."""
    return {
        "id": client.pk,
        "firstname": client.first_name,
        "lastname": client.last_name,
        "companyname": client.company_name,
        "email": client.email,
        "datecreated": day(timezone.localdate(client.created_at)),
        "groupid": 0,
        "status": client.get_status_display(),
    }


def text_id(value):
    """An id as WHMCS's listings give it: a string ("0" for none), as its rows come from the database."""
    return str(value or 0)


def service_fields(service, *, options=()):
    server = service.server
    return {
        "id": text_id(service.pk),
        "qty": "1",
        "clientid": text_id(service.client_id),
        "orderid": text_id(service.pk),  # an order is the service it created (docs/whmcs-api.md)
        "ordernumber": str(service.pk),
        "pid": text_id(service.product_id),
        "regdate": day(service.registration_date),
        "name": service.product.name,
        "translated_name": service.product.name,
        "groupname": service.product.group.name,
        "translated_groupname": service.product.group.name,
        "domain": service.domain,
        "dedicatedip": "",
        "serverid": text_id(service.server_id),
        "servername": server.name if server else "",
        "serverip": "",
        "serverhostname": server.hostname if server else "",
        "suspensionreason": service.suspend_reason_text or SUSPEND_REASONS.get(service.suspend_reason, ""),
        "firstpaymentamount": money(service.first_payment_amount, service.currency),
        "recurringamount": money(service.recurring_amount, service.currency),
        "paymentmethod": "manual",
        "paymentmethodname": "Manual",
        "billingcycle": CYCLES.get(service.billing_cycle, service.billing_cycle),
        "nextduedate": day(service.next_due_date),
        "nextinvoicedate": day(service.next_invoice_date),
        "status": service.get_status_display(),
        "username": service.username,
        "password": "",  # never returned: service passwords stay encrypted at rest
        "subscriptionid": "",
        "promoid": text_id(service.promotion_id),
        "overideautosuspend": "0",
        "overidesuspenduntil": "0000-00-00",
        "ns1": "",
        "ns2": "",
        "assignedips": "",
        "notes": service.notes,
        "diskusage": str(int(service.disk_usage_mb or 0)),
        "disklimit": str(int(service.disk_limit_mb or 0)),
        "bwusage": "0",
        "bwlimit": "0",
        "lastupdate": when(service.usage_updated_at),
        "customfields": {"customfield": []},
        "configoptions": {
            "configoption": [
                {
                    "id": row.option_id,
                    "option": row.option.name,
                    "type": "quantity" if row.option.kind == "quantity" else "dropdown",
                    "value": row.quantity if row.option.kind == "quantity" else row.choice.label,
                }
                for row in options
            ]
        },
    }


def invoice_row(invoice):
    client = invoice.client
    return {
        "id": text_id(invoice.pk),
        "userid": text_id(invoice.client_id),
        "firstname": client.first_name,
        "lastname": client.last_name,
        "companyname": client.company_name,
        # The legal number; blank for a proforma (proforma numbering, unpaid), as WHMCS with "sequential paid
        # invoice numbering" leaves it until payment.
        "invoicenum": invoice.number or "",
        "date": day(invoice.date),
        "duedate": day(invoice.due_date),
        "datepaid": when(invoice.paid_at),
        "last_capture_attempt": "0000-00-00 00:00:00",
        "subtotal": money(invoice.subtotal, invoice.currency),
        "credit": money(invoice.credit_applied, invoice.currency),
        "tax": money(invoice.tax, invoice.currency),
        "tax2": "0.00",  # `tax` is every level's tax (the breakdown: the invoice's tax lines): subtotal + tax = total
        "total": money(invoice.total, invoice.currency),
        "balance": money(invoice.balance, invoice.currency),
        "taxrate": f"{invoice.tax_rate:.2f}",
        "taxrate2": f"{invoice.tax_rate2:.2f}",
        "status": invoice.get_status_display(),
        "paymentmethod": "manual",
        "notes": invoice.notes,
        "currencycode": invoice.currency,
        "currencyprefix": "",
        "currencysuffix": f" {invoice.currency}",
    }


ITEM_TYPES = {"service": "Hosting", "setup": "Setup", "upgrade": "Upgrade", "add_funds": "AddFunds", "item": "Item", "disk": "Hosting"}


def default_description(payment):
    if payment.amount_out:
        return f"Refund of Invoice Payment (#{payment.invoice_id})" if payment.invoice_id else "Credit Refund"
    return f"Invoice Payment (#{payment.invoice_id})" if payment.invoice_id else "Payment to Credit"


def transaction_fields(payment):
    return {
        "id": text_id(payment.pk),
        "userid": text_id(payment.client_id),
        "currency": "0",
        "gateway": payment.gateway,
        "date": when(payment.received_at),
        "description": payment.note or default_description(payment),
        "amountin": money(payment.amount, payment.currency),
        "fees": money(payment.fees, payment.currency),
        "amountout": money(payment.amount_out, payment.currency),
        "rate": "1.00000",
        "transid": payment.transaction_id,
        "invoiceid": text_id(payment.invoice_id),
        "refundid": text_id(payment.refund_of_id),
    }


INVOICE_STATUS_FROM_WHMCS = {label.lower(): value for value, label in Invoice.Status.choices}
SERVICE_STATUS_FROM_WHMCS = {label.lower(): value for value, label in Service.Status.choices}
