"""WHMCS "Billing" actions, on billing.services (invoices, payments, ledger, generation)."""
from decimal import Decimal

from django.utils import timezone

from api.whmcs.clients import find_client
from api.whmcs.registry import (
    WhmcsError, action, filter_by, get_or_error, paginate, parse_amount, truthy, unsupported,
)
from api.whmcs.shapes import (
    INVOICE_STATUS_FROM_WHMCS, ITEM_TYPES, credit_money, invoice_row, local_midnight, money, text_id, transaction_fields,
    when,
)
from billing import selectors
from billing.models import BillableItem, Invoice, InvoiceItem
from billing.services.billable import billable_item_create
from billing.services.generation import generate_invoices
from billing.services.invoice_edit import LineChange, invoice_update, new_line
from billing.services.invoices import Line, invoice_cancel, invoice_create
from billing.services.ledger import credit_adjust
from billing.services.payments import invoice_pay_from_credit, payment_record
from billing.services.transactions import payment_to_credit, refund_record, transaction_update
from portal.money import spendable

B = "Billing"
NEED_INVOICE = (("invoiceid", "Invoice ID Not Found"),)


def find_invoice(call):
    return get_or_error(selectors.invoices_with_client(), call.str("invoiceid"), "Invoice ID Not Found")


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
        note="Issued at once (numbered, Unpaid, 'Invoice Created' queued), dated `date` (default today; the due date "
             "defaults to it); draft=true is not supported; paymentmethod and taxrate are ignored (tax follows the "
             "client's country).")
def create_invoice(call):
    client = find_client(call, "userid")
    if call.bool("draft") or call.str("status").lower() == "draft":
        raise WhmcsError("Draft invoices are not supported: invoices are issued when created")
    lines = invoice_lines(call)
    if not lines:
        raise WhmcsError("No invoice items provided (itemdescription1, itemamount1, …)")
    invoice = invoice_create(client=client, lines=lines, actor=call.actor, due_date=call.date("duedate"),
                             notes=call.str("notes"), date=call.date("date"))
    return {"invoiceid": invoice.pk, "status": invoice.get_status_display()}


@action("GetInvoice", category=B, scope="invoices.read", required=NEED_INVOICE)
def get_invoice(call):
    invoice = find_invoice(call)
    items = selectors.invoice_lines(invoice)
    payments = selectors.invoice_payments(invoice)
    row = invoice_row(invoice)
    return {
        "invoiceid": text_id(invoice.pk),
        **{k: v for k, v in row.items() if k not in ("id", "firstname", "lastname", "companyname")},
        "ccgateway": False,
        "items": {"item": [
            {"id": text_id(i.pk), "type": ITEM_TYPES.get(i.kind, "Item"), "relid": text_id(i.service_id),
             "description": i.description, "amount": money(i.amount, invoice.currency), "taxed": str(int(i.taxable))}
            for i in items
        ]},
        "transactions": {"transaction": [transaction_fields(p) for p in payments]},
    }


@action("GetInvoices", category=B, scope="invoices.read")
def get_invoices(call):
    status = call.str("status").lower() if call.has("status") else None
    invoices = selectors.invoices_newest_first(
        client_id=call.int("userid") if call.has("userid") else None,
        status=INVOICE_STATUS_FROM_WHMCS.get(status, status) if status not in (None, "overdue") else None,
        overdue_on=timezone.localdate() if status == "overdue" else None,
    )
    rows, page = paginate(call, invoices)
    return {**page, "invoices": {"invoice": [invoice_row(i) for i in rows]}}


def aligned(call, name):
    """A WHMCS array as given, blanks kept so that parallel arrays stay aligned: name[]=… or name[0]=…"""
    if f"{name}[]" in call.data:
        return [str(v).strip() for v in call.data.getlist(f"{name}[]")]
    numbered = {k: v for k, v in call.mapping(name).items() if k.isdigit()}
    return [str(numbered[k]).strip() for k in sorted(numbered, key=int)]


def line_id(key, param):
    if not key.isdigit():
        raise WhmcsError(f"{param}[{key}]: the key must be the id of a line of the invoice")
    return int(key)


