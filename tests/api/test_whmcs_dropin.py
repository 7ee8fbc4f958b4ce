"""api.php as a drop-in for WHMCS: exact answers for the gaps real WHMCS clients found (docs/whmcs-api.md)."""
from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from billing.models import Invoice, ProductPrice, Promotion, Service
from portal.activity import Actor
from portal.models import ActivityLog, Client
from provisioning import lifecycle
from provisioning.modules.fake import FakeModule
from tests.api.conftest import Whmcs, make_key
from tests.factories import (
    ClientFactory, ProductFactory, ProductGroupFactory, ServerFactory, ServiceFactory,
)

S = Service.Status
pytestmark = pytest.mark.django_db


def post(client, key, query="", **data):
    return client.post(f"/includes/api.php{query}", data, REMOTE_ADDR="127.0.0.1").json()


def live_fake_service(**fields):
    service = ServiceFactory(status=S.PENDING, product=ProductFactory(module="fake"), password="Stored-Pass-1", **fields)
    lifecycle.service_create(service=service, actor=Actor.system("setup"))
    FakeModule.calls.clear()
    return service


def test_the_action_may_come_in_the_query_string_and_the_credential_in_username_and_password(client, api_key):
    answer = post(client, api_key, "?action=GetClients", username=api_key.identifier, password=api_key.secret,
                  responsetype="json")
    assert (answer["result"], answer["totalresults"]) == ("success", 0)
    wrong = post(client, api_key, "?action=GetClients", username=api_key.identifier, password="nope")
    assert wrong == {"result": "error", "message": "Authentication Failed"}


def test_delete_client_deletes_a_client_without_records_and_its_logins(whmcs):
    client = ClientFactory()
    users = list(client.users.values_list("user_id", flat=True))
    assert whmcs("DeleteClient", clientid=client.pk, deleteusers="true") == {"result": "success", "clientid": str(client.pk)}
    assert not Client.objects.filter(pk=client.pk).exists()
    assert not get_user_model().objects.filter(pk__in=users).exists()
    entry = ActivityLog.objects.get(action="client.delete")
    assert entry.data["users_deleted"] is True and entry.actor_label == "api:integration"


def test_delete_client_keeps_the_logins_disabled_without_deleteusers(whmcs):
    client = ClientFactory()
    users = list(client.users.values_list("user_id", flat=True))
    assert whmcs("DeleteClient", clientid=client.pk)["result"] == "success"
    assert list(get_user_model().objects.filter(pk__in=users).values_list("is_active", flat=True)) == [False] * len(users)


def test_delete_client_refuses_a_client_the_accounts_keep_and_changes_nothing(whmcs):
    client = ClientFactory()
    whmcs("CreateInvoice", userid=client.pk, itemdescription1="Work", itemamount1="10.00")
    assert whmcs("DeleteClient", clientid=client.pk, deletetransactions="1") == {"result": "error", "message": (
        f"Client ID {client.pk} has invoices, which the accounts keep: it cannot be deleted. Close it instead "
        "(CloseClient): its services are cancelled and its unpaid invoices cancelled.")}
    assert Client.objects.filter(pk=client.pk).exists()
    assert whmcs("DeleteClient", clientid=999999) == {"result": "error", "message": "Client ID Not Found"}
    narrow = make_key(name="narrow", permissions=["clients.write"])
    assert Whmcs(whmcs.client, narrow)("DeleteClient", clientid=client.pk)["message"] == (
        'Invalid Permissions: API action "deleteclient" is not allowed')


