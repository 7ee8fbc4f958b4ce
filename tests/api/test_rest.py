"""The REST API: CRUD, lifecycle actions, error bodies (400/401/403/404/409), scopes, throttling, query counts."""
from decimal import Decimal

import pytest
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext

from billing.models import Order, ProductPrice, Service
from portal.activity import Actor, log_activity
from portal.models import ActivityLog, Client
from tests.api.conftest import Rest, make_key
from tests.factories import ClientFactory, InvoiceFactory, ProductFactory, ServiceFactory

pytestmark = pytest.mark.django_db


def test_creating_a_client_with_an_address_a_login_already_uses_is_a_field_error(rest):
    ClientFactory(email="taken@example.com")
    before = Client.objects.count()
    response = rest.post("clients/", {"first_name": "A", "last_name": "B", "email": "Taken@Example.com", "country": "US"})
    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {"email": ["A user already exists with that email address"]}
    assert Client.objects.count() == before


def test_clients_create_read_update(rest):
    created = rest.post("clients/", {"first_name": "Grace", "last_name": "Hopper", "email": "grace@example.com",
                                     "country": "US"})
    assert created.status_code == 201, created.json()
    client_id = created.json()["id"]
    assert rest.get(f"clients/{client_id}/").json()["email"] == "grace@example.com"
    updated = rest.patch(f"clients/{client_id}/", {"city": "Arlington"})
    assert updated.status_code == 200 and updated.json()["city"] == "Arlington"
    listed = rest.get("clients/", email="grace@example.com").json()
    assert listed["count"] == 1 and listed["results"][0]["id"] == client_id
    assert ActivityLog.objects.filter(actor_label="api:integration", action="client.profile_update").exists()


def test_validation_errors_are_400_with_field_messages(rest, owner):
    bad = rest.post("clients/", {"first_name": "", "last_name": "X", "email": "nope", "country": "Canada"})
    assert bad.status_code == 400
    body = bad.json()["error"]
    assert body["status"] == 400 and body["code"] == "invalid"
    assert {"first_name", "email", "country"} <= set(body["fields"])
    duplicate = rest.post("clients/", {"first_name": "A", "last_name": "B", "email": owner.email})
    assert duplicate.status_code == 400 and "email" in duplicate.json()["error"]["fields"]
    service_rule = rest.patch(f"clients/{owner.pk}/", {"country": "ZZZ"})
    assert service_rule.status_code == 400 and "country" in service_rule.json()["error"]["fields"]


def test_401_403_404(client, rest, owner):
    anonymous = client.get("/api/v1/clients/")
    assert anonymous.status_code == 401 and anonymous.json()["error"]["status"] == 401
    assert anonymous["WWW-Authenticate"].startswith("Bearer")
    wrong = client.get("/api/v1/clients/", HTTP_AUTHORIZATION="Bearer abc.def")
    assert wrong.status_code == 401
    reader = Rest(client, make_key(name="reader", permissions=["clients.read"]))
    assert reader.get("clients/").status_code == 200
    denied = reader.post("clients/", {"first_name": "A", "last_name": "B", "email": "a@example.com"})
    assert denied.status_code == 403 and denied.json()["error"]["code"] == "permission_denied"
    assert reader.get("invoices/").status_code == 403
    assert rest.get("clients/999999/").json() == {"error": {"status": 404, "code": "not_found", "message": "Not found."}}
    ip_bound = Rest(client, make_key(name="office", allowed_ips="10.0.0.0/8"))
    assert ip_bound.get("clients/").status_code == 403