def invoice_line_edits(call):
    """(changes {line id: LineChange}, new lines, line ids to delete) from UpdateInvoice's parameters."""
    changes = {}
    for param, attr, convert in (("itemdescription", "description", str), ("itemamount", "amount", parse_amount),
                                 ("itemtaxed", "taxable", truthy)):
        for key, raw in call.mapping(param).items():
            change = changes.setdefault(line_id(key, param), LineChange())
            setattr(change, attr, convert(raw, f"{param}[{key}]") if convert is parse_amount else convert(raw))
    descriptions, amounts, taxed = (aligned(call, n) for n in ("newitemdescription", "newitemamount", "newitemtaxed"))
    if len(amounts) > len(descriptions):
        raise WhmcsError("Each newitemamount needs its newitemdescription")
    new = []
    for n, description in enumerate(descriptions):
        if not description:
            raise WhmcsError(f"newitemdescription[{n}] is empty")
        amount = parse_amount(amounts[n] if n < len(amounts) and amounts[n] else "0", f"newitemamount[{n}]")
        new.append(new_line(description, amount, truthy(taxed[n]) if n < len(taxed) else False))
    deletes = [line_id(v, "deletelineids") for v in call.indexed("deletelineids")]
    return changes, new, deletes


@action("UpdateInvoice", category=B, scope="invoices.write", required=NEED_INVOICE,
        note="Lines (itemdescription[id], itemamount[id], itemtaxed[id], newitemdescription[], newitemamount[], "
             "newitemtaxed[], deletelineids[]), date and duedate of an unpaid invoice; notes of any invoice; "
             "status=Cancelled. Totals are recalculated at the invoice's tax rate; money received beyond a lowered "
             "total goes to credit. Lines billing a service period cannot be deleted. taxrate, credit, datepaid and "
             "status=Paid are refused (tax follows the client's country; use ApplyCredit / AddInvoicePayment).")
def update_invoice(call):
    invoice = find_invoice(call)
    for param, use in (("taxrate", "the tax rate follows the client's country"),
                       ("taxrate2", "the tax rate follows the client's country"),
                       ("credit", "apply credit with ApplyCredit"), ("datepaid", "an invoice is paid by its payments")):
        if call.has(param):
            raise WhmcsError(f"{param} cannot be set by UpdateInvoice: {use}")
    changes, new, deletes = invoice_line_edits(call)
    edits = dict(line_changes=changes, new_lines=new, delete_ids=deletes, date=call.date("date"),
                 due_date=call.date("duedate"))
    if "notes" in call.data:
        edits["notes"] = call.str("notes")
    status = call.str("status").lower()
    if status == "cancelled":
        if changes or new or deletes or edits["date"] or edits["due_date"]:
            raise WhmcsError("Cancel an invoice on its own, without line or date changes")
        invoice_cancel(invoice=invoice, actor=call.actor, reason=call.str("notes") or "cancelled via the API")
        return {"invoiceid": invoice.pk}
    if status == "paid":
        raise WhmcsError("Mark an invoice paid by recording its payment (AddInvoicePayment) or applying credit")
    if status and INVOICE_STATUS_FROM_WHMCS.get(status, status) != invoice.status:
        raise WhmcsError(f"An invoice cannot be set to {call.str('status')} here: only status=Cancelled changes it")
    invoice_update(invoice=invoice, actor=call.actor, **edits)
    return {"invoiceid": invoice.pk}


def id_list(call, name):
    """WHMCS's comma-separated id list (serviceids=1,2), or name[]=1&name[]=2."""
    raw = [part.strip() for value in call.indexed(name) for part in value.split(",") if part.strip()]
    if not all(part.isdigit() for part in raw):
        raise WhmcsError(f"Invalid {name}: a comma-separated list of ids is expected")
    return [int(part) for part in raw]


@action("GenInvoices", category=B, scope="invoices.write",
        note="Runs the recurring invoice generator for today (due services and billable items), as the daily run "
             "does; clientid: only that client's due services and items; serviceids (comma-separated): only those "
             "services. domainids and addonids are refused (no domains or addons here).")
def gen_invoices(call):
    if any(id_list(call, p) for p in ("domainids", "addonids")):
        raise WhmcsError("The portal has no domains or addons to invoice: use serviceids or clientid")
    client_id = find_client(call).pk if call.has("clientid") else None
    service_ids = id_list(call, "serviceids") or None
    result = generate_invoices(date=timezone.localdate(), actor=call.actor, client_id=client_id,
                               service_ids=service_ids)
    return {"numcreated": result.invoices, "summary": result.summary}


def received_at(call):
    received = call.date("date")
    return local_midnight(received) if received else None


@action("AddInvoicePayment", category=B, scope="payments.write", required=(
    ("invoiceid", "Invoice ID Not Found"), ("transid", "Transaction ID is required"), ("gateway", "Payment gateway is required"),
), note="The same gateway + transid twice records one payment. amount defaults to the balance; date is kept.")
def add_invoice_payment(call):
    invoice = find_invoice(call)
    amount = call.decimal("amount", invoice.balance)
    payment_record(invoice=invoice, amount=amount, transaction_id=call.str("transid"), gateway=call.str("gateway"),
                   actor=call.actor, fees=call.decimal("fees", Decimal("0.00")), received_at=received_at(call))
    return {}