def test_update_client_product_changes_every_documented_record_field(whmcs):
    service = live_fake_service()
    server = ServerFactory(module="fake")
    other = ProductFactory(module="fake")
    ProductPrice.objects.create(product=other, cycle="annually", price=Decimal("99.00"), currency="USD")
    promo = Promotion.objects.create(code="MOVE", value=Decimal("5"))
    answer = whmcs("UpdateClientProduct", serviceid=service.pk, notes="From WHMCS", regdate="2020-02-03",
                   nextduedate="2031-01-01", terminationdate="0000-00-00", domain="Moved.Example",
                   firstpaymentamount="12.00", recurringamount="11.00", billingcycle="Annually",
                   serviceusername="moved", serverid=server.pk, promoid=promo.pk, diskusage="150", disklimit="1000",
                   pid=other.pk, paymentmethod="paypal", subscriptionid="", overideautosuspend="0")
    assert answer == {"result": "success", "serviceid": str(service.pk)}
    service.refresh_from_db()
    assert (service.notes, str(service.registration_date), str(service.next_due_date), service.domain) == (
        "From WHMCS", "2020-02-03", "2031-01-01", "moved.example")
    assert (service.first_payment_amount, service.recurring_amount, service.billing_cycle, service.username) == (
        Decimal("12.00"), Decimal("11.00"), "annually", "moved")
    assert (service.server_id, service.promotion_id, service.product_id) == (server.pk, promo.pk, other.pk)
    assert (service.disk_usage_mb, service.disk_limit_mb) == (Decimal("150"), Decimal("1000"))
    assert FakeModule.calls == []  # the record only, as in WHMCS
    assert "notes" in ActivityLog.objects.get(action="service.record_update").data

    assert whmcs("UpdateClientProduct", serviceid=service.pk, autorecalc="1")["result"] == "success"
    assert Service.objects.get(pk=service.pk).recurring_amount == Decimal("99.00")


def test_update_client_product_refuses_fields_it_cannot_keep_and_bad_values(whmcs):
    service = live_fake_service()
    assert whmcs("UpdateClientProduct", serviceid=service.pk, ns1="ns1.example.net", notes="x") == {
        "result": "error", "message": "Updating ns1 is not supported by this portal: it keeps no such field"}
    assert whmcs("UpdateClientProduct", serviceid=service.pk, recurringamount="-1")["message"] == (
        "recurring_amount: cannot be negative")
    assert whmcs("UpdateClientProduct", serviceid=service.pk, billingcycle="Weekly") == {
        "result": "error", "message": "Invalid Billing Cycle: Weekly"}
    assert whmcs("UpdateClientProduct", serviceid=service.pk, serverid=999999)["message"] == "Server ID Not Found"
    assert Service.objects.get(pk=service.pk).notes == ""


def test_module_change_pw_without_a_password_sends_the_stored_one(whmcs):
    service = live_fake_service()
    assert whmcs("ModuleChangePw", serviceid=service.pk) == {"result": "success"}
    assert FakeModule.calls == [("change_password", service.domain)]
    assert FakeModule.domains[service.domain].password == "Stored-Pass-1"
    empty = ServiceFactory(product=ProductFactory(module="fake"), password="")
    assert whmcs("ModuleChangePw", serviceid=empty.pk) == {
        "result": "error", "message": "The service has no stored password: give the new one as servicepassword"}


def test_get_servers_lists_servers_with_their_load_in_whmcs_shape(whmcs, django_assert_num_queries):
    busy = ServerFactory(name="alpha", module="fake", hostname="alpha.example.net", capacity=4)
    ServerFactory(name="beta", module="smartermail", hostname="beta.example.net", enabled=False)
    ServiceFactory(server=busy, product=ProductFactory(module="fake"))
    ServiceFactory(server=busy, status=S.CANCELLED)
    with django_assert_num_queries(3):  # key, its touch, the servers with their counts
        answer = whmcs("GetServers")
    assert answer == {"result": "success", "fetchStatus": False, "servers": [
        {"id": busy.pk, "name": "alpha", "hostname": "alpha.example.net", "ipaddress": "", "active": True,
         "activeServices": 1, "maxAllowedServices": 4, "percentUsed": 25.0, "module": "fake", "status": {}},
        {"id": busy.pk + 1, "name": "beta", "hostname": "beta.example.net", "ipaddress": "", "active": False,
         "activeServices": 0, "maxAllowedServices": 0, "percentUsed": 0, "module": "smartermail", "status": {}},
    ]}
    service = ServiceFactory(product=ProductFactory(module="smartermail"))
    assert [s["name"] for s in whmcs("GetServers", serviceId=service.pk)["servers"]] == ["beta"]
    assert whmcs("GetServers", serviceId=999999) == {"result": "error", "message": "Service ID Not Found"}


