"""WHMCS "Billing" actions, on billing.services (invoices, payments, ledger, generation)."""
from decimal import Decimal

from django.utils import timezone

from api.whmcs.clients import find_client
from api.whmcs.registry import WhmcsError, action, filter_by, get_or_error, paginate, unsupported
from api.whmcs.shapes import (
    INVOICE_STATUS_FROM_WHMCS, ITEM_TYPES, invoice_row, money, transaction_fields, when,
)
from billing.models import CreditLedgerEntry, Invoice, InvoiceItem, Payment
from billing.services.generation import generate_invoices
from billing.services.invoices import Line, invoice_cancel, invoice_create
from billing.services.ledger import credit_adjust
from billing.services.payments import invoice_pay_from_credit, payment_record

B = "Billing"
NEED_INVOICE = (("invoiceid", "Invoice ID Not Found"),)


def find_invoice(call):
    return get_or_error(Invoice.objects.select_related("client"), call.str("invoiceid"), "Invoice ID Not Found")


def invoice_lines(call):
    """itemdescriptionN / itemamountN / itemtaxedN, N = 1, 2, … (WHMCS numbers them; gaps are allowed)."""
    numbers = sorted(
        int(key[len("itemdescription"):]) for key in call.data
        if key.startswith("itemdescription") and key[len("itemdescription"):].isdigit()
    )
    lines = []
    for n in numbers:
        description = call.str(f"itemdescription{n}")
        if not description:
            continue
        amount = call.decimal(f"itemamount{n}", Decimal("0.00"))
        if amount != amount.quantize(Decimal("0.01")):
            raise WhmcsError(f"itemamount{n}: use at most two decimal places")
        lines.append(Line(InvoiceItem.Kind.ITEM, description, amount, taxable=call.bool(f"itemtaxed{n}")))
    return lines


@action("CreateInvoice", category=B, scope="invoices.write", required=(("userid", "Client ID Not Found"),),
        note="Issued at once (numbered, Unpaid, 'Invoice Created' queued); draft=true and a date other than today "
             "are not supported; paymentmethod and taxrate are ignored (tax follows the client's country).")
def create_invoice(call):
    client = find_client(call, "userid")
    if call.bool("draft") or call.str("status").lower() == "draft":
        raise WhmcsError("Draft invoices are not supported: invoices are issued when created")
    if call.has("date") and call.date("date") != timezone.localdate():
        raise WhmcsError("An invoice date other than today is not supported")
    lines = invoice_lines(call)
    if not lines:
        raise WhmcsError("No invoice items provided (itemdescription1, itemamount1, …)")
    invoice = invoice_create(client=client, lines=lines, actor=call.actor, due_date=call.date("duedate"),
                             notes=call.str("notes"))
    return {"invoiceid": invoice.pk, "status": invoice.get_status_display()}


@action("GetInvoice", category=B, scope="invoices.read", required=NEED_INVOICE)
def get_invoice(call):
    invoice = find_invoice(call)
    items = invoice.items.order_by("sort_order", "pk")
    payments = invoice.payments.order_by("received_at", "pk")
    row = invoice_row(invoice)
    return {
        "invoiceid": invoice.pk, **{k: v for k, v in row.items() if k not in ("id", "firstname", "lastname", "companyname")},
        "ccgateway": False,
        "items": {"item": [
            {"id": i.pk, "type": ITEM_TYPES.get(i.kind, "Item"), "relid": i.service_id or 0, "description": i.description,
             "amount": money(i.amount), "taxed": int(i.taxable)}
            for i in items
        ]},
        "transactions": {"transaction": [transaction_fields(p) for p in payments]},
    }


@action("GetInvoices", category=B, scope="invoices.read")
def get_invoices(call):
    invoices = Invoice.objects.select_related("client").order_by("-date", "-pk")
    if call.has("userid"):
        invoices = invoices.filter(client_id=call.int("userid"))
    if call.has("status"):
        status = call.str("status").lower()
        if status == "overdue":
            invoices = invoices.filter(status=Invoice.Status.UNPAID, due_date__lt=timezone.localdate())
        else:
            invoices = invoices.filter(status=INVOICE_STATUS_FROM_WHMCS.get(status, status))
    rows, page = paginate(call, invoices)
    return {**page, "invoices": {"invoice": [invoice_row(i) for i in rows]}}


@action("UpdateInvoice", category=B, scope="invoices.write", required=NEED_INVOICE,
        note="status=Cancelled only (billing.services.invoices.invoice_cancel; money received goes to credit). "
             "Paid comes from AddInvoicePayment/ApplyCredit; editing lines or dates is not supported.")
def update_invoice(call):
    invoice = find_invoice(call)
    status = call.str("status").lower()
    if status == "cancelled":
        invoice_cancel(invoice=invoice, actor=call.actor, reason=call.str("notes") or "cancelled via the API")
        return {"invoiceid": invoice.pk}
    if status == "paid":
        raise WhmcsError("Mark an invoice paid by recording its payment (AddInvoicePayment) or applying credit")
    raise WhmcsError("Only status=Cancelled is supported by UpdateInvoice on this portal")


@action("GenInvoices", category=B, scope="invoices.write",
        note="Runs the recurring invoice generator for today; the serviceids/domainids/addonids/clientid filters "
             "are not supported (the generator bills every client that is due).")
def gen_invoices(call):
    if any(call.has(p) for p in ("serviceids", "domainids", "addonids", "clientid")):
        raise WhmcsError("Filtering GenInvoices by client or service is not supported")
    result = generate_invoices(date=timezone.localdate(), actor=call.actor)
    return {"numcreated": result.invoices, "summary": result.summary}


