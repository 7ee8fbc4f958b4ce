"""WHMCS actions built on the portal's client-close, contact, invoice-editing, transaction and billable-item
features: their parameters, response shapes, errors and permissions."""
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from billing.models import BillableItem, CreditLedgerEntry, Invoice, Payment, Service
from portal.activity import Actor
from portal.models import ActivityLog, Client, Contact
from provisioning import lifecycle
from tests.api.conftest import Whmcs, make_key
from tests.factories import ProductFactory, ServiceFactory, StaffFactory

pytestmark = pytest.mark.django_db


def invoice(whmcs, owner, *amounts):
    params = {}
    for n, amount in enumerate(amounts, start=1):
        params |= {f"itemdescription{n}": f"Line {n}", f"itemamount{n}": amount, f"itemtaxed{n}": "1"}
    Client.objects.filter(pk=owner.pk).update(apply_credit_to_invoices=False)
    created = whmcs("CreateInvoice", userid=owner.pk, **params)
    return Invoice.objects.get(pk=created["invoiceid"])


# CloseClient ------------------------------------------------------------------------------------------------

def test_close_client_cancels_services_and_unpaid_invoices(whmcs, owner):
    service = ServiceFactory(client=owner, status=Service.Status.PENDING, product=ProductFactory(module="fake"))
    lifecycle.service_create(service=service, actor=Actor.system("t"))
    unpaid = invoice(whmcs, owner, "10.00")
    assert whmcs("CloseClient", clientid=owner.pk) == {"result": "success", "clientid": owner.pk}
    assert Client.objects.get(pk=owner.pk).status == Client.Status.CLOSED
    assert Service.objects.get(pk=service.pk).status == Service.Status.CANCELLED
    assert Invoice.objects.get(pk=unpaid.pk).status == Invoice.Status.CANCELLED
    assert whmcs("GetClientsDetails", clientid=owner.pk)["status"] == "Closed"
    entry = ActivityLog.objects.get(action="client.close")
    assert entry.actor_type == "api" and entry.actor_label == "api:integration"


def test_close_client_reports_services_whose_module_failed(whmcs, owner):
    from portal.activity import Actor
    from provisioning.modules.fake import FakeModule

    service = ServiceFactory(client=owner, status=Service.Status.PENDING, product=ProductFactory(module="fake"))
    lifecycle.service_create(service=service, actor=Actor.system("t"))
    FakeModule.fail_next("terminate", "Timeout")
    answer = whmcs("CloseClient", clientid=owner.pk)
    assert answer == {"result": "success", "clientid": owner.pk,
                      "failed": {"service": [{"id": service.pk, "domain": service.domain, "message": "Timeout"}]}}


def test_close_client_needs_the_close_permission_and_an_existing_client(client, whmcs, owner):
    writer = Whmcs(client, make_key(name="writer", permissions=["clients.write"]))
    assert writer("CloseClient", clientid=owner.pk)["message"] == 'Invalid Permissions: API action "closeclient" is not allowed'
    # The scope stands for the power to terminate: a staff owner without it cannot lend it to a key.
    clerk = StaffFactory()
    from django.contrib.auth.models import Permission

    clerk.user_permissions.add(Permission.objects.get(codename="change_client"))
    assert Whmcs(client, make_key(owner=clerk, permissions=["clients.close"]))("CloseClient", clientid=owner.pk)[
        "message"] == 'Invalid Permissions: API action "closeclient" is not allowed'
    assert whmcs("CloseClient", clientid=999999) == {"result": "error", "message": "Client ID Not Found"}
    assert whmcs("CloseClient") == {"result": "error", "message": "Client ID Not Found"}
    assert Client.objects.get(pk=owner.pk).status == Client.Status.ACTIVE
    assert whmcs("DeleteClient", clientid=999999) == {"result": "error", "message": "Client ID Not Found"}


def test_update_client_sets_inactive_reopens_and_closes(whmcs, owner):
    assert whmcs("UpdateClient", clientid=owner.pk, status="Inactive") == {"result": "success", "clientid": owner.pk}
    assert Client.objects.get(pk=owner.pk).status == Client.Status.INACTIVE
    entry = ActivityLog.objects.get(action="client.status")
    assert (entry.data, entry.actor_label) == ({"from": "active", "to": "inactive"}, "api:integration")
    unpaid = invoice(whmcs, owner, "10.00")
    assert whmcs("UpdateClient", clientid=owner.pk, status="closed")["result"] == "success"
    assert Client.objects.get(pk=owner.pk).status == Client.Status.CLOSED
    assert Invoice.objects.get(pk=unpaid.pk).status == Invoice.Status.CANCELLED  # closed as CloseClient closes
    assert whmcs("UpdateClient", clientid=owner.pk, status="Active")["result"] == "success"
    assert Client.objects.get(pk=owner.pk).status == Client.Status.ACTIVE
    assert list(ActivityLog.objects.filter(action="client.status").values_list("data", flat=True).order_by("pk")) == [
        {"from": "active", "to": "inactive"}, {"from": "closed", "to": "active"}]