def test_get_promotions_lists_the_storefront_codes(whmcs, django_assert_num_queries):
    product = ProductFactory()
    first = Promotion.objects.create(code="SPRING", kind=Promotion.Kind.FIXED, value=Decimal("3.50"), recurring=True,
                                     cycles=["monthly", "annually"], max_uses=10, max_uses_per_client=1)
    first.products.add(product)
    Promotion.objects.create(code="AUTUMN", value=Decimal("20"), notes="Fall sale")
    with django_assert_num_queries(4):  # key, its touch, the promotions, their products
        answer = whmcs("GetPromotions", code="spring")
    assert answer == {"result": "success", "totalresults": 1, "promotions": {"promotion": [{
        "id": str(first.pk), "code": "SPRING", "type": "Fixed Amount", "recurring": "1", "value": "3.50",
        "cycles": "Monthly,Annually", "appliesto": str(product.pk), "requires": "", "requiresexisting": "0",
        "startdate": "0000-00-00", "expirationdate": "0000-00-00", "maxuses": "10", "uses": "0",
        "lifetimepromo": "0", "applyonce": "0", "newsignups": "0", "existingclient": "0", "onceperclient": "1",
        "recurfor": "0", "upgrades": "0", "upgradeconfig": "", "notes": "", "active": "1"}]}}
    assert [p["code"] for p in whmcs("GetPromotions")["promotions"]["promotion"]] == ["AUTUMN", "SPRING"]


def test_create_invoice_on_another_day(whmcs):
    client = ClientFactory()
    answer = whmcs("CreateInvoice", userid=client.pk, date="2030-03-01", itemdescription1="Work", itemamount1="5.00")
    invoice = Invoice.objects.get(pk=answer["invoiceid"])
    assert (str(invoice.date), str(invoice.due_date), answer["status"]) == ("2030-03-01", "2030-03-01", "Unpaid")
    assert whmcs("CreateInvoice", userid=client.pk, date="03/01/2030", itemdescription1="x", itemamount1="1")[
        "message"] == "Invalid date: use the format YYYY-MM-DD"


def test_gen_invoices_for_one_client_or_some_services(whmcs):
    today = timezone.localdate()
    due = {"next_due_date": today, "next_invoice_date": today}
    mine, theirs = ServiceFactory(**due), ServiceFactory(**due)
    also_mine = ServiceFactory(client=mine.client, **due)
    assert whmcs("GenInvoices", serviceids=f"{also_mine.pk}")["numcreated"] == 1
    assert Invoice.objects.filter(client=mine.client).count() == 1
    assert whmcs("GenInvoices", clientid=mine.client_id)["numcreated"] == 1
    assert not Invoice.objects.filter(client=theirs.client).exists()
    assert whmcs("GenInvoices", domainids="3") == {
        "result": "error", "message": "The portal has no domains or addons to invoice: use serviceids or clientid"}
    assert whmcs("GenInvoices", clientid=999999) == {"result": "error", "message": "Client ID Not Found"}


def test_add_transaction_and_apply_credit_answer_as_whmcs(whmcs):
    client = ClientFactory()
    invoice = whmcs("CreateInvoice", userid=client.pk, itemdescription1="Work", itemamount1="20.00")["invoiceid"]
    assert whmcs("AddTransaction", paymentmethod="bank", userid=999999, amountin="1", transid="A")["message"] == (
        "Client ID Not Found")
    assert whmcs("AddTransaction", paymentmethod="bank", invoiceid=999999, amountin="1", transid="A")["message"] == (
        "Invoice ID Not Found")
    assert "transactionid" in whmcs("AddTransaction", paymentmethod="bank", userid=client.pk, credit="true",
                                    amountin="8.00", transid="C-1")
    assert whmcs("AddTransaction", paymentmethod="bank", userid=client.pk, credit="true", amountin="8.00",
                 transid="C-1") == {"result": "error", "message": "Transaction ID must be Unique"}
    assert whmcs("ApplyCredit", invoiceid=invoice, amount="9.00") == {
        "result": "error", "message": "Amount exceeds customer credit balance"}
    assert whmcs("ApplyCredit", invoiceid=invoice, amount="0") == {
        "result": "error", "message": "Credit Amount to apply must be greater than zero"}
    assert whmcs("ApplyCredit", invoiceid=invoice, amount="full") == {
        "result": "success", "invoiceid": str(invoice), "amount": "8.00", "invoicepaid": "false"}
    assert whmcs("ApplyCredit", invoiceid=invoice, amount="full") == {
        "result": "error", "message": "Credit Amount to apply must be greater than zero"}
    whmcs("AddTransaction", paymentmethod="bank", userid=client.pk, credit="true", amountin="50.00", transid="C-2")
    assert whmcs("ApplyCredit", invoiceid=invoice, amount="13.00") == {
        "result": "error", "message": "Amount Exceeds Invoice Balance"}
    assert whmcs("ApplyCredit", invoiceid=invoice, amount="12.00")["invoicepaid"] == "true"
    assert whmcs("ApplyCredit", invoiceid=invoice, amount="1.00") == {
        "result": "error", "message": "Invoice Not in Unpaid Status"}


