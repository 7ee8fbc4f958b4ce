"""The WHMCS-compatible API's envelope: authentication, permissions, IP allow-list, rate limiting, unknown
actions, missing parameters, pagination, XML and the actions the portal does not support."""
from decimal import Decimal

import pytest
from django.test import override_settings

from api.models import ApiKey
from api.whmcs.loader import load_actions
from billing.models import CreditLedgerEntry, Invoice, Service
from portal.activity import Actor, log_activity
from portal.models import ActivityLog, Client
from tests.api.conftest import Whmcs, make_key
from tests.conftest import sign_in_with_two_factor
from tests.factories import PASSWORD, ClientFactory, ServiceFactory, StaffFactory

pytestmark = pytest.mark.django_db


def counts():
    return (Client.objects.count(), Service.objects.count(), Invoice.objects.count(),
            CreditLedgerEntry.objects.count(), ActivityLog.objects.count())


def test_a_key_without_the_permission_gets_invalid_permissions_and_nothing_changes(client, owner):
    reader = Whmcs(client, make_key(name="reader", permissions=["clients.read", "services.read"]))
    service = ServiceFactory(client=owner)
    before = counts()
    for action, params in (
        ("AddClient", {"firstname": "A", "lastname": "B", "email": "ab@example.com"}),
        ("AddCredit", {"clientid": owner.pk, "description": "x", "amount": "5"}),
        ("ModuleSuspend", {"serviceid": service.pk}),
        ("CreateInvoice", {"userid": owner.pk, "itemdescription1": "x", "itemamount1": "1"}),
    ):
        response = reader.raw(action, **params)
        assert response.json() == {
            "result": "error", "message": f'Invalid Permissions: API action "{action.lower()}" is not allowed'}
        assert response.status_code == 403
    assert counts() == before
    service.refresh_from_db()
    assert service.status == Service.Status.ACTIVE
    assert reader("GetClients")["result"] == "success"


def test_whmcs_api_roles_allow_single_actions(client, owner):
    key = make_key(permissions=["whmcs:getclientsdetails"])
    assert Whmcs(client, key)("GetClientsDetails", clientid=owner.pk)["result"] == "success"
    assert Whmcs(client, key)("GetClients")["message"] == 'Invalid Permissions: API action "getclients" is not allowed'


def test_a_key_never_does_more_than_its_owner(client, owner):
    clerk = StaffFactory()  # staff, no Django permissions
    response = Whmcs(client, make_key(owner=clerk))("GetClients")
    assert response["message"] == 'Invalid Permissions: API action "getclients" is not allowed'


@pytest.mark.parametrize("params", [
    {"identifier": "nope", "secret": "nope"},
    {"secret": "wrong"},
    {},
    {"username": "nobody", "password": "x"},
])
def test_authentication_failures(client, api_key, params):
    data = {"identifier": api_key.identifier, "action": "GetClients", **params}
    if "username" in params or not params:
        data.pop("identifier")
    response = client.post("/includes/api.php", data)
    assert response.status_code == 403
    assert response.json() == {"result": "error", "message": "Authentication Failed"}


def test_a_disabled_key_or_a_disabled_owner_cannot_authenticate(client, api_key):
    ApiKey.objects.filter(pk=api_key.pk).update(enabled=False)
    assert Whmcs(client, api_key)("GetClients")["message"] == "Authentication Failed"
    ApiKey.objects.filter(pk=api_key.pk).update(enabled=True)
    api_key.owner.is_active = False
    api_key.owner.save()
    assert Whmcs(client, api_key)("GetClients")["message"] == "Authentication Failed"


def test_the_secret_is_stored_hashed_only(api_key):
    stored = ApiKey.objects.get(pk=api_key.pk)
    assert api_key.secret not in (stored.secret_hash, stored.identifier)
    assert stored.check_secret(api_key.secret) and not stored.check_secret(api_key.secret + "x")


