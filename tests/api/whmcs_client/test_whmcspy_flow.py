"""A WHMCS integration's whole run through whmcspy (a WHMCS client library from PyPI) against the live server:
the setup a test suite written for WHMCS does (AddClient with its optional parameters, AddProduct with pricing,
AddOrder with a price override, AcceptOrder), then suspend, invoice, pay, and the gaps real clients found."""
from decimal import Decimal

import pytest
import requests
from whmcspy.exceptions import Error, MissingPermission

from billing.models import Invoice, Promotion, Service
from portal.models import Client
from tests.api.conftest import make_key

pytestmark = pytest.mark.django_db(transaction=True)

CLIENT = {  # AddClient with every documented parameter a setup step tends to send
    "firstname": "Grace", "lastname": "Hopper", "email": "grace@example.com", "address1": "1 Navy Way",
    "city": "Arlington", "state": "VA", "postcode": "22201", "country": "US", "phonenumber": "+1 703 555 0100",
    "password2": "Cobol-Rules-1959",
}
OPTIONAL = {"companyname": "Harvard Mark I", "address2": "Suite 2", "tax_id": "DE136695976", "currency": 1,
            "groupid": 0, "language": "english", "clientip": "203.0.113.9", "notes": "Test suite client", "marketingoptin": False,
            "noemail": True, "skipvalidation": False, "securityqid": 0, "securityqans": ""}


def test_a_whmcs_test_suite_gets_past_its_setup_and_runs_the_whole_cycle(whmcs, mail_setup, smartermail):
    client_id = whmcs.add_client(**CLIENT, **OPTIONAL)
    created = Client.objects.get(pk=client_id)
    assert (created.notes, created.vat_number, created.language) == ("Test suite client", "DE136695976", "english")

    pid = whmcs.add_product("Mail Basic", mail_setup["gid"], type="hostingaccount", module="smartermail",
                            servergroupid=mail_setup["servergroupid"], paytype="recurring",
                            **{"pricing[1][monthly]": "9.00", "pricing[1][msetupfee]": "0.00",
                               "pricing[1][biennially]": "-1", "configoption7": "10"})
    twin = whmcs.add_product("Mail Basic", mail_setup["gid"], type="hostingaccount", module="smartermail",
                             servergroupid=mail_setup["servergroupid"], **{"pricing[1][monthly]": "9.00"})
    assert twin != pid  # the same name twice in a group, as WHMCS allows

    order = whmcs.add_order(client_id, products=[{"id": pid, "domain": "hopper.example"}],
                            **{"billingcycle[0]": "monthly", "priceoverride[0]": "5.00"})
    assert order["result"] == "success" and order["productids"] == order["serviceids"]
    invoice = Invoice.objects.get(pk=order["invoiceid"])
    assert invoice.total == Decimal("5.00")
    whmcs.accept_order(order["orderid"])
    assert smartermail.domain("hopper.example").is_enabled

    products = list(whmcs.get_clients_products(clientid=client_id))
    assert [(p["id"], p["pid"], p["status"], p["recurringamount"]) for p in products] == [
        (str(order["orderid"]), str(pid), "Active", "5.00")]

    whmcs.call("ModuleSuspend", serviceid=order["orderid"], suspendreason="Overdue")
    assert not smartermail.domain("hopper.example").is_enabled
    whmcs.call("ModuleUnsuspend", serviceid=order["orderid"])

    whmcs.add_transaction("banktransfer", invoiceid=order["invoiceid"], amountin="5.00", transid="TX-42",
                          userid=client_id)
    assert Invoice.objects.get(pk=order["invoiceid"]).status == Invoice.Status.PAID
    with pytest.raises(Error, match="^Transaction ID must be Unique$"):
        whmcs.add_transaction("banktransfer", invoiceid=order["invoiceid"], amountin="5.00", transid="TX-42")

    # A second service for the domain: SmarterMail holds a domain once, so the order is refused up front.
    with pytest.raises(Error, match="Domain already exists: hopper.example is already hosted on SmarterMail"):
        whmcs.add_order(client_id, products=[{"id": twin, "domain": "hopper.example"}])

    servers = whmcs.get_servers()
    assert [(s["module"], s["activeServices"]) for s in servers] == [("smartermail", 1)]

    with pytest.raises(Error, match="has invoices, transactions, orders, which the accounts keep"):
        whmcs.call("DeleteClient", clientid=client_id)