def test_service_lifecycle_actions_and_409(rest):
    service = ServiceFactory(product=ProductFactory(module=""))
    suspended = rest.post(f"services/{service.pk}/suspend/", {"reason_text": "Abuse"})
    assert suspended.status_code == 200 and suspended.json()["status"] == "suspended"
    conflict = rest.post(f"services/{service.pk}/suspend/")
    assert conflict.status_code == 409
    assert conflict.json()["error"]["code"] == "conflict" and "Suspended" in conflict.json()["error"]["message"]
    assert rest.post(f"services/{service.pk}/unsuspend/").json()["status"] == "active"
    assert rest.post(f"services/{service.pk}/change-password/", {"password": "short"}).status_code == 400
    assert rest.post(f"services/{service.pk}/terminate/").json()["status"] == "terminated"
    assert rest.post(f"services/{service.pk}/provision/").status_code == 409
    assert rest.post(f"services/{service.pk}/cancel/", {"type": "immediate"}).status_code == 409
    assert rest.post(f"services/{service.pk}/change/", {}).status_code == 409


def test_order_invoice_payment_credit(rest, owner, django_capture_on_commit_callbacks):
    product = ProductFactory(module="")
    ProductPrice.objects.create(product=product, cycle="monthly", price=Decimal("12.00"))
    order = rest.post("services/", {"client": owner.pk, "product": product.pk, "domain": "rest.example",
                                    "billing_cycle": "monthly"})
    assert order.status_code == 201, order.json()
    service_id, invoice_id = order.json()["service"]["id"], order.json()["invoice"]
    assert Order.objects.get(invoice_id=invoice_id).source == Order.Source.API  # staff's order list says so
    assert rest.post(f"services/{service_id}/provision/").json()["status"] == "active"
    invoice = rest.get(f"invoices/{invoice_id}/").json()
    assert invoice["total"] == "12.00" and invoice["items"][0]["service"] == service_id
    with django_capture_on_commit_callbacks(execute=True):
        paid = rest.post("payments/", {"invoice": invoice_id, "amount": "12.00", "transaction_id": "T-1", "gateway": "bank"})
    assert paid.status_code == 201
    again = rest.post("payments/", {"invoice": invoice_id, "amount": "12.00", "transaction_id": "T-1", "gateway": "bank"})
    assert again.status_code == 200 and again.json()["id"] == paid.json()["id"]
    assert rest.get(f"invoices/{invoice_id}/").json()["status"] == "paid"
    assert rest.post(f"invoices/{invoice_id}/cancel/").status_code == 409
    credit = rest.post(f"clients/{owner.pk}/credit/", {"amount": "20.00", "reason": "Goodwill"})
    assert credit.status_code == 201 and credit.json()["balance"] == "20.00"
    assert rest.post(f"clients/{owner.pk}/credit/", {"amount": "-50.00", "reason": "x"}).status_code == 400
    Client.objects.filter(pk=owner.pk).update(apply_credit_to_invoices=False)
    created = rest.post("invoices/", {"client": owner.pk, "lines": [{"description": "Work", "amount": "30.00"}]})
    assert created.status_code == 201 and created.json()["status"] == "unpaid"
    applied = rest.post(f"invoices/{created.json()['id']}/apply-credit/", {})
    assert applied.json()["credit_applied"] == "20.00" and applied.json()["balance"] == "10.00"
    assert rest.get(f"clients/{owner.pk}/credit/").json()["balance"] == "0.00"
    assert rest.get("activity/", actor_label="api:integration").json()["count"] >= 5


def test_change_quote_then_confirm(rest, owner):
    small = ProductFactory(module="")
    big = ProductFactory(group=small.group, module="")
    for product, amount in ((small, "10.00"), (big, "25.00")):
        ProductPrice.objects.create(product=product, cycle="monthly", price=Decimal(amount))
    service = ServiceFactory(client=owner, product=small)
    quote = rest.post(f"services/{service.pk}/change/", {"product": big.pk})
    assert quote.status_code == 200 and quote.json()["invoice"] is None
    assert Service.objects.get(pk=service.pk).product == small
    done = rest.post(f"services/{service.pk}/change/", {"product": big.pk, "confirm": True,
                                                        "expected_amount": quote.json()["amount"]})
    assert done.status_code == 200 and done.json()["new_recurring"] == "25.00"
    assert (done.json()["change_status"], Service.objects.get(pk=service.pk).product) == ("pending", small)
    paid = rest.post("payments/", {"invoice": done.json()["invoice"], "amount": quote.json()["amount"], "transaction_id": "chg-1"})
    assert paid.status_code in (200, 201), paid.content
    assert Service.objects.get(pk=service.pk).product == big  # the change takes effect when its invoice is paid