def test_legacy_username_and_password(client, owner):
    staff = StaffFactory(is_superuser=True)
    response = client.post("/includes/api.php", {"username": staff.username, "password": PASSWORD,
                                                 "action": "GetClientsDetails", "clientid": owner.pk})
    assert response.json()["result"] == "success"
    response = client.post("/includes/api.php", {"username": staff.username, "password": "wrong", "action": "GetClients"})
    assert response.json()["message"] == "Authentication Failed"
    non_staff = owner.owner_user
    response = client.post("/includes/api.php", {"username": non_staff.username, "password": PASSWORD, "action": "GetClients"})
    assert response.json()["message"] == "Authentication Failed"
    ok = client.post("/includes/api.php", {"username": staff.username, "password": PASSWORD, "action": "LogActivity",
                                           "description": "Nightly sync done"})
    assert ok.json()["result"] == "success"
    assert ActivityLog.objects.get(action="api.log").actor_label == f"api:{staff.username}"


def test_ip_allow_list(client):
    key = make_key(allowed_ips="10.1.2.0/24\n2001:db8::/32")
    api = Whmcs(client, key)
    assert api.raw("GetClients", remote_addr="10.1.2.77").json()["result"] == "success"
    assert api.raw("GetClients", remote_addr="2001:db8::5").json()["result"] == "success"
    denied = api.raw("GetClients", remote_addr="192.0.2.9")
    assert denied.status_code == 403 and denied.json() == {"result": "error", "message": "Invalid IP 192.0.2.9"}


@override_settings(API_RATE_LIMIT=3)
def test_rate_limit_per_key(client, api_key, owner):
    api, other = Whmcs(client, api_key), Whmcs(client, make_key(name="other"))
    assert [api.raw("GetClients").status_code for _ in range(3)] == [200, 200, 200]
    limited = api.raw("GetClients")
    assert limited.status_code == 429
    assert limited.json() == {"result": "error", "message": "Rate limit exceeded. Please try again later."}
    assert other.raw("GetClients").status_code == 200  # per key


@override_settings(API_AUTH_FAILURE_LIMIT=2)
def test_repeated_failed_authentication_is_throttled_per_address(client, api_key):
    for _ in range(2):
        client.post("/includes/api.php", {"identifier": api_key.identifier, "secret": "bad", "action": "GetClients"})
    response = Whmcs(client, api_key).raw("GetClients")
    assert response.status_code == 429


def test_unknown_action_and_not_supported_actions(whmcs):
    assert whmcs("NoSuchThing") == {"result": "error", "message": "Command Not Found"}
    assert whmcs("") == {"result": "error", "message": "Command Not Found"}
    ticket = whmcs("OpenTicket", subject="x")
    assert ticket["result"] == "error" and ticket["message"].startswith("OpenTicket is not supported by this portal:")
    assert whmcs("getclients")["result"] == "success"  # action names are case-insensitive, as in WHMCS


def test_missing_parameters_answer_the_actions_error(whmcs):
    assert whmcs("AddClient", lastname="X", email="x@example.com") == {
        "result": "error", "message": "You did not enter your first name"}
    assert whmcs("GetClientsDetails") == {"result": "error", "message": "Either clientid Or email Is Required"}
    assert whmcs("GetClientsDetails", clientid=999999) == {"result": "error", "message": "Client Not Found"}
    assert whmcs("ModuleSuspend")["message"] == "Service ID is required"
    assert whmcs("ModuleSuspend", serviceid=424242)["message"] == "Service ID Not Found"
    assert whmcs("GetInvoice")["message"] == "Invoice ID Not Found"
    assert whmcs("AddClient", firstname="A", lastname="B", email="not-an-email")["message"].startswith("email:")


@pytest.mark.parametrize("taken", ["owner", "other_login_email", "staff", "client_email_only"])
def test_add_client_with_an_address_already_used_answers_whmcs_error_and_creates_nothing(whmcs, taken):
    used = ClientFactory(email="used@example.com")
    if taken == "other_login_email":
        used.users.first().user.__class__.objects.filter(pk=used.users.first().user_id).update(
            username="someone-else", email="used@example.com")
    elif taken == "staff":
        used.delete()
        StaffFactory(username="admin-login", email="Used@Example.com")
    elif taken == "client_email_only":
        used.users.all().delete()
    before = (Client.objects.count(), ActivityLog.objects.count())
    assert whmcs("AddClient", firstname="A", lastname="B", email="USED@example.com") == {
        "result": "error", "message": "A user already exists with that email address"}
    assert (Client.objects.count(), ActivityLog.objects.count()) == before


