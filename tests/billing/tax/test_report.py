"""The tax report: per period, country, region and rate, net/tax/gross of invoices and credit notes, with a fixed
number of queries; the staff page and its CSV are guarded by a permission."""
import csv
import io
from datetime import timedelta
from decimal import Decimal as D

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse
from django.utils import timezone

from billing.services.invoices import invoice_cancel
from billing.tax.report import tax_report
from portal.activity import Actor
from tests.billing.tax.conftest import invoice_of, rule
from tests.billing.tax.test_credit_notes import paid_invoice, refund
from tests.factories import ClientFactory

pytestmark = pytest.mark.django_db


def test_figures_per_country_and_rate(eu_seller, django_assert_num_queries):
    invoice_of(ClientFactory(country="FR"), D("100.00"))
    invoice_of(ClientFactory(country="FR"), D("50.00"))
    invoice_of(ClientFactory(country="NL"), D("10.00"))
    cancelled = invoice_of(ClientFactory(country="NL"), D("999.00"))
    invoice_cancel(invoice=cancelled, actor=Actor.system("test"))  # never paid: not a sale
    today = timezone.localdate()
    with django_assert_num_queries(2):
        rows = tax_report(start=today, end=today)
    assert [(r.country, r.name, r.rate, r.net, r.tax, r.gross) for r in rows] == [
        ("FR", "VAT", D("20.000"), D("150.00"), D("30.00"), D("180.00")),
        ("NL", "BTW", D("21.000"), D("10.00"), D("2.10"), D("12.10")),
    ]
    assert tax_report(start=today + timedelta(days=1), end=today + timedelta(days=30)) == []


def test_full_refund_brings_the_invoice_to_zero_and_partial_shows_both_sides():
    invoice = paid_invoice()
    refund(invoice, "50.00")
    today = timezone.localdate()
    (row,) = tax_report(start=today, end=today, invoice_ids=[invoice.pk])
    assert (row.invoice_net, row.invoice_tax, row.credit_net, row.credit_tax) == (D("119.99"), D("22.80"), D("-42.02"), D("-7.98"))
    assert (row.net, row.tax, row.gross) == (D("77.97"), D("14.82"), D("92.79"))
    refund(invoice, "92.79", n=2)
    (row,) = tax_report(start=today, end=today, invoice_ids=[invoice.pk])
    assert (row.net, row.tax, row.gross) == (D("0.00"), D("0.00"), D("0.00"))


def test_staff_page_and_csv_need_the_permission(client, staff_user):
    rule("DE", "19.000")
    invoice_of(ClientFactory(country="DE"), D("100.00"))
    today = timezone.localdate().isoformat()
    url = reverse("admin:billing_tax_report")
    client.force_login(staff_user)
    if not staff_user.is_superuser:
        assert client.get(url).status_code == 403
        staff_user.user_permissions.add(Permission.objects.get(codename="view_tax_report"))
    page = client.get(url, {"start": today, "end": today})
    assert page.status_code == 200 and b"19 %" in page.content and b"119.00" in page.content
    answer = client.get(url, {"start": today, "end": today, "format": "csv"})
    assert answer["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(answer.content.decode())))
    assert rows[0][:6] == ["currency", "country", "region", "level", "tax", "rate"]
    assert rows[1] == ["USD", "DE", "", "1", "VAT", "19.000", "100.00", "19.00", "119.00", "0.00", "0.00", "0.00",
                       "100.00", "19.00", "119.00"]
    bad = client.get(url, {"start": today, "end": "2000-01-01"})
    assert bad.status_code == 200 and b"ends before it starts" in bad.content


def test_staff_without_permission_are_refused(client, django_user_model):
    user = django_user_model.objects.create_user("clerk", password="x", is_staff=True)
    client.force_login(user)
    assert client.get(reverse("admin:billing_tax_report")).status_code == 403
