import re
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from billing.models import Invoice, Product, Service
from config import demo
from portal.models import Client
from provisioning import demo_polarismail as polaris_demo
from provisioning.mail.models import MailboxRecord
from tests.provisioning.modules.polarismail.fixtures import polarismail  # noqa: F401

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
    assert all(i.subtotal == sum(item.amount for item in i.items.all()) and i.total == i.subtotal + i.tax
               for i in invoices)
    # The demo's tax setup (billing.demo): Ontario's HST on one level, Quebec's GST + QST on two (docs/tax.md).
    alice = Invoice.objects.filter(client__email=demo.CLIENTS[0].email).first()
    assert [(t.name, t.rate) for t in alice.tax_lines.all()] == [("HST", Decimal("13.000"))]
    frank = Invoice.objects.filter(client__email="frank@northwind.example", items__kind="service").first()
    assert [t.name for t in frank.tax_lines.all()] == ["GST", "QST"] and frank.tax > 0


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


@pytest.fixture
def alice_with_the_polarismail_simulator(client, polarismail, monkeypatch):  # noqa: F811
    """The demo loaded with its PolarisMail server on a simulator (as run.py does), alice signed in."""
    monkeypatch.setenv(polaris_demo.URL_VARIABLE, polarismail.url)
    demo.load_demo()
    client.post("/login/", {"username": demo.CLIENTS[0].email, "password": demo.CLIENT_PASSWORD})
    return client, Service.objects.get(domain=polaris_demo.DEMO_DOMAIN)


def page_text(response):
    assert response.status_code == 200
    return re.sub(r"\s+", " ", response.content.decode())


def test_alices_polarismail_service_offers_distribution_lists_and_branding(alice_with_the_polarismail_simulator):
    client, service = alice_with_the_polarismail_simulator
    dashboard = page_text(client.get(reverse("clientarea:mail_dashboard", args=[service.pk])))
    assert "</i> Distribution Lists</a>" in dashboard and "</i> Branding</a>" in dashboard
    lists = page_text(client.get(reverse("clientarea:mail_lists", args=[service.pk])))
    assert re.findall(r'fw-semibold text-break me-auto">([^<]+)<', lists) == [
        "announce@acme-team.example", "team@acme-team.example"]
    team = page_text(client.get(reverse("clientarea:mail_list", args=[service.pk, "team"])))
    assert re.findall(r'me-auto text-break">([^<]+)<', team) == [
        "alice@acme-team.example", "sales@acme-team.example", "support@acme-team.example", "dana@contractors.example"]
    branding = client.get(reverse("clientarea:mail_branding", args=[service.pk]))
    assert branding.status_code == 200
    form = branding.context["form"]
    assert (form["brand_name"].value(), form["support_email"].value(), form["color"].value()) == (
        "Acme Team Mail", "support@acme-team.example", "#c2410c")


def test_alices_polarismail_accounts_add_up_to_the_services_disk_figure(alice_with_the_polarismail_simulator):
    client, service = alice_with_the_polarismail_simulator
    accounts = page_text(client.get(reverse("clientarea:mail_accounts", args=[service.pk])))
    for address in ("alice@acme-team.example", "sales@acme-team.example", "support@acme-team.example"):
        assert address in accounts
    records = MailboxRecord.objects.filter(service=service)
    assert sorted(records.values_list("address", "mailbox_type")) == [
        ("alice@acme-team.example", "enhanced"), ("sales@acme-team.example", "basic"),
        ("support@acme-team.example", "basic")]
    assert sum(record.used_mb for record in records) == service.disk_usage_mb
