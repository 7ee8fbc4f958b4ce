"""Invoices and their items, transactions (tblaccounts) as payments and refunds, the credit history, each
client's credit balance, and the per-client totals checked against WHMCS's."""
from decimal import Decimal

from django.db.models import DecimalField, F, OuterRef, Subquery, Sum, Value
from django.db.models.functions import Coalesce

from billing.models import CreditLedgerEntry, Invoice, InvoiceItem, Payment
from portal.models import Client
from whmcs_import.source import day, moment, text
from whmcs_import.writer import READ_BATCH, Keep, chunked, insert_rows, sync

ZERO = Decimal("0.00")
INVOICE_STATUS = {"Draft": Invoice.Status.DRAFT, "Unpaid": Invoice.Status.UNPAID, "Paid": Invoice.Status.PAID,
                  "Cancelled": Invoice.Status.CANCELLED, "Refunded": Invoice.Status.REFUNDED,
                  "Collections": Invoice.Status.UNPAID, "Payment Pending": Invoice.Status.UNPAID}
ITEM_KIND = {"hosting": InvoiceItem.Kind.SERVICE, "setup": InvoiceItem.Kind.SETUP, "upgrade": InvoiceItem.Kind.UPGRADE,
             "addfunds": InvoiceItem.Kind.ADD_FUNDS, "promohosting": InvoiceItem.Kind.DISCOUNT}
SERVICE_ITEM_TYPES = ("hosting", "promohosting", "setup")  # their relid is a tblhosting id
INVOICE_FIELDS = ["client_id", "number", "kind", "status", "currency", "date", "due_date", "paid_at", "cancelled_at",
                  "subtotal", "tax_rate", "tax_rate2", "tax", "total", "credit_applied", "amount_paid", "notes",
                  "created_at", "prices_include_tax", "tax_rounding"]
ITEM_FIELDS = ["invoice_id", "service_id", "kind", "description", "amount", "taxable"]
PAYMENT_FIELDS = ["invoice_id", "client_id", "amount", "amount_out", "fees", "currency", "gateway", "transaction_id",
                  "received_at", "note"]
CREDIT_FIELDS = ["client_id", "created_at", "kind", "amount", "description", "invoice_id", "idempotency_key"]


def _grouped(run, sql):
    return {row["k"]: row["v"] for row in run.source.rows(sql)}


def import_invoices(run):
    paid = _grouped(run, "SELECT invoiceid AS k, SUM(amountin) - SUM(amountout) AS v FROM tblaccounts "
                         "WHERE invoiceid > 0 GROUP BY invoiceid")
    add_funds = _grouped(run, "SELECT invoiceid AS k, 1 AS v FROM tblinvoiceitems WHERE invoiceid IN "
                              "(SELECT invoiceid FROM tblinvoiceitems WHERE type = 'AddFunds') "
                              "GROUP BY invoiceid HAVING SUM(type <> 'AddFunds') = 0")
    mapped = set(run.mapping.of("tblinvoices").values())
    used = set()
    run.progress.start("invoices", run.source.count("tblinvoices"))
    for rows in run.source.chunks(
            "SELECT id, userid, invoicenum, date, duedate, datepaid, subtotal, credit, tax, tax2, total, taxrate, "
            "taxrate2, status, notes, created_at, updated_at FROM tblinvoices ORDER BY id"):
        numbers = [text(r["invoicenum"]) or str(r["id"]) for r in rows]
        used.update(n for pk, n in Invoice.objects.filter(number__in=numbers).values_list("pk", "number") if pk not in mapped)
        records = []
        for row, number in zip(rows, numbers):
            if row["userid"] not in run.clients:
                run.report.skip("tblinvoices", row["id"], "its client does not exist in WHMCS")
                continue
            if number in used:
                run.report.change("tblinvoices", row["id"], f"number {number!r} already used: suffixed with its WHMCS id")
                number = f"{number}-W{row['id']}"
            used.add(number)
            if row["taxrate"] or row["tax"] or row["taxrate2"] or row["tax2"]:
                run.invoice_taxes[row["id"]] = (row["userid"], row["taxrate"], row["tax"], row["taxrate2"], row["tax2"])
            records.append((str(row["id"]), _invoice(run, row, number, paid.get(row["id"], ZERO), row["id"] in add_funds)))
        run.invoices.update({int(k): v for k, v in sync(run, Invoice, "tblinvoices", records, INVOICE_FIELDS).items()})
        run.progress.advance(len(rows))
    run.progress.finish()