@action("AddTransaction", category=B, scope="payments.write", required=(("paymentmethod", "Payment Method is required"),),
        note="Money in (amountin) pays an invoice (invoiceid, as AddInvoicePayment) or, with credit=true and userid, "
             "goes to the client's credit. Money out (amountout) refunds a paid invoice's payments (invoiceid; the "
             "invoice becomes Refunded when all is returned) or, with credit=true and userid, the client's credit. "
             "transid is required; rate and currencyid are ignored (the client's currency).")
def add_transaction(call):
    amount_in, amount_out = call.decimal("amountin", Decimal("0")), call.decimal("amountout", Decimal("0"))
    if amount_in > 0 and amount_out > 0:
        raise WhmcsError("A transaction is money in (amountin) or money out (amountout), not both")
    if amount_in <= 0 and amount_out <= 0:
        raise WhmcsError("Give amountin (money received) or amountout (money refunded)")
    client = find_client(call, "userid") if call.has("userid") else None
    invoice = find_invoice(call) if call.has("invoiceid") and call.str("invoiceid") != "0" else None
    if call.has("transid") and selectors.payment_by_reference(gateway=call.str("paymentmethod"),
                                                              transaction_id=call.str("transid")) is not None:
        raise WhmcsError("Transaction ID must be Unique")
    if invoice is not None and client is not None and client.pk != invoice.client_id:
        raise WhmcsError("The invoice belongs to another client")
    if invoice is None and not (call.bool("credit") and call.has("userid")):
        raise WhmcsError("A transaction without an invoice is to or from the client's credit: give credit=true and "
                         "userid (or an invoiceid)")
    common = dict(transaction_id=call.str("transid"), gateway=call.str("paymentmethod"), actor=call.actor,
                  fees=call.decimal("fees", Decimal("0.00")), received_at=received_at(call), note=call.str("description"))
    if amount_out > 0:
        target = {"invoice": invoice} if invoice is not None else {"client": client}
        payment = refund_record(amount=amount_out, **target, **common)
    elif invoice is not None:
        payment = payment_record(invoice=invoice, amount=amount_in, **common).payment
    else:
        payment = payment_to_credit(client=client, amount=amount_in, **common)
    return {"transactionid": payment.pk}


@action("GetTransactions", category=B, scope="payments.read")
def get_transactions(call):
    payments = filter_by(call, selectors.payments_oldest_first(), invoiceid=("invoice_id", "int"),
                         clientid=("client_id", "int"), transid=("transaction_id", "str"))
    rows, page = paginate(call, payments, default=1000)
    return {**page, "transactions": {"transaction": [transaction_fields(p) for p in rows]}}


IMMUTABLE = {  # UpdateTransaction parameter → (Payment attribute, how to read the parameter)
    "amountin": ("amount", "decimal"), "amountout": ("amount_out", "decimal"), "invoiceid": ("invoice_id", "int"),
    "userid": ("client_id", "int"), "refundid": ("refund_of_id", "int"),
}


@action("UpdateTransaction", category=B, scope="payments.update", required=(("transactionid", "Transaction ID Not Found"),),
        note="Corrects description, transid, gateway, date and fees (audited). Amounts, invoice, client and refund link "
             "never change (sending their current values is fine), nor does credit: correct money with a new "
             "transaction (a refund or a payment). rate and currency are ignored.")
def update_transaction(call):
    payment = get_or_error(selectors.payments(), call.str("transactionid"), "Transaction ID Not Found")
    if call.bool("credit"):
        raise WhmcsError("credit cannot be set by UpdateTransaction: a transaction's money stays where it went; "
                         "record a correcting transaction instead")
    for param, (attr, kind) in IMMUTABLE.items():
        if call.has(param) and getattr(call, kind)(param) != (getattr(payment, attr) or 0):
            raise WhmcsError(f"{param} of a transaction cannot be changed: amounts, invoice and client stay as "
                             "recorded; record a correcting transaction (a refund or a new payment) instead")
    changes = {}
    for param, field in (("description", "note"), ("transid", "transaction_id"), ("gateway", "gateway")):
        if param in call.data:
            changes[field] = call.str(param)
    if call.has("date"):
        changes["received_at"] = received_at(call)
    if call.has("fees"):
        changes["fees"] = call.decimal("fees")
    transaction_update(payment=payment, actor=call.actor, **changes)
    return {"transactionid": payment.pk}


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
    return {"newbalance": credit_money(client)}