def test_update_client_status_errors_change_nothing(client, whmcs, owner):
    assert whmcs("UpdateClient", clientid=owner.pk, status="Frozen", city="Oslo") == {
        "result": "error", "message": "Invalid status: use Active, Inactive or Closed"}
    writer = Whmcs(client, make_key(name="writer", permissions=["clients.write"]))
    assert writer("UpdateClient", clientid=owner.pk, status="Closed", city="Oslo") == {
        "result": "error", "message": 'Invalid Permissions: API action "updateclient" is not allowed'}
    owner.refresh_from_db()
    assert (owner.status, owner.city == "Oslo") == (Client.Status.ACTIVE, False)
    assert not ActivityLog.objects.filter(action__in=["client.status", "client.close", "client.profile_update"]).exists()


# Contacts ---------------------------------------------------------------------------------------------------

def test_add_update_get_and_delete_a_contact(whmcs, owner, other_client):
    added = whmcs("AddContact", clientid=owner.pk, firstname="Ann", lastname="Ledger", email="ann@example.com",
                  phonenumber="+1 902 555 0100", country="ca", invoiceemails="1", productemails="0")
    contact = Contact.objects.get(pk=added["contactid"])
    assert added == {"result": "success", "contactid": contact.pk}
    assert (contact.client, contact.country, contact.invoice_emails, contact.product_emails) == (owner, "CA", True, False)
    Contact.objects.create(client=other_client, first_name="Other", email="other@example.com")
    listed = whmcs("GetContacts", userid=owner.pk)
    assert (listed["totalresults"], listed["numreturned"]) == (1, 1)
    assert listed["contacts"]["contact"][0] == {
        "id": contact.pk, "userid": owner.pk, "firstname": "Ann", "lastname": "Ledger", "companyname": "",
        "email": "ann@example.com", "address1": "", "address2": "", "city": "", "state": "", "postcode": "",
        "country": "CA", "phonenumber": "+19025550100", "subaccount": 0, "permissions": "", "generalemails": 0,
        "invoiceemails": 1, "productemails": 0, "domainemails": 0, "supportemails": 0,
    }
    assert whmcs("GetContacts", email="OTHER@example.com")["contacts"]["contact"][0]["firstname"] == "Other"
    assert whmcs("GetContacts")["totalresults"] == 2
    assert whmcs("UpdateContact", contactid=contact.pk, city="Ottawa", generalemails="true") == {
        "result": "success", "contactid": contact.pk}
    contact.refresh_from_db()
    assert (contact.city, contact.general_emails, contact.invoice_emails, contact.first_name) == ("Ottawa", True, True, "Ann")
    assert whmcs("DeleteContact", contactid=contact.pk) == {"result": "success"}
    assert not Contact.objects.filter(pk=contact.pk).exists()
    assert [e.action for e in ActivityLog.objects.filter(action__startswith="contact.").order_by("pk")] == [
        "contact.create", "contact.update", "contact.delete"]


def test_contact_errors_change_nothing(whmcs, owner):
    Contact.objects.create(client=owner, first_name="Ann", email="ann@example.com")
    assert whmcs("AddContact", clientid=owner.pk, firstname="A")["message"] == "You did not enter your email address"
    assert whmcs("AddContact", clientid=424242, email="x@example.com")["message"] == "Client ID Not Found"
    assert whmcs("AddContact", clientid=owner.pk, firstname="B", email="ANN@example.com")["message"] == (
        "email: This client already has a contact with that e-mail address.")
    assert whmcs("AddContact", clientid=owner.pk, firstname="B", email="b@example.com", password2="secret")[
        "message"].startswith("Contacts with a login (sub-accounts) are not supported")
    assert whmcs("AddContact", clientid=owner.pk, email="nameless@example.com")["message"].startswith("first_name:")
    assert whmcs("UpdateContact", contactid=999999, city="x") == {"result": "error", "message": "Contact ID Not Found"}
    assert whmcs("DeleteContact", contactid=999999) == {"result": "error", "message": "Contact ID Not Found"}
    assert Contact.objects.count() == 1