def _invoice(run, row, number, paid, add_funds):
    status = INVOICE_STATUS.get(text(row["status"]))
    if status is None or text(row["status"]) in ("Collections", "Payment Pending"):
        run.report.change("tblinvoices", row["id"], f"status {row['status']!r} imported as unpaid")
        status = status or Invoice.Status.UNPAID
    date = day(row["date"]) or day(row["duedate"]) or day(row["created_at"])
    if date is None:  # no date at all in WHMCS: the first import's day, kept by later runs
        run.report.change("tblinvoices", row["id"], "no date (0000-00-00): the day of the first import is used")
        date = run.started_at.date()
        return {**_invoice_values(run, row, number, paid, add_funds, status, date),
                "date": Keep(date), "due_date": Keep(date), "created_at": Keep(run.started_at)}
    return _invoice_values(run, row, number, paid, add_funds, status, date)


def _invoice_values(run, row, number, paid, add_funds, status, date):
    return {
        "client_id": run.clients[row["userid"]], "number": number[:40],
        "kind": Invoice.Kind.ADD_FUNDS if add_funds else Invoice.Kind.STANDARD, "status": status,
        "currency": run.client_currency[row["userid"]], "date": date, "due_date": day(row["duedate"]) or date,
        "paid_at": moment(row["datepaid"]) if status in (Invoice.Status.PAID, Invoice.Status.REFUNDED) else None,
        "cancelled_at": (moment(row["updated_at"]) or moment(date)) if status == Invoice.Status.CANCELLED else None,
        "subtotal": row["subtotal"], "tax_rate": row["taxrate"],
        "tax_rate2": row["taxrate2"], "tax": row["tax"] + row["tax2"], "total": row["total"],
        "credit_applied": row["credit"], "amount_paid": paid or ZERO, "notes": text(row["notes"]),
        "created_at": moment(row["created_at"]) or moment(date),
        # How WHMCS figured the tax (TaxType, TaxPerLineItem), recorded on the invoice as the portal does at issue.
        "prices_include_tax": run.tax_inclusive, "tax_rounding": run.tax_rounding,
    }


def import_invoice_items(run):
    """An invoice's items are imported as a set: the items of an invoice created by this run are inserted; those
    of an invoice imported before are compared with WHMCS's and replaced when they differ. (No mapping row per
    item: items are referenced by nothing, and 400,000 mapping rows cost more than the comparison.)"""
    new_invoices = {int(w) for w in run.created.get("tblinvoices", ())}
    pending, current_invoice = [], None
    run.progress.start("invoice items", run.source.count("tblinvoiceitems"))
    for rows in run.source.chunks("SELECT id, invoiceid, type, relid, description, amount, taxed FROM tblinvoiceitems "
                                  "ORDER BY invoiceid, id", size=10000):
        for row in rows:
            if row["invoiceid"] not in run.invoices:
                run.report.skip("tblinvoiceitems", row["id"], "its invoice was not imported")
                continue
            if row["invoiceid"] != current_invoice and len(pending) >= 5000:
                _write_items(run, pending, new_invoices)  # whole invoices only: the next row starts another
                pending = []
            current_invoice = row["invoiceid"]
            pending.append(row)
        run.progress.advance(len(rows))
    _write_items(run, pending, new_invoices)
    run.progress.finish()


def _item(run, row):
    kind = text(row["type"]).lower()
    return {"invoice_id": run.invoices[row["invoiceid"]],
            "service_id": run.services.get(row["relid"]) if kind in SERVICE_ITEM_TYPES else None,
            "kind": ITEM_KIND.get(kind, InvoiceItem.Kind.ITEM),
            "description": text(row["description"], 500) or "(no description)", "amount": row["amount"],
            "taxable": bool(row["taxed"])}


