import pytest
from django.contrib.auth import get_user_model

from billing.models import Invoice, Product, Service
from portal import demo
from portal.models import Client

pytestmark = pytest.mark.django_db


def test_demo_data_covers_the_states_staff_and_clients_need_to_see():
    assert demo.load_demo() is True
    assert get_user_model().objects.get(username=demo.STAFF_USERNAME).check_password(demo.STAFF_PASSWORD)
    assert Client.objects.count() == len(demo.CLIENTS)
    statuses = set(Service.objects.values_list("status", flat=True))
    assert statuses == {"pending", "active", "suspended", "terminated"}
    assert set(Service.objects.values_list("product__type", flat=True)) == {Product.Type.MAIL, Product.Type.VOIP}
    assert Client.objects.filter(services__isnull=False).distinct().count() == len(demo.CLIENTS)
    assert Service.objects.filter(client__email=demo.CLIENTS[0].email).count() > 1  # a client with many domains
    invoices = Invoice.objects.all()
    assert {i.status for i in invoices} == {"paid", "unpaid"}
    assert any(i.status == "unpaid" and i.due_date < i.date.today() for i in invoices)  # overdue
    assert all(i.total == sum(item.amount for item in i.items.all()) for i in invoices)


def test_loading_twice_adds_nothing():
    demo.load_demo()
    counts = (Client.objects.count(), Service.objects.count(), Invoice.objects.count())
    assert demo.load_demo() is False
    assert (Client.objects.count(), Service.objects.count(), Invoice.objects.count()) == counts


def test_demo_client_can_sign_in(client):
    demo.load_demo()
    response = client.post("/login/", {"username": demo.CLIENTS[0].email, "password": demo.CLIENT_PASSWORD})
    assert response.status_code == 302
    assert b"acme.example" in client.get("/").content


def test_demo_history_is_what_the_invoice_generator_would_have_left():
    from django.utils import timezone

    from billing.services.generation import generate_invoices

    demo.load_demo()
    invoices = Invoice.objects.count()
    generate_invoices(date=timezone.localdate())
    assert Invoice.objects.count() == invoices  # every period inside the window is invoiced already
    overdue = Service.objects.get(domain="globex.example")
    assert overdue.next_invoice_date > overdue.next_due_date
