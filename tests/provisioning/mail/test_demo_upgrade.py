"""Issue 13 item 2 on the demo's own data: the upgrade quote states each service's real period — the demo's Mail
Business ("12 of 30"), its Mail Basic paid 40 days ahead (which showed "Days left in this period 0 of 0"), and Mail
Business moved to an annual cycle ("12 of 365") — and a confirmed upgrade waits for its invoice, which the client
reaches from the service page. The demo is loaded on a fixed day, so the figures are exact."""
import re
from datetime import date
from decimal import Decimal
from unittest import mock

import pytest
from django.urls import reverse

from billing.models import BillingCycle, Product, Service, ServiceChange
from config import demo
from portal.models import ClientUser
from provisioning import demo as provisioning_demo

pytestmark = pytest.mark.django_db

TODAY = date(2026, 12, 7)


@pytest.fixture
def alice(client, smartermail, monkeypatch):
    monkeypatch.setenv(provisioning_demo.URL_VARIABLE, smartermail.url)
    with mock.patch("django.utils.timezone.localdate", return_value=TODAY):
        demo._load_demo_data()
        provisioning_demo.attach_simulator()
        client.force_login(ClientUser.objects.get(client__email="alice@acme.example", is_owner=True).user)
        yield client


def text(response):
    assert response.status_code == 200
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.content.decode())).strip()


def review(client, service, **fields):
    url = reverse("clientarea:service_change", args=[service.pk])
    return client.post(url, {"action": "review", **fields})


def business():
    return Service.objects.get(domain="acme.example", product__name="Mail Business")


def test_the_demo_mail_business_quote_states_its_monthly_period(alice):
    page = text(review(alice, business(), product=business().product_id, option_mailboxes=6, option_mailbox_type="basic"))
    assert "Days left in this period 12 of 30 This period 2026-11-19 – 2026-12-18" in page
    # 12.00 → 13.50: 1.50 × 12/30 = 0.60, plus the next period, already invoiced (unpaid), in full: 2.10
    assert "Periods already invoiced 1 To pay now 2.10 USD The change takes effect when its invoice is paid." in page
    assert "0 of 0" not in page


def test_the_demo_mail_basic_paid_forty_days_ahead_states_its_period_not_0_of_0(alice):
    basic = Service.objects.get(domain="acme-widgets.example")
    business_plan = Product.objects.get(name="Mail Business")
    page = text(review(alice, basic, product=business_plan.pk, option_mailboxes=5, option_mailbox_type="basic"))
    # Paid up to 2027-01-16: the period holding today is 2026-11-16 → 12-15, and the next one is paid too.
    assert "Days left in this period 9 of 30 This period 2026-11-16 – 2026-12-15 Periods already invoiced 1" in page
    assert "To pay now 10.40 USD" in page  # 8.00 × 9/30 + 8.00 = 10.40
    assert "0 of 0" not in page


def test_the_demo_mail_business_on_an_annual_cycle_states_its_year(alice):
    service = business()
    Service.objects.filter(pk=service.pk).update(billing_cycle=BillingCycle.ANNUALLY, recurring_amount=Decimal("120.00"))
    page = text(review(alice, service, product=service.product_id, option_mailboxes=5, option_mailbox_type="enhanced"))
    assert "Days left in this period 12 of 365 This period 2025-12-19 – 2026-12-18" in page
    assert "0 of 0" not in page


def test_a_demo_upgrade_paid_from_alices_credit_takes_effect_at_once(alice):
    service = business()  # Alice has 12.50 credit and pays invoices from it
    form = {"product": service.product_id, "option_mailboxes": 6, "option_mailbox_type": "basic"}
    url = reverse("clientarea:service_change", args=[service.pk])
    confirmed = alice.post(url, {"action": "confirm", "expected_amount": "2.10", **form})
    change = ServiceChange.objects.get(service=service)
    assert (change.status, change.invoice.status) == (ServiceChange.Status.APPLIED, "paid")
    invoice = text(alice.get(confirmed["Location"]))
    assert ("Change – acme.example: options changed, recurring 12.00 → 13.50 USD monthly; 12 of 30 days left in the "
            "period 2026-11-19 – 2026-12-18; 1 later period(s) already invoiced") in invoice
    service.refresh_from_db()
    assert service.recurring_amount == Decimal("13.50")


def test_bobs_overdue_demo_upgrade_states_its_period_and_waits_for_its_invoice(client, alice):
    client.force_login(ClientUser.objects.get(client__email="bob@globex.example", is_owner=True).user)
    service = Service.objects.get(domain="globex.example", product__name="Mail Business")
    form = {"product": service.product_id, "option_mailboxes": 6, "option_mailbox_type": "basic"}
    url = reverse("clientarea:service_change", args=[service.pk])
    page = text(client.post(url, {"action": "review", **form}))
    # Due 2026-12-04, not paid: its period 2026-12-04 → 2027-01-03 is on the overdue invoice; 1.50 × 28/31 = 1.35
    assert "Days left in this period 28 of 31 This period 2026-12-04 – 2027-01-03 To pay now 1.35 USD" in page
    confirmed = client.post(url, {"action": "confirm", "expected_amount": "1.35", **form})
    change = ServiceChange.objects.get(service=service)
    assert (change.status, confirmed["Location"]) == (ServiceChange.Status.PENDING, reverse("clientarea:invoice", args=[change.invoice_id]))
    service.refresh_from_db()
    assert service.recurring_amount == Decimal("12.00")
    for page in (text(client.get(reverse("clientarea:service", args=[service.pk]))), text(client.get(url))):
        assert (f"A change is waiting for payment. New options, 13.50 USD recurring, takes effect when invoice "
                f"{change.invoice.number} (1.35 USD) is paid.") in page