def _write_items(run, rows, new_invoices):
    wanted = {}
    for row in rows:
        wanted.setdefault(row["invoiceid"], []).append(_item(run, row))
    earlier = {run.invoices[w]: w for w in wanted if w not in new_invoices}
    current = {}
    if earlier:
        for values in (InvoiceItem.objects.filter(invoice_id__in=list(earlier)).order_by("sort_order", "id")
                       .values("invoice_id", *ITEM_FIELDS[1:])):
            current.setdefault(values["invoice_id"], []).append(values)
    replace, insert = [], []
    for whmcs_invoice, items in wanted.items():
        pk = run.invoices[whmcs_invoice]
        if pk in earlier and _same_items(current.get(pk, []), items):
            run.report.count("tblinvoiceitems", "unchanged", len(items))
            continue
        if pk in earlier:
            replace.append(pk)
        run.report.count("tblinvoiceitems", "updated" if pk in earlier else "created", len(items))
        insert.extend(items)
    for batch in chunked(replace, READ_BATCH):
        InvoiceItem.objects.filter(invoice_id__in=batch).delete()
    insert_rows(InvoiceItem, insert, returning=False)


def _same_items(current, wanted):
    key = lambda item: tuple(item[name] for name in ITEM_FIELDS)  # noqa: E731
    return len(current) == len(wanted) and all(key(a) == key(b) for a, b in zip(current, wanted))


def import_transactions(run):
    mapped = set(run.mapping.of("tblaccounts").values())
    used, refunds = set(), []
    run.progress.start("transactions", run.source.count("tblaccounts"))
    for rows in run.source.chunks("SELECT id, userid, currency, gateway, date, description, amountin, fees, "
                                  "amountout, transid, invoiceid, refundid FROM tblaccounts ORDER BY id", size=10000):
        keys = [(text(r["gateway"], 40) or "manual", text(r["transid"], 120) or f"whmcs-{r['id']}") for r in rows]
        existing = Payment.objects.filter(gateway__in={k[0] for k in keys}, transaction_id__in=[k[1] for k in keys]
                                          ).values_list("pk", "gateway", "transaction_id")  # the unique index
        used.update((gateway, transid) for pk, gateway, transid in existing if pk not in mapped)
        records = []
        for row, (gateway, transid) in zip(rows, keys):
            if row["userid"] not in run.clients:
                run.report.skip("tblaccounts", row["id"], "not a client's transaction (no client, or the client "
                                "does not exist in WHMCS)")
                continue
            if (gateway, transid) in used:
                suffix = f" (WHMCS #{row['id']})"
                transid = transid[:120 - len(suffix)] + suffix
                run.report.change("tblaccounts", row["id"], "transaction id repeated: suffixed with its WHMCS id")
            used.add((gateway, transid))
            if row["refundid"]:
                refunds.append((str(row["id"]), row["refundid"]))
            records.append((str(row["id"]), {
                "invoice_id": run.invoices.get(row["invoiceid"]), "client_id": run.clients[row["userid"]],
                "amount": row["amountin"], "amount_out": row["amountout"], "fees": row["fees"],
                "currency": run.currencies.get(row["currency"]) or run.client_currency[row["userid"]],
                "gateway": gateway, "transaction_id": transid,
                "received_at": moment(row["date"]) or Keep(run.started_at), "note": text(row["description"], 255)}))
        sync(run, Payment, "tblaccounts", records, PAYMENT_FIELDS)
        run.progress.advance(len(rows))
    run.progress.finish()
    _link_refunds(run, refunds)


def _link_refunds(run, refunds):
    """A refund's refundid is the transaction it returns money from: linked once every transaction has its row."""
    mapping = run.mapping.of("tblaccounts")
    links = {mapping[w]: mapping.get(str(original)) for w, original in refunds if w in mapping}
    current = dict(Payment.objects.filter(pk__in=list(links)).values_list("pk", "refund_of_id"))
    changed = [Payment(pk=pk, refund_of_id=original) for pk, original in links.items() if current.get(pk) != original]
    Payment.objects.bulk_update(changed, ["refund_of_id"], batch_size=1000)


def credit_kind(description, amount):
    lower = description.lower()
    if "applied to invoice" in lower:
        return CreditLedgerEntry.Kind.INVOICE_PAYMENT
    if "overpayment" in lower:
        return CreditLedgerEntry.Kind.OVERPAYMENT
    if "add funds" in lower or "added funds" in lower:
        return CreditLedgerEntry.Kind.TOPUP
    if "refund" in lower:
        return CreditLedgerEntry.Kind.REFUND
    return CreditLedgerEntry.Kind.ADJUSTMENT


