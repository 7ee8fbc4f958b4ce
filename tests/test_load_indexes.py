"""The indexes the load test's slow queries needed (migrations voip 0011_cdr_list_indexes, billing
0016_invoice_date_index) exist in the migrated database and the planner takes them — on SQLite and, with
DATABASE_URL, on MariaDB (docs/benchmarks.md, *Load test*)."""
from datetime import date

import pytest
from django.db import connection
from django.db.models import Count, Sum

from billing.models import Invoice
from tests.factories import ServiceFactory
from voip import selectors
from voip.models import Cdr
from voip.selectors import CallFilter

pytestmark = pytest.mark.django_db


def plan(queryset):
    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(("EXPLAIN QUERY PLAN " if connection.vendor == "sqlite" else "EXPLAIN ") + sql, params)
        return " ".join(str(cell) for row in cursor.fetchall() for cell in row)


def indexes(table):
    with connection.cursor() as cursor:
        return {name for name, info in connection.introspection.get_constraints(cursor, table).items() if info["index"]}


def test_the_migrations_made_the_indexes():
    assert {"cdr_service_calls", "cdr_answer_time"} <= indexes("voip_cdr")
    assert "invoice_date" in indexes("billing_invoice")
    assert "voip_cdr_service_6325c0_idx" not in indexes("voip_cdr")  # replaced by cdr_service_calls


def test_the_call_records_totals_read_the_covering_index():
    calls = selectors.service_calls(ServiceFactory(), CallFilter(date(2026, 11, 1), date(2026, 11, 30)))
    totals = calls.order_by().values("service").annotate(calls=Count("id"), billed=Sum("billed_seconds"))
    assert "cdr_service_calls" in plan(totals)


def test_the_staff_lists_read_in_index_order():
    assert "cdr_answer_time" in plan(Cdr.objects.order_by("-answer_time", "-id")[:100])
    assert "invoice_date" in plan(Invoice.objects.order_by("-date", "-id")[:100])