def test_get_requests_are_refused(client):
    assert client.get("/includes/api.php").status_code == 405


def test_pagination_of_get_clients(whmcs):
    ClientFactory.create_batch(7)
    first = whmcs("GetClients", limitnum=3)
    assert (first["totalresults"], first["startnumber"], first["numreturned"]) == (7, 0, 3)
    last = whmcs("GetClients", limitstart=6, limitnum=3)
    assert (last["startnumber"], last["numreturned"]) == (6, 1)
    ids = [c["id"] for c in first["clients"]["client"]] + [c["id"] for c in whmcs("GetClients", limitstart=3, limitnum=3)["clients"]["client"]]
    assert len(set(ids)) == 6
    assert whmcs("GetClients")["numreturned"] == 7  # default limitnum 25


def test_xml_response(whmcs, owner):
    response = whmcs.raw("GetClients", responsetype="xml")
    assert response["Content-Type"] == "application/xml; charset=utf-8"
    text = response.content.decode()
    assert "<whmcsapi>" in text and "<result>success</result>" in text
    assert f"<client><id>{owner.pk}</id>" in text.replace("\n", "")


def test_the_committed_coverage_table_matches_the_registry():
    from pathlib import Path

    from api.whmcs.coverage import render

    doc = (Path(__file__).resolve().parents[2] / "docs" / "whmcs-api.md").read_text()
    assert render(doc) == doc, "run manage.py whmcs_coverage --write"
    for action in load_actions().values():
        assert f"| {action.name} |" in doc, action.name


def test_add_credit_remove_and_apply_credit(whmcs, owner):
    assert whmcs("AddCredit", clientid=owner.pk, description="Top-up", amount="30.00")["newbalance"] == "30.00"
    assert whmcs("AddCredit", clientid=owner.pk, description="Fix", amount="5", type="remove")["newbalance"] == "25.00"
    too_much = whmcs("AddCredit", clientid=owner.pk, description="Fix", amount="500", type="remove")
    assert too_much["result"] == "error" and "below zero" in too_much["message"]
    invoice = whmcs("CreateInvoice", userid=owner.pk, itemdescription1="Work", itemamount1="10.00")
    # the client applies credit to new invoices automatically: this one is paid at once
    assert whmcs("GetInvoice", invoiceid=invoice["invoiceid"])["status"] == "Paid"
    Client.objects.filter(pk=owner.pk).update(apply_credit_to_invoices=False)
    second = whmcs("CreateInvoice", userid=owner.pk, itemdescription1="More", itemamount1="40.00")
    applied = whmcs("ApplyCredit", invoiceid=second["invoiceid"], amount="full")
    assert applied == {"result": "success", "invoiceid": str(second["invoiceid"]), "amount": "15.00", "invoicepaid": "false"}


def test_cancel_order_and_update_invoice(whmcs, owner):
    from billing.models import ProductPrice
    from tests.factories import ProductFactory

    product = ProductFactory()
    ProductPrice.objects.create(product=product, cycle="annually", price=Decimal("100.00"))
    order = whmcs("AddOrder", clientid=owner.pk, pid=product.pk, domain="cancel.example", billingcycle="Annually")
    assert order["result"] == "success"
    assert whmcs("CancelOrder", orderid=order["orderid"]) == {"result": "success"}
    assert Service.objects.get(pk=order["orderid"]).status == Service.Status.CANCELLED
    assert Invoice.objects.get(pk=order["invoiceid"]).status == Invoice.Status.CANCELLED
    assert whmcs("CancelOrder", orderid=order["orderid"])["message"] == "Order is already Cancelled"
    invoice = whmcs("CreateInvoice", userid=owner.pk, itemdescription1="x", itemamount1="3.00")
    assert whmcs("UpdateInvoice", invoiceid=invoice["invoiceid"], status="Cancelled")["result"] == "success"
    assert whmcs("GetInvoices", userid=owner.pk, status="Cancelled")["totalresults"] == 2


