"""Issuing many invoices taxes them with a fixed number of queries: the rules of the whole batch are read once and
the tax lines are written in one bulk insert, whatever the number of invoices, countries and levels."""
from datetime import timedelta
from decimal import Decimal as D

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from billing.models import InvoiceItem, InvoiceTaxLine
from billing.services.invoices import Draft, Line, issue_invoices
from portal.activity import Actor
from tests.billing.tax.conftest import rule
from tests.factories import ClientFactory

pytestmark = pytest.mark.django_db


def issue(clients):
    today = timezone.localdate()
    drafts = [Draft(c, [Line(InvoiceItem.Kind.ITEM, "Hosting", D("10.00"))], today + timedelta(days=7), apply_credit=False)
              for c in clients]
    with transaction.atomic():
        return issue_invoices(drafts=drafts, on_date=today, actor=Actor.system("test"))


def test_queries_do_not_grow_with_the_batch():
    rule("CA", "5.000", name="GST")
    rule("CA", "9.975", name="QST", level=2, region="QC", compound=True)
    rule("DE", "19.000")
    few = [ClientFactory(country=c, state="QC" if c == "CA" else "") for c in ("CA", "DE")]
    many = [ClientFactory(country=c, state="QC" if c == "CA" else "") for c in ("CA", "DE", "US") * 10]
    issue([ClientFactory(country="DE")])  # warms the caches a first issue fills (content types)
    with CaptureQueriesContext(connection) as small:
        issue(few)
    with CaptureQueriesContext(connection) as large:
        invoices = issue(many)
    assert len(large.captured_queries) == len(small.captured_queries)
    assert InvoiceTaxLine.objects.filter(invoice__in=invoices).count() == 10 * 2 + 10 * 1
    quebec = next(i for i in invoices if i.client.country == "CA")
    assert (quebec.tax, quebec.total) == (D("1.55"), D("11.55"))  # GST 0.50; QST 10.50 × 9.975 % = 1.047… → 1.05
