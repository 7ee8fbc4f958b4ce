"""REST endpoints for contacts (clients.* scopes) and billable items (invoices.* scopes): CRUD through the audited
services, errors as 400 with field messages, scopes enforced, lists in a fixed number of queries."""
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from billing.models import BillableItem
from portal.models import ActivityLog, Contact
from tests.api.conftest import Rest, make_key
from tests.factories import ClientFactory

pytestmark = pytest.mark.django_db


def test_contacts_crud(rest, owner):
    created = rest.post("contacts/", {"client": owner.pk, "first_name": "Ann", "email": "ann@example.com",
                                      "country": "ca", "invoice_emails": True})
    assert created.status_code == 201, created.json()
    body = created.json()
    assert (body["client"], body["country"], body["invoice_emails"], body["product_emails"]) == (owner.pk, "CA", True, False)
    duplicate = rest.post("contacts/", {"client": owner.pk, "first_name": "B", "email": "ANN@example.com"})
    assert duplicate.status_code == 400
    assert duplicate.json()["error"]["fields"] == {"email": ["This client already has a contact with that e-mail address."]}
    patched = rest.patch(f"contacts/{body['id']}/", {"city": "Ottawa", "client": 999})
    assert patched.status_code == 200 and patched.json()["city"] == "Ottawa" and patched.json()["client"] == owner.pk
    assert rest.get("contacts/", client=owner.pk).json()["count"] == 1
    deleted = rest.client.delete(f"/api/v1/contacts/{body['id']}/", **rest.auth)
    assert deleted.status_code == 204 and not Contact.objects.exists()
    assert list(ActivityLog.objects.filter(action__startswith="contact.").order_by("pk").values_list("action", "actor_type")) == [
        ("contact.create", "api"), ("contact.update", "api"), ("contact.delete", "api")]


def test_billable_items_create_list_and_update(rest, owner):
    created = rest.post("billable-items/", {"client": owner.pk, "description": "Setup", "amount": "25.00",
                                            "invoice_action": "nextcron", "recur_every": 1, "recur_cycle": "months"})
    assert created.status_code == 201, created.json()
    item = BillableItem.objects.get()
    assert (item.amount, item.invoice_action, item.recurring, item.awaiting_invoice) == (Decimal("25.00"), "nextcron", True, True)
    bad = rest.post("billable-items/", {"client": owner.pk, "description": "x", "amount": "1.00", "recur_every": 2})
    assert bad.status_code == 400 and "recur_cycle" in bad.json()["error"]["fields"]
    patched = rest.patch(f"billable-items/{item.pk}/", {"amount": "30.00"})
    assert patched.status_code == 200 and patched.json()["amount"] == "30.00"
    BillableItem.objects.filter(pk=item.pk).update(awaiting_invoice=False)
    done = rest.patch(f"billable-items/{item.pk}/", {"amount": "31.00"})
    assert done.status_code == 400 and "nothing more to invoice" in done.json()["error"]["message"] + str(done.json())
    assert rest.get("billable-items/", awaiting_invoice="false").json()["count"] == 1
    assert BillableItem.objects.count() == 1


def test_scopes(client, owner):
    reader = Rest(client, make_key(name="reader", permissions=["clients.read"]))
    assert reader.get("contacts/").status_code == 200
    assert reader.post("contacts/", {"client": owner.pk, "first_name": "A", "email": "a@example.com"}).status_code == 403
    assert reader.get("billable-items/").status_code == 403
    assert not Contact.objects.exists()


@pytest.mark.parametrize("path, make", [
    ("contacts/", lambda: [Contact.objects.create(client=ClientFactory(), first_name="x", email="x@example.com") for _ in range(5)]),
    ("billable-items/", lambda: [BillableItem.objects.create(client=ClientFactory(), description="x", amount=1) for _ in range(5)]),
])
def test_lists_take_a_fixed_number_of_queries(rest, path, make):
    rest.get("products/")
    make()
    with CaptureQueriesContext(connection) as few:
        assert rest.get(path).status_code == 200
    make()
    with CaptureQueriesContext(connection) as many:
        assert rest.get(path).json()["count"] == 10
    assert len(many) == len(few)