@override_settings(API_RATE_LIMIT=2)
def test_throttled_per_key(rest):
    assert [rest.get("products/").status_code for _ in range(3)] == [200, 200, 429]
    assert rest.get("products/").json()["error"]["status"] == 429


@pytest.mark.parametrize("path, make", [
    ("clients/", lambda: ClientFactory.create_batch(5)),
    ("services/", lambda: ServiceFactory.create_batch(5)),
    ("products/", lambda: [ProductPrice.objects.create(product=ProductFactory(), cycle="monthly", price=1) for _ in range(5)]),
    ("invoices/", lambda: InvoiceFactory.create_batch(5)),
    ("activity/", lambda: [log_activity(actor=Actor.system("test"), action="test", message="x") for _ in range(5)]),
])
def test_list_queries_do_not_grow_with_rows(rest, path, make):
    rest.get("products/")  # the key's first use of the minute records last_used_at (one UPDATE)
    make()
    with CaptureQueriesContext(connection) as few:
        assert rest.get(path).status_code == 200
    make()
    make()
    with CaptureQueriesContext(connection) as many:
        response = rest.get(path)
    assert response.json()["count"] >= 10
    assert len(many) == len(few) and len(many) <= 6, [q["sql"] for q in many.captured_queries]


def test_whmcs_list_actions_do_not_grow_with_rows(whmcs):
    ServiceFactory.create_batch(3)
    whmcs("GetClients")  # the key's first use of the minute records last_used_at
    with CaptureQueriesContext(connection) as few:
        whmcs("GetClientsProducts")
        whmcs("GetOrders")
        whmcs("GetInvoices")
    ServiceFactory.create_batch(6)
    InvoiceFactory.create_batch(6)
    with CaptureQueriesContext(connection) as many:
        whmcs("GetClientsProducts")
        whmcs("GetOrders")
        whmcs("GetInvoices")
    assert len(many) == len(few)


def test_cdrs_are_listed_when_the_voip_app_has_them(rest):
    from django.apps import apps

    if not any(m.__name__ == "Cdr" for m in apps.get_app_config("voip").get_models()):
        pytest.skip("voip.models.Cdr does not exist yet")
    response = rest.get("cdrs/", status="rated")
    assert response.status_code == 200 and response.json()["count"] == 0
    reader = Rest(rest.client, make_key(name="cdr-less", permissions=["clients.read"]))
    assert reader.get("cdrs/").status_code == 403


def test_schema_validates_and_docs_page_is_served(client):
    from drf_spectacular.generators import SchemaGenerator
    from drf_spectacular.validation import validate_schema

    validate_schema(SchemaGenerator().get_schema(request=None, public=True))
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert schema.status_code == 200 and "/api/v1/services/{id}/suspend/" in schema.json()["paths"]
    docs = client.get("/api/docs/")
    assert docs.status_code == 200 and b"swagger-ui" in docs.content


@pytest.mark.parametrize("path", [
    "clients/99999999999999999999999999/", "services/?client=99999999999999999999999", "invoices/?limit=abc",
    "payments/?invoice=-1", "activity/?client=1e400", "products/?ordering=nonexistent",
])
def test_odd_input_is_never_a_server_error(rest, path):
    assert rest.client.get(f"/api/v1/{path}", **rest.auth).status_code < 500


def test_odd_whmcs_input_is_never_a_server_error(whmcs):
    for action, params in (("GetClientsDetails", {"clientid": "99999999999999999999999"}),
                           ("GetClients", {"limitstart": "-5", "limitnum": "abc"}),
                           ("AddCredit", {"clientid": "1", "description": "x", "amount": "NaN"}),
                           ("GetInvoice", {"invoiceid": "1e9"}),
                           ("ModuleSuspend", {"serviceid": "99999999999999999999999"})):
        response = whmcs.raw(action, **params)
        assert response.status_code < 500 and response.json()["result"] == "error"