def test_contacts_need_client_scopes(client, owner):
    reader = Whmcs(client, make_key(name="reader", permissions=["clients.read"]))
    assert reader("GetContacts")["result"] == "success"
    assert reader("AddContact", clientid=owner.pk, firstname="A", email="a@example.com")["message"] == (
        'Invalid Permissions: API action "addcontact" is not allowed')
    assert not Contact.objects.exists()


# UpdateInvoice ----------------------------------------------------------------------------------------------

def test_update_invoice_edits_adds_and_deletes_lines(whmcs, owner):
    inv = invoice(whmcs, owner, "10.00", "20.00", "5.00")
    first, second, third = inv.items.order_by("sort_order")
    answer = whmcs(
        "UpdateInvoice", invoiceid=inv.pk, **{
            f"itemdescription[{first.pk}]": "Consulting", f"itemamount[{first.pk}]": "12.00", f"itemtaxed[{second.pk}]": "0",
            "newitemdescription[]": ["Extra A", "Extra B"], "newitemamount[]": ["1.50", "2.50"], "newitemtaxed[]": ["1", "0"],
            "deletelineids[]": [third.pk], "duedate": "2030-01-15", "notes": "Revised",
        })
    assert answer == {"result": "success", "invoiceid": inv.pk}
    shown = whmcs("GetInvoice", invoiceid=inv.pk)
    assert [(i["description"], i["amount"], i["taxed"]) for i in shown["items"]["item"]] == [
        ("Consulting", "12.00", "1"), ("Line 2", "20.00", "0"), ("Extra A", "1.50", "1"), ("Extra B", "2.50", "0")]
    assert (shown["subtotal"], shown["total"], shown["duedate"], shown["notes"]) == ("36.00", "36.00", "2030-01-15", "Revised")


def test_update_invoice_refuses_paid_invoices_and_bad_edits(whmcs, owner):
    inv = invoice(whmcs, owner, "10.00")
    line = inv.items.get()
    assert whmcs("UpdateInvoice", invoiceid=inv.pk, **{f"itemamount[{line.pk}]": "abc"})["message"] == (
        f"Invalid itemamount[{line.pk}]: an amount such as 10.00 is expected")
    assert whmcs("UpdateInvoice", invoiceid=inv.pk, **{"itemamount[first]": "1"})["message"] == (
        "itemamount[first]: the key must be the id of a line of the invoice")
    assert whmcs("UpdateInvoice", invoiceid=inv.pk, **{"deletelineids[]": [line.pk]})["message"] == (
        "An invoice needs at least one line: cancel the invoice instead.")
    assert whmcs("UpdateInvoice", invoiceid=inv.pk, taxrate="5")["message"] == (
        "taxrate cannot be set by UpdateInvoice: the tax rate follows the client's country")
    assert whmcs("UpdateInvoice", invoiceid=inv.pk, status="Paid")["message"].startswith("Mark an invoice paid")
    assert whmcs("UpdateInvoice", invoiceid=inv.pk, status="Cancelled", duedate="2030-01-01")["message"] == (
        "Cancel an invoice on its own, without line or date changes")
    whmcs("AddInvoicePayment", invoiceid=inv.pk, transid="T1", gateway="manual")
    refused = whmcs("UpdateInvoice", invoiceid=inv.pk, **{f"itemamount[{line.pk}]": "1.00"})
    assert refused == {"result": "error", "message": f"Invoice {inv.number} is paid: only an unpaid invoice's lines "
                                                     "and dates can be changed."}
    assert whmcs("UpdateInvoice", invoiceid=inv.pk, status="Unpaid")["message"] == (
        "An invoice cannot be set to Unpaid here: only status=Cancelled changes it")
    assert whmcs("UpdateInvoice", invoiceid=inv.pk, notes="PO 77")["result"] == "success"
    inv.refresh_from_db()
    assert (inv.total, inv.notes, inv.items.get().amount) == (Decimal("10.00"), "PO 77", Decimal("10.00"))


# Transactions -----------------------------------------------------------------------------------------------