@action("GetCredits", category=B, scope="credit.read", required=(("clientid", "Client ID Not Found"),))
def get_credits(call):
    client = find_client(call)
    entries = selectors.ledger_oldest_first(client)
    credits = [
        {"id": e.pk, "date": when(e.created_at), "description": e.description, "amount": money(e.amount, client.currency),
         "relid": e.invoice_id or 0, "type": e.get_kind_display()}
        for e in entries
    ]
    return {"totalresults": len(credits), "clientid": client.pk, "credits": {"credit": credits}}


@action("ApplyCredit", category=B, scope="credit.write", required=(
    ("invoiceid", "Invoice ID Not Found"), ("amount", "Amount is required"),
), note='amount may be "full" (the lesser of the credit and the balance). WHMCS\'s refusals: "Amount exceeds '
        'customer credit balance", "Amount Exceeds Invoice Balance", "Credit Amount to apply must be greater than '
        'zero"; an invoice that is not Unpaid: "Invoice Not in Unpaid Status".')
def apply_credit(call):
    invoice = find_invoice(call)
    if invoice.status != Invoice.Status.UNPAID:
        raise WhmcsError("Invoice Not in Unpaid Status")
    credit = spendable(invoice.client.credit_balance, invoice.currency)
    if call.str("amount").lower() == "full":
        amount = min(credit, invoice.balance)
    else:
        amount = call.decimal("amount")
        if amount > credit:
            raise WhmcsError("Amount exceeds customer credit balance")
        if amount > invoice.balance:
            raise WhmcsError("Amount Exceeds Invoice Balance")
    if amount <= 0:
        raise WhmcsError("Credit Amount to apply must be greater than zero")
    invoice = invoice_pay_from_credit(invoice=invoice, actor=call.actor, amount=amount)
    return {"invoiceid": str(invoice.pk), "amount": money(amount, invoice.currency),
            "invoicepaid": "true" if invoice.status == Invoice.Status.PAID else "false"}


RECUR_CYCLES = {"day": "days", "days": "days", "week": "weeks", "weeks": "weeks", "month": "months",
                "months": "months", "year": "years", "years": "years"}


@action("AddBillableItem", category=B, scope="invoices.write", required=(
    ("clientid", "Client ID Not Found"), ("description", "Description is required"), ("amount", "Amount is required"),
), note="invoiceaction noinvoice, nextcron, nextinvoice, duedate (default) or recur (with recur, recurcycle "
        "Days/Weeks/Months/Years and recurfor; 0 = until stopped): the recurring invoice generator bills it "
        "(billing.services.billable). amount is the item's total; hours/quantity are not kept.")
def add_billable_item(call):
    client = find_client(call)
    invoice_action = call.str("invoiceaction", "duedate").lower()
    recur_every = recur_for = 0
    recur_cycle = ""
    if invoice_action == "recur":
        recur_every = call.int("recur", 0)
        recur_cycle = RECUR_CYCLES.get(call.str("recurcycle").lower())
        recur_for = call.int("recurfor", 0)
        if recur_every < 1:
            raise WhmcsError("recur must be a whole number of at least 1 (invoice every recur recurcycle)")
        if recur_cycle is None:
            raise WhmcsError("recurcycle must be Days, Weeks, Months or Years")
        if recur_for < 0:
            raise WhmcsError("recurfor must be 0 (until stopped) or more")
        invoice_action = BillableItem.InvoiceAction.DUE_DATE
    elif invoice_action not in BillableItem.InvoiceAction.values:
        raise WhmcsError("invoiceaction must be noinvoice, nextcron, nextinvoice, duedate or recur")
    elif any(call.has(p) for p in ("recur", "recurcycle", "recurfor")):
        raise WhmcsError("recur, recurcycle and recurfor apply to invoiceaction=recur")
    amount = call.decimal("amount")
    if amount < 0:
        raise WhmcsError("Amount cannot be negative")
    item = billable_item_create(
        client=client, description=call.str("description"), amount=amount, actor=call.actor,
        invoice_action=invoice_action, due_date=call.date("duedate"), recur_every=recur_every,
        recur_cycle=recur_cycle, recur_for=recur_for,
    )
    return {"billableid": item.pk}


unsupported(B, "the portal has no quotes", "CreateQuote", "UpdateQuote", "DeleteQuote", "GetQuotes", "SendQuote", "AcceptQuote")
unsupported(B, "the portal stores no card or bank pay methods", "AddPayMethod", "UpdatePayMethod", "DeletePayMethod",
            "GetPayMethods", "CapturePayment")