def test_add_product_without_prices_is_free_in_every_currency_and_names_may_repeat(whmcs):
    group = ProductGroupFactory()
    ClientFactory(currency="EUR")
    first = whmcs("AddProduct", gid=group.pk, name="Starter", type="other")
    second = whmcs("AddProduct", gid=group.pk, name="Starter", type="other")
    assert first["result"] == second["result"] == "success" and first["pid"] != second["pid"]
    prices = ProductPrice.objects.filter(product_id=first["pid"]).order_by("currency")
    assert [(p.currency, p.cycle, p.price) for p in prices] == [("EUR", "onetime", Decimal("0")),
                                                               ("USD", "onetime", Decimal("0"))]
    listed = whmcs("GetProducts", pid=first["pid"])["products"]["product"][0]
    assert (listed["pid"], listed["paytype"], listed["pricing"]["USD"]["monthly"]) == (str(first["pid"]), "onetime", "0.00")


def test_add_order_free_product_price_override_and_second_service_for_a_domain(whmcs):
    client = ClientFactory()
    free = whmcs("AddProduct", gid=ProductGroupFactory().pk, name="Free", type="other")["pid"]
    order = whmcs("AddOrder", clientid=client.pk, paymentmethod="mailin", pid=free, domain="one.example",
                  billingcycle="Free Account")
    assert Invoice.objects.get(pk=order["invoiceid"]).total == Decimal("0.00")
    assert whmcs("AcceptOrder", orderid=order["orderid"]) == {"result": "success"}
    assert Service.objects.get(pk=order["orderid"]).status == S.ACTIVE

    paid = ProductFactory(module="fake")
    ProductPrice.objects.create(product=paid, cycle="monthly", price=Decimal("9.00"))
    overridden = whmcs("AddOrder", clientid=client.pk, paymentmethod="mailin", **{
        "pid[]": paid.pk, "domain[]": "one.example", "billingcycle[]": "monthly", "priceoverride[]": "2.50"})
    assert overridden["serviceids"] == overridden["productids"] == str(overridden["orderid"])
    assert Service.objects.get(pk=overridden["orderid"]).recurring_amount == Decimal("2.50")
    assert whmcs("AddOrder", clientid=client.pk, pid=paid.pk, domain="one.example", priceoverride="-1")[
        "message"] == "cycle: A price override cannot be negative."

    mail = ProductFactory(module="smartermail")
    ProductPrice.objects.create(product=mail, cycle="monthly", price=Decimal("9.00"))
    held = ServiceFactory(product=mail, domain="held.example", status=S.ACTIVE)
    assert whmcs("AddOrder", clientid=client.pk, pid=mail.pk, domain="HELD.example") == {
        "result": "error", "message": f"Domain already exists: held.example is already hosted on SmarterMail "
                                      f"(service ID {held.pk}), which cannot host a domain twice"}
    held.status = S.TERMINATED
    held.save()
    assert whmcs("AddOrder", clientid=client.pk, pid=mail.pk, domain="held.example")["result"] == "success"


def test_add_order_with_a_promotion_code(whmcs):
    client = ClientFactory()
    product = ProductFactory()
    ProductPrice.objects.create(product=product, cycle="monthly", price=Decimal("10.00"))
    Promotion.objects.create(code="HALF", value=Decimal("50"), starts_at=timezone.now() - timedelta(days=1))
    order = whmcs("AddOrder", clientid=client.pk, pid=product.pk, domain="promo.example", promocode="half")
    assert Invoice.objects.get(pk=order["invoiceid"]).subtotal == Decimal("5.00")
    assert whmcs("AddOrder", clientid=client.pk, pid=product.pk, domain="x.example", promocode="NOPE") == {
        "result": "error", "message": "Promotion Code Not Found"}