def test_add_transaction_to_credit_and_refunds(whmcs, owner):
    to_credit = whmcs("AddTransaction", paymentmethod="wire", userid=owner.pk, credit="true", amountin="40.00",
                      transid="W-1", description="Prepayment", date="2026-11-02")
    assert to_credit["result"] == "success"
    payment = Payment.objects.get(pk=to_credit["transactionid"])
    assert (payment.invoice, payment.amount, payment.note, timezone.localdate(payment.received_at)) == (
        None, Decimal("40.00"), "Prepayment", date(2026, 11, 2))
    assert Client.objects.get(pk=owner.pk).credit_balance == Decimal("40.00")
    refund = whmcs("AddTransaction", paymentmethod="wire", userid=owner.pk, credit="1", amountout="15.00", transid="W-2")
    assert Client.objects.get(pk=owner.pk).credit_balance == Decimal("25.00")
    inv = invoice(whmcs, owner, "30.00")
    whmcs("AddInvoicePayment", invoiceid=inv.pk, transid="P-1", gateway="card")
    partial = whmcs("AddTransaction", paymentmethod="card", invoiceid=inv.pk, amountout="10.00", transid="R-1")
    listed = whmcs("GetTransactions", invoiceid=inv.pk)["transactions"]["transaction"]
    paid_in = Payment.objects.get(transaction_id="P-1")
    assert [(t["amountin"], t["amountout"], t["refundid"], t["description"]) for t in listed] == [
        ("30.00", "0.00", "0", f"Invoice Payment (#{inv.pk})"), ("0.00", "10.00", str(paid_in.pk), f"Refund of Invoice Payment (#{inv.pk})")]
    assert whmcs("GetInvoice", invoiceid=inv.pk)["status"] == "Paid"
    whmcs("AddTransaction", paymentmethod="card", invoiceid=inv.pk, amountout="20.00", transid="R-2")
    assert whmcs("GetInvoice", invoiceid=inv.pk)["status"] == "Refunded"
    by_client = whmcs("GetTransactions", clientid=owner.pk)["transactions"]["transaction"]
    assert [t["id"] for t in by_client if t["invoiceid"] == "0"] == [str(to_credit["transactionid"]), str(refund["transactionid"])]
    assert str(partial["transactionid"]) in [t["id"] for t in by_client]
    assert whmcs("GetTransactions", transid="W-2")["transactions"]["transaction"][0]["description"] == "Credit Refund"


@pytest.mark.parametrize("params, message", [
    ({"amountin": "5", "amountout": "5", "invoiceid": 1}, "A transaction is money in (amountin) or money out (amountout), not both"),
    ({"amountin": "0"}, "Give amountin (money received) or amountout (money refunded)"),
    ({"amountin": "5", "userid": "OWNER"}, "A transaction without an invoice is to or from the client's credit: give "
                                           "credit=true and userid (or an invoiceid)"),
    ({"amountout": "5", "userid": "OWNER", "credit": "1", "transid": "x"}, "amount_out: Refund at most 0.00 USD (the client's credit)."),
    ({"amountin": "5", "userid": "OWNER", "credit": "1"}, "transaction_id: Give the transaction id (the bank or gateway reference)."),
    ({"amountin": "5", "userid": 999999, "credit": "1", "transid": "x"}, "Client ID Not Found"),
    ({"amountin": "5", "invoiceid": 999999}, "Invoice ID Not Found"),
])
def test_add_transaction_errors_record_nothing(whmcs, owner, params, message):
    params = {k: owner.pk if v == "OWNER" else v for k, v in params.items()}
    assert whmcs("AddTransaction", paymentmethod="wire", **params) == {"result": "error", "message": message}
    assert not Payment.objects.exists() and not CreditLedgerEntry.objects.exists()


def test_update_transaction_corrects_the_record_not_the_money(whmcs, owner):
    inv = invoice(whmcs, owner, "30.00")
    whmcs("AddInvoicePayment", invoiceid=inv.pk, transid="typo", gateway="manual")
    payment = Payment.objects.get()
    answer = whmcs("UpdateTransaction", transactionid=payment.pk, transid="TX-9", gateway="wire", description="Wire",
                   date="2026-11-03", fees="0.75", amountin="30.00", invoiceid=inv.pk, userid=owner.pk)
    assert answer == {"result": "success", "transactionid": payment.pk}
    payment.refresh_from_db()
    assert (payment.transaction_id, payment.gateway, payment.note, payment.fees, timezone.localdate(payment.received_at)) == (
        "TX-9", "wire", "Wire", Decimal("0.75"), date(2026, 11, 3))
    assert ActivityLog.objects.get(action="payment.update").data["changes"]["transaction_id"] == ["typo", "TX-9"]
    for params in ({"amountin": "31.00"}, {"amountout": "1"}, {"invoiceid": inv.pk + 1}, {"userid": owner.pk + 1}):
        refused = whmcs("UpdateTransaction", transactionid=payment.pk, **params)
        assert refused["result"] == "error" and "cannot be changed" in refused["message"]
    assert whmcs("UpdateTransaction", transactionid=payment.pk, credit="true")["message"].startswith(
        "credit cannot be set by UpdateTransaction")
    assert whmcs("UpdateTransaction", transactionid=payment.pk, fees="-0.75")["result"] == "success"  # fees returned
    assert whmcs("UpdateTransaction", transactionid=999999)["message"] == "Transaction ID Not Found"
    payment.refresh_from_db()
    assert (payment.amount, payment.amount_out, payment.invoice_id, payment.fees) == (
        Decimal("30.00"), Decimal("0.00"), inv.pk, Decimal("-0.75"))


