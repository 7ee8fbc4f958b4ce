"""The WHMCS-compatible API through a service's whole life, against the SmarterMail simulator over HTTP."""
from decimal import Decimal

import pytest

from billing.models import Invoice, ProductPrice, Service
from portal.models import ActivityLog, Client
from provisioning.modules.smartermail.options import PRODUCT_OPTIONS
from tests.factories import ProductFactory, ServerGroupFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def mail_product(sm_server):
    group = ServerGroupFactory()
    group.servers.add(sm_server)
    product = ProductFactory(module="smartermail", server_group=group, auto_accept_on_payment=False,
                             module_options=PRODUCT_OPTIONS.clean({"max_users": 10}))
    ProductPrice.objects.create(product=product, cycle="monthly", price=Decimal("9.00"))
    return product


def ok(response):
    assert response["result"] == "success", response
    return response


def test_the_whole_cycle_of_a_mail_service(whmcs, mail_product, smartermail, api_key, django_capture_on_commit_callbacks):
    added = ok(whmcs("AddClient", firstname="Ada", lastname="Lovelace", email="ada@example.com", country="GB",
                     companyname="Engines Ltd", password2="Secret-Pass-123"))
    client_id = added["clientid"]
    assert isinstance(client_id, int) and added["owner_id"]

    details = ok(whmcs("GetClientsDetails", clientid=client_id))
    assert details["client"]["email"] == "ada@example.com" and details["firstname"] == "Ada"
    assert details["client"]["status"] == "Active" and details["client"]["countrycode"] == "GB"

    order = ok(whmcs("AddOrder", clientid=client_id, paymentmethod="banktransfer", **{
        "pid[0]": mail_product.pk, "domain[0]": "ada.example", "billingcycle[0]": "monthly"}))
    assert set(order) >= {"orderid", "serviceids", "invoiceid", "addonids", "domainids"}
    service_id = int(order["serviceids"])
    assert smartermail.domain("ada.example") is None

    pending = ok(whmcs("GetOrders", status="Pending"))
    assert pending["totalresults"] == 1 and pending["orders"]["order"][0]["id"] == str(order["orderid"])
    assert pending["orders"]["order"][0]["invoiceid"] == str(order["invoiceid"])

    ok(whmcs("AcceptOrder", orderid=order["orderid"]))
    assert smartermail.domain("ada.example") is not None and smartermail.domain("ada.example").is_enabled

    products = ok(whmcs("GetClientsProducts", clientid=client_id))
    assert (products["totalresults"], products["startnumber"], products["numreturned"]) == (1, 0, 1)
    product = products["products"]["product"][0]
    assert (product["id"], product["domain"], product["status"], product["pid"]) == (
        str(service_id), "ada.example", "Active", str(mail_product.pk))
    assert product["billingcycle"] == "Monthly" and product["recurringamount"] == "9.00"
    assert product["password"] == ""  # never returned

    ok(whmcs("ModuleSuspend", serviceid=service_id, suspendreason="Abuse report"))
    assert not smartermail.domain("ada.example").is_enabled
    assert Service.objects.get(pk=service_id).suspend_reason_text == "Abuse report"
    again = whmcs("ModuleSuspend", serviceid=service_id)
    assert again["result"] == "error" and "Suspended" in again["message"]

    ok(whmcs("ModuleUnsuspend", serviceid=service_id))
    assert smartermail.domain("ada.example").is_enabled

    invoice = ok(whmcs("CreateInvoice", userid=client_id, itemdescription1="Migration work", itemamount1="50.00",
                       itemtaxed1="0", duedate="2030-01-31"))
    assert invoice["status"] == "Unpaid"
    got = ok(whmcs("GetInvoice", invoiceid=invoice["invoiceid"]))
    assert got["total"] == "50.00" and got["balance"] == "50.00" and got["duedate"] == "2030-01-31"
    assert got["items"]["item"][0]["description"] == "Migration work"

    with django_capture_on_commit_callbacks(execute=True):
        ok(whmcs("AddInvoicePayment", invoiceid=invoice["invoiceid"], transid="TX-1001", gateway="banktransfer",
                 amount="50.00"))
    assert Invoice.objects.get(pk=invoice["invoiceid"]).status == Invoice.Status.PAID
    ok(whmcs("AddInvoicePayment", invoiceid=invoice["invoiceid"], transid="TX-1001", gateway="banktransfer",
             amount="50.00"))  # the same notification again pays nothing twice
    transactions = ok(whmcs("GetTransactions", invoiceid=invoice["invoiceid"]))
    assert transactions["totalresults"] == 1
    assert transactions["transactions"]["transaction"][0]["transid"] == "TX-1001"
    assert ok(whmcs("GetInvoice", invoiceid=invoice["invoiceid"]))["status"] == "Paid"

    credit = ok(whmcs("AddCredit", clientid=client_id, description="Goodwill", amount="15.00"))
    assert credit["newbalance"] == "15.00"
    credits = ok(whmcs("GetCredits", clientid=client_id))
    assert credits["totalresults"] == 1 and credits["credits"]["credit"][0]["amount"] == "15.00"

    ok(whmcs("ModuleTerminate", serviceid=service_id))
    assert Service.objects.get(pk=service_id).status == Service.Status.TERMINATED
    assert ok(whmcs("GetClientsProducts", serviceid=service_id))["products"]["product"][0]["status"] == "Terminated"

    writes = ActivityLog.objects.filter(actor_label="api:integration")
    assert {"client.create", "order.create", "service.create", "service.suspend", "service.unsuspend",
            "invoice.create", "payment.record", "credit.adjust", "service.terminate"} <= set(writes.values_list("action", flat=True))
    assert writes.filter(ip_address="127.0.0.1").count() == writes.count()
    assert Client.objects.get(pk=client_id).credit_balance == Decimal("15.00")