def test_read_actions_answer_in_whmcs_shapes(whmcs, owner):
    service = ServiceFactory(client=owner)
    assert whmcs("GetProducts")["products"]["product"][0]["pid"] == str(service.product_id)
    assert whmcs("GetOrderStatuses")["statuses"]["status"][0]["title"] == "Pending"
    assert whmcs("GetCurrencies")["currencies"]["currency"][0] == {
        "id": 1, "code": "USD", "prefix": "", "suffix": " USD", "format": 1, "rate": "1.00000", "default": True}
    assert whmcs("GetPaymentMethods")["paymentmethods"]["paymentmethod"][0]["module"] == "manual"
    for n in (1, 2):
        log_activity(actor=Actor.system("test"), action="test.entry", message=f"Entry {n}", client=owner)
    activity = whmcs("GetActivityLog", limitnum=1)
    assert (activity["totalresults"], activity["numreturned"], len(activity["activity"]["entry"])) == (2, 1, 1)
    assert whmcs("GetEmailTemplates")["result"] == "success"
    assert whmcs("WhmcsDetails")["whmcs"]["version"]
    assert whmcs("GetClientsDetails", email=owner.email)["client"]["id"] == owner.pk
    assert whmcs("CreateSsoToken")["message"] == "A client_id or service_id is required"
    assert whmcs("UpdateClient", clientid=owner.pk, city="Toronto")["clientid"] == owner.pk
    assert Client.objects.get(pk=owner.pk).city == "Toronto"


def test_create_sso_token_for_login_as_client(client, whmcs, owner):
    # login_as_client=1: client_id alone is now the client's own login, as in WHMCS (tests/api/test_client_sso.py).
    token = whmcs("CreateSsoToken", client_id=owner.pk, login_as_client=1)
    assert token["result"] == "success" and token["redirect_url"].startswith("http://testserver/admin/")
    sign_in_with_two_factor(client, whmcs.key.owner)  # the link opens in a staff session that passed two-factor
    response = client.get(token["redirect_url"])
    assert response.status_code == 302 and response["Location"] == "/"
    assert ActivityLog.objects.filter(action="client.impersonation_start", client=owner).exists()
    assert client.get(token["redirect_url"]).status_code == 302  # single use: the second try goes back to the admin
    clerk = Whmcs(client, make_key(name="clerk", owner=StaffFactory()))
    assert clerk("CreateSsoToken", client_id=owner.pk, login_as_client=1)["result"] == "error"


def test_get_activity_log_pages_newest_first_and_filters_by_client(whmcs, owner, other_client):
    system = Actor.system("test")
    first = log_activity(actor=system, action="test.one", message="First for the owner", client=owner)
    second = log_activity(actor=system, action="test.two", message="Second for the owner", client=owner)
    log_activity(actor=system, action="test.three", message="For the other client", client=other_client)
    page = whmcs("GetActivityLog", limitnum=1)
    assert (page["totalresults"], page["startnumber"], page["numreturned"]) == (3, 0, 1)
    assert [entry["description"] for entry in page["activity"]["entry"]] == ["For the other client"]
    mine = whmcs("GetActivityLog", clientid=owner.pk, limitnum=1, limitstart=1)
    assert (mine["totalresults"], mine["startnumber"], mine["numreturned"]) == (2, 1, 1)
    [entry] = mine["activity"]["entry"]
    assert (entry["id"], entry["clientid"], entry["userid"], entry["description"]) == (first.pk, owner.pk, owner.pk,
                                                                                    "First for the owner")
    assert [e["id"] for e in whmcs("GetActivityLog", userid=owner.pk)["activity"]["entry"]] == [second.pk, first.pk]