def test_a_product_without_prices_is_free_and_orders_through_accept(whmcs, mail_setup):
    client_id = whmcs.add_client(**{**CLIENT, "email": "free@example.com"})
    pid = whmcs.add_product("Trial", mail_setup["gid"], type="other")
    order = whmcs.add_order(client_id, products=[{"id": pid, "domain": "trial.example"}])
    assert Invoice.objects.get(pk=order["invoiceid"]).total == Decimal("0.00")
    whmcs.accept_order(order["orderid"])
    service = Service.objects.get(pk=order["orderid"])
    assert (service.status, service.billing_cycle, service.recurring_amount) == ("active", "onetime", Decimal("0.00"))
    # Products without a module may have a second service for the same domain, as in WHMCS.
    again = whmcs.add_order(client_id, products=[{"id": pid, "domain": "trial.example"}])
    assert again["orderid"] != order["orderid"]


def test_the_gaps_real_clients_found(whmcs, mail_setup, smartermail):
    client_id = whmcs.add_client(**{**CLIENT, "email": "gaps@example.com"})
    pid = whmcs.add_product("Mail", mail_setup["gid"], type="hostingaccount", module="smartermail",
                            servergroupid=mail_setup["servergroupid"], **{"pricing[1][monthly]": "9.00"})
    order = whmcs.add_order(client_id, products=[{"id": pid, "domain": "gaps.example"}], **{"billingcycle[0]": "monthly"})
    whmcs.accept_order(order["orderid"])
    service_id = order["orderid"]

    whmcs.call("UpdateClientProduct", serviceid=service_id, notes="Moved from WHMCS", nextduedate="2031-01-01",
               recurringamount="7.50", regdate="2030-01-01")
    service = Service.objects.get(pk=service_id)
    assert (service.notes, str(service.next_due_date), service.recurring_amount) == (
        "Moved from WHMCS", "2031-01-01", Decimal("7.50"))

    whmcs.call("ModuleChangePw", serviceid=service_id)  # no new password: the stored one is sent again
    invoice = whmcs.call("CreateInvoice", userid=client_id, date="2030-06-01", duedate="2030-06-15",
                         itemdescription1="Setup work", itemamount1="40.00")
    assert str(Invoice.objects.get(pk=invoice["invoiceid"]).date) == "2030-06-01"

    Promotion.objects.create(code="WELCOME10", value=Decimal("10"))
    promotions = whmcs.call("GetPromotions")
    assert [(p["code"], p["type"], p["value"]) for p in promotions["promotions"]["promotion"]] == [
        ("WELCOME10", "Percentage", "10.00")]

    generated = whmcs.call("GenInvoices", clientid=client_id)
    assert generated["numcreated"] == 0  # nothing of this client is due today

    blank = whmcs.add_client(**{**CLIENT, "email": "blank@example.com"})
    assert whmcs.call("DeleteClient", clientid=blank, deleteusers=True, deletetransactions=True) == {
        "result": "success", "clientid": str(blank)}
    assert not Client.objects.filter(pk=blank).exists()


def test_errors_reach_the_library_as_whmcs_sends_them(api_url, whmcs, key):
    with pytest.raises(Error, match="^Client ID Not Found$"):
        whmcs.call("UpdateClient", clientid=999999)
    narrow = make_key(name="narrow", permissions=["clients.read"])
    with pytest.raises(MissingPermission, match='^Invalid Permissions: API action "addclient" is not allowed$'):
        type(whmcs)(api_url, narrow.identifier, narrow.secret).add_client(**CLIENT)
    with pytest.raises(MissingPermission, match="^Authentication Failed$"):
        type(whmcs)(api_url, key.identifier, "wrong").call("GetClients")
    xml = requests.post(api_url, data={"identifier": key.identifier, "secret": key.secret, "action": "GetClients",
                                       "responsetype": "xml"}, timeout=10)
    assert xml.headers["Content-Type"] == "application/xml; charset=utf-8"
    assert "<result>success</result>" in xml.text