def test_module_errors_answer_a_whmcs_error_and_change_nothing(whmcs, mail_product, smartermail, owner):
    order = ok(whmcs("AddOrder", clientid=owner.pk, pid=mail_product.pk, domain="fail.example", billingcycle="Monthly"))
    smartermail.stop()
    response = whmcs("AcceptOrder", orderid=order["orderid"])
    assert response["result"] == "error" and response["message"].startswith("Module error:")
    assert Service.objects.get(pk=order["orderid"]).status == Service.Status.PENDING


def test_upgrade_product_calconly_quotes_without_changing(whmcs, owner):
    from tests.factories import ServiceFactory

    small = ProductFactory()
    big = ProductFactory(group=small.group)
    for product, amount in ((small, "10.00"), (big, "40.00")):
        ProductPrice.objects.create(product=product, cycle="monthly", price=Decimal(amount))
    service = ServiceFactory(client=owner, product=small, recurring_amount=Decimal("10.00"))
    quote = ok(whmcs("UpgradeProduct", serviceid=service.pk, type="product", newproductid=big.pk, calconly="true",
                     paymentmethod="banktransfer"))
    assert quote["newproductid"] == big.pk and quote["oldproductid"] == small.pk
    assert Decimal(quote["price"]) > 0 and quote["recurringamount"] == "40.00"
    service.refresh_from_db()
    assert service.product == small
    done = ok(whmcs("UpgradeProduct", serviceid=service.pk, type="product", newproductid=big.pk,
                    paymentmethod="banktransfer"))
    assert done["invoiceid"] and done["price"] == quote["price"]
    service.refresh_from_db()
    assert service.product == small  # as in WHMCS: the upgrade takes effect when its invoice is paid
    ok(whmcs("AddInvoicePayment", invoiceid=done["invoiceid"], transid="UP-1", amount=done["price"], gateway="banktransfer"))
    service.refresh_from_db()
    assert service.product == big