def test_update_transaction_needs_the_update_scope(client, owner):
    recorder = Whmcs(client, make_key(name="recorder", permissions=["payments.write", "payments.read"]))
    assert recorder("UpdateTransaction", transactionid=1)["message"] == (
        'Invalid Permissions: API action "updatetransaction" is not allowed')


# Billable items ---------------------------------------------------------------------------------------------

def test_add_billable_item_then_gen_invoices_bills_it(whmcs, owner):
    Client.objects.filter(pk=owner.pk).update(apply_credit_to_invoices=False)
    added = whmcs("AddBillableItem", clientid=owner.pk, description="Migration work", amount="45.00",
                  invoiceaction="nextcron")
    item = BillableItem.objects.get(pk=added["billableid"])
    assert added == {"result": "success", "billableid": item.pk}
    assert (item.invoice_action, item.awaiting_invoice, item.recurring) == ("nextcron", True, False)
    assert not Invoice.objects.exists()
    generated = whmcs("GenInvoices")
    assert generated["numcreated"] == 1 and "1 billable item(s)" in generated["summary"]
    item.refresh_from_db()
    assert item.invoice.items.get().description == "Migration work" and item.awaiting_invoice is False


def test_add_recurring_billable_item(whmcs, owner):
    due = timezone.localdate() + timedelta(days=60)
    added = whmcs("AddBillableItem", clientid=owner.pk, description="Backup", amount="5.00", invoiceaction="recur",
                  recur="1", recurcycle="Months", recurfor="12", duedate=due.isoformat())
    item = BillableItem.objects.get(pk=added["billableid"])
    assert (item.invoice_action, item.recur_every, item.recur_cycle, item.recur_for, item.due_date) == (
        "duedate", 1, "months", 12, due)


@pytest.mark.parametrize("params, message", [
    ({"invoiceaction": "whenever"}, "invoiceaction must be noinvoice, nextcron, nextinvoice, duedate or recur"),
    ({"invoiceaction": "recur", "recurcycle": "Months"}, "recur must be a whole number of at least 1 (invoice every recur recurcycle)"),
    ({"invoiceaction": "recur", "recur": "1", "recurcycle": "Fortnights"}, "recurcycle must be Days, Weeks, Months or Years"),
    ({"invoiceaction": "duedate", "recur": "1"}, "recur, recurcycle and recurfor apply to invoiceaction=recur"),
    ({"amount": "-1"}, "Amount cannot be negative"),
    ({"amount": "1.001"}, "amount: Use at most two decimal places."),
    ({"duedate": "31/12/2026"}, "Invalid duedate: use the format YYYY-MM-DD"),
])
def test_add_billable_item_errors_add_nothing(whmcs, owner, params, message):
    params = {"clientid": owner.pk, "description": "x", "amount": "5.00", **params}
    assert whmcs("AddBillableItem", **params) == {"result": "error", "message": message}
    assert not BillableItem.objects.exists()


def test_update_transaction_accepts_the_zero_amounts_get_transactions_returned(whmcs, owner):
    inv = invoice(whmcs, owner, "30.00")
    whmcs("AddInvoicePayment", invoiceid=inv.pk, transid="T-1", gateway="manual")
    payment = Payment.objects.get()
    listed = whmcs("GetTransactions", transid="T-1")["transactions"]["transaction"][0]
    answer = whmcs("UpdateTransaction", transactionid=payment.pk, amountin=listed["amountin"],
                   amountout=listed["amountout"], refundid=listed["refundid"], description="Checked")
    assert answer == {"result": "success", "transactionid": payment.pk}
    payment.refresh_from_db()
    assert (payment.note, payment.amount, payment.amount_out, payment.refund_of_id) == (
        "Checked", Decimal("30.00"), Decimal("0.00"), None)