@action("AddInvoicePayment", category=B, scope="payments.write", required=(
    ("invoiceid", "Invoice ID Not Found"), ("transid", "Transaction ID is required"), ("gateway", "Payment gateway is required"),
), note="The same gateway + transid twice records one payment. amount defaults to the balance; date is kept.")
def add_invoice_payment(call):
    invoice = find_invoice(call)
    amount = call.decimal("amount", invoice.balance)
    received = call.date("date")
    received_at = timezone.make_aware(timezone.datetime.combine(received, timezone.datetime.min.time())) if received else None
    payment_record(invoice=invoice, amount=amount, transaction_id=call.str("transid"), gateway=call.str("gateway"),
                   actor=call.actor, fees=call.decimal("fees", Decimal("0.00")), received_at=received_at)
    return {}


@action("AddTransaction", category=B, scope="payments.write", required=(("paymentmethod", "Payment Method is required"),),
        note="A payment against an invoice (invoiceid + amountin), through the same path as AddInvoicePayment. "
             "Transactions without an invoice and money out (amountout, refunds) are not supported.")
def add_transaction(call):
    if not call.has("invoiceid"):
        raise WhmcsError("Transactions without an invoice are not supported: give invoiceid")
    if call.decimal("amountout", Decimal("0")) > 0:
        raise WhmcsError("Money out (amountout) is not supported")
    invoice = find_invoice(call)
    if call.has("userid") and call.int("userid") != invoice.client_id:
        raise WhmcsError("The invoice belongs to another client")
    payment_record(invoice=invoice, amount=call.decimal("amountin", Decimal("0")), transaction_id=call.str("transid"),
                   gateway=call.str("paymentmethod"), actor=call.actor, fees=call.decimal("fees", Decimal("0.00")),
                   note=call.str("description"))
    return {}


@action("GetTransactions", category=B, scope="payments.read")
def get_transactions(call):
    payments = filter_by(call, Payment.objects.order_by("received_at", "pk"), invoiceid=("invoice_id", "int"),
                         clientid=("client_id", "int"), transid=("transaction_id", "str"))
    rows, page = paginate(call, payments, default=1000)
    return {**page, "transactions": {"transaction": [transaction_fields(p) for p in rows]}}


@action("AddCredit", category=B, scope="credit.write", required=(
    ("clientid", "Client ID Not Found"), ("description", "Description is required"), ("amount", "Amount is required"),
), note="A staff adjustment in the credit ledger (type=add or remove); date and adminid are ignored.")
def add_credit(call):
    client = find_client(call)
    amount = call.decimal("amount")
    if amount <= 0:
        raise WhmcsError("Amount must be greater than zero")
    if call.str("type", "add").lower() == "remove":
        amount = -amount
    credit_adjust(client=client, amount=amount, reason=call.str("description"), actor=call.actor)
    client.refresh_from_db(fields=["credit_balance"])
    return {"newbalance": money(client.credit_balance)}


@action("GetCredits", category=B, scope="credit.read", required=(("clientid", "Client ID Not Found"),))
def get_credits(call):
    client = find_client(call)
    entries = list(CreditLedgerEntry.objects.filter(client=client).order_by("created_at", "pk"))
    credits = [
        {"id": e.pk, "date": when(e.created_at), "description": e.description, "amount": money(e.amount),
         "relid": e.invoice_id or 0, "type": e.get_kind_display()}
        for e in entries
    ]
    return {"totalresults": len(credits), "clientid": client.pk, "credits": {"credit": credits}}


@action("ApplyCredit", category=B, scope="credit.write", required=(
    ("invoiceid", "Invoice ID Not Found"), ("amount", "Amount is required"),
), note='amount may be "full" (the lesser of the credit and the balance).')
def apply_credit(call):
    invoice = find_invoice(call)
    amount = None if call.str("amount").lower() == "full" else call.decimal("amount")
    before = invoice.credit_applied
    invoice = invoice_pay_from_credit(invoice=invoice, actor=call.actor, amount=amount)
    return {"invoiceid": invoice.pk, "amount": money(invoice.credit_applied - before),
            "invoicepaid": "true" if invoice.status == Invoice.Status.PAID else "false"}


@action("AddBillableItem", category=B, scope="invoices.write", required=(
    ("clientid", "Client ID Not Found"), ("description", "Description is required"), ("amount", "Amount is required"),
), note="invoiceaction=duedate or nextcron invoices the item at once (one invoice, due on duedate); the portal keeps "
        "no list of uninvoiced or recurring billable items, so noinvoice, nextinvoice and recur are not supported.")
def add_billable_item(call):
    client = find_client(call)
    invoice_action = call.str("invoiceaction", "duedate").lower()
    if invoice_action not in ("duedate", "nextcron"):
        raise WhmcsError(f"invoiceaction={invoice_action} is not supported: use duedate or nextcron")
    if call.bool("recur") or call.has("recurcycle"):
        raise WhmcsError("Recurring billable items are not supported")
    amount = call.decimal("amount")
    line = Line(InvoiceItem.Kind.ITEM, call.str("description"), amount, taxable=True)
    invoice = invoice_create(client=client, lines=[line], actor=call.actor, due_date=call.date("duedate"))
    item = InvoiceItem.objects.filter(invoice=invoice).order_by("pk").first()
    return {"billableid": item.pk, "invoiceid": invoice.pk}


unsupported(B, "the portal has no quotes", "CreateQuote", "UpdateQuote", "DeleteQuote", "GetQuotes", "SendQuote", "AcceptQuote")
unsupported(B, "the portal stores no card or bank pay methods", "AddPayMethod", "UpdatePayMethod", "DeletePayMethod",
            "GetPayMethods", "CapturePayment")
unsupported(B, "payments are immutable money records; correct them with a new entry in the staff area", "UpdateTransaction")