def import_credit(run):
    """tblcredit as the credit ledger; where a client's history does not add up to the balance WHMCS shows
    (tblclients.credit), one opening-balance entry makes up the difference, and the report lists it."""
    records, history = [], {}
    for row in run.source.rows("SELECT * FROM tblcredit ORDER BY id"):
        if row["clientid"] not in run.clients:
            run.report.skip("tblcredit", row["id"], "its client does not exist in WHMCS")
            continue
        description = text(row["description"], 255) or "Credit (WHMCS)"
        history[row["clientid"]] = history.get(row["clientid"], ZERO) + row["amount"]
        records.append((str(row["id"]), {
            "client_id": run.clients[row["clientid"]], "created_at": moment(row["date"]) or Keep(run.started_at),
            "kind": credit_kind(description, row["amount"]), "amount": row["amount"], "description": description,
            "invoice_id": run.invoices.get(row["relid"]) if "invoice" in description.lower() else None,
            "idempotency_key": f"whmcs:tblcredit:{row['id']}"}))
    sync(run, CreditLedgerEntry, "tblcredit", records, CREDIT_FIELDS)
    balancing = []
    for whmcs_client, balance in run.whmcs_credit.items():
        difference = (balance or ZERO) - history.get(whmcs_client, ZERO)
        if difference and whmcs_client in run.clients:
            run.report.change("tblclients", whmcs_client, "credit history does not add up to the credit balance: "
                              "an opening-balance entry makes up the difference")
            balancing.append((f"balance:{whmcs_client}", {
                "client_id": run.clients[whmcs_client], "created_at": Keep(run.started_at),
                "kind": CreditLedgerEntry.Kind.ADJUSTMENT, "amount": difference,
                "description": "Opening balance from WHMCS (the credit history did not add up to it)",
                "invoice_id": None, "idempotency_key": f"whmcs:balance:{whmcs_client}"}))
    sync(run, CreditLedgerEntry, "tblcredit (opening balance)", balancing, CREDIT_FIELDS)
    _refresh_balances(run)


def _refresh_balances(run):
    ledger = (CreditLedgerEntry.objects.filter(client=OuterRef("pk")).order_by().values("client")
              .annotate(total=Sum("amount")).values("total"))
    for batch in chunked(list(run.clients.values()), READ_BATCH):
        Client.objects.filter(pk__in=batch).update(credit_balance=Coalesce(
            Subquery(ledger, output_field=DecimalField(max_digits=14, decimal_places=4)), Value(Decimal("0"))))


def check_totals(run):
    """Per client: the sum of invoice totals, the amount paid (money in less money out) and the credit balance,
    in WHMCS and in the portal; every difference goes into the report."""
    whmcs = {
        "invoice totals": _grouped(run, "SELECT userid AS k, SUM(total) AS v FROM tblinvoices GROUP BY userid"),
        "amount paid": _grouped(run, "SELECT userid AS k, SUM(amountin) - SUM(amountout) AS v FROM tblaccounts "
                                     "WHERE userid > 0 GROUP BY userid"),
        "credit": dict(run.whmcs_credit),
    }
    portal = {"invoice totals": {}, "amount paid": {}, "credit": {}}
    back = {pk: whmcs_id for whmcs_id, pk in run.clients.items()}
    for batch in chunked(list(back), READ_BATCH):
        for row in Invoice.objects.filter(client_id__in=batch).values("client_id").annotate(s=Sum("total")).order_by():
            portal["invoice totals"][back[row["client_id"]]] = row["s"]
        for row in (Payment.objects.filter(client_id__in=batch).values("client_id")
                    .annotate(s=Sum(F("amount") - F("amount_out"))).order_by()):
            portal["amount paid"][back[row["client_id"]]] = row["s"]
        for pk, credit in Client.objects.filter(pk__in=batch).values_list("pk", "credit_balance"):
            portal["credit"][back[pk]] = credit
    for what in whmcs:
        for client in sorted(run.clients):
            theirs, ours = whmcs[what].get(client) or ZERO, portal[what].get(client) or ZERO
            if Decimal(theirs).quantize(Decimal("0.01")) != Decimal(ours).quantize(Decimal("0.01")):
                run.report.differences.append({"client": client, "what": what, "whmcs": theirs, "portal": ours})
