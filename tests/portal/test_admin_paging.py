"""Staff lists of big tables (portal.admin_paging): counted up to a limit, never with a COUNT(*) over the whole
table; pages read without joins; searches by number use indexed exact matches, searches by client go through
the client table. Runs on SQLite and, with DATABASE_URL, on MariaDB."""
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from billing.models import Invoice, Service
from portal.activity import Actor, log_activity
from portal.admin_paging import LargeTablePaginator, table_row_estimate
from portal.models import ActivityLog
from tests.factories import ClientFactory, InvoiceFactory, ServiceFactory

pytestmark = pytest.mark.django_db

BIG_LISTS = ["portal_client", "billing_service", "billing_invoice", "portal_activitylog"]
COUNT = re.compile(r"^SELECT COUNT\(", re.IGNORECASE)  # a count statement (not a count inside a column)


def rows(n):
    for service in ServiceFactory.create_batch(n):
        InvoiceFactory(client=service.client)
        log_activity(actor=Actor.system("t"), action="test.row", target=service, client=service.client, message="m")


@pytest.fixture
def small_limit(monkeypatch):
    monkeypatch.setattr(LargeTablePaginator, "exact_up_to", 3)


def changelist(client, table, **params):
    app, model = table.split("_", 1)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse(f"admin:{app}_{model}_changelist"), params)
    assert response.status_code == 200
    return response, [query["sql"] for query in queries.captured_queries]


@pytest.mark.parametrize("table", BIG_LISTS)
def test_no_count_reads_the_whole_table(client, staff_user, small_limit, table):
    rows(6)
    client.force_login(staff_user)
    response, sql = changelist(client, table)
    counts = [statement for statement in sql if COUNT.search(statement)]
    assert counts and all("LIMIT 4" in statement for statement in counts), counts
    if connection.vendor == "sqlite":  # no statistics: the list shows the first rows it counted
        assert "more than 3" in response.content.decode() or "about" in response.content.decode()


@pytest.mark.parametrize("table", ["billing_service", "billing_invoice", "portal_activitylog"])
def test_the_page_joins_nothing(client, staff_user, table):
    rows(2)
    client.force_login(staff_user)
    _response, sql = changelist(client, table)
    page = [statement for statement in sql if f"FROM \"{table}\"" in statement or f"FROM `{table}`" in statement]
    page = [statement for statement in page if "ORDER BY" in statement]
    assert page and all(" JOIN " not in statement for statement in page), page


def test_the_paginator_counts_exactly_below_the_limit_and_says_more_than_past_it_when_filtered(small_limit):
    rows(5)
    assert LargeTablePaginator(Service.objects.filter(pk__lte=Service.objects.order_by("pk")[1].pk), 10).count == 2
    filtered = LargeTablePaginator(Invoice.objects.filter(total__gte=0), 2)
    assert (filtered.count, filtered.estimated, filtered.num_pages) == (3, True, 2)
    assert list(filtered.page(2).object_list) == list(Invoice.objects.filter(total__gte=0).order_by("-date", "-id")[2:3])


def test_an_unfiltered_list_past_the_limit_takes_the_tables_statistics(small_limit):
    rows(5)
    whole = LargeTablePaginator(ActivityLog.objects.all(), 2)
    estimate = table_row_estimate(ActivityLog, "default")
    count = whole.count
    assert whole.estimated
    if connection.vendor == "sqlite":
        assert estimate is None and count == 4  # what was counted: the limit and one
    else:
        assert count == max(estimate or 0, 4)


def test_a_number_is_looked_up_in_the_indexed_id_columns_only(client, staff_user):
    rows(3)
    service = Service.objects.order_by("pk").last()
    ServiceFactory(domain=f"{service.pk}.example.com")  # its domain contains the number: not a match
    client.force_login(staff_user)
    response, sql = changelist(client, "billing_service", q=str(service.pk))
    assert list(response.context["cl"].result_list) == [service]
    assert not any("LIKE" in statement.upper() for statement in sql)
    response, _sql = changelist(client, "portal_activitylog", q=str(service.client_id))
    assert {entry.client_id for entry in response.context["cl"].result_list} == {service.client_id}


def test_a_search_finds_rows_by_their_clients_name_without_joining_the_client_table(client, staff_user):
    found = ClientFactory(company_name="Zebra Hosting Ltd")
    ServiceFactory(client=found, domain="one.example")
    InvoiceFactory(client=found)
    rows(2)
    client.force_login(staff_user)
    response, sql = changelist(client, "billing_service", q="zebra")
    assert [service.client_id for service in response.context["cl"].result_list] == [found.pk]
    response, _sql = changelist(client, "billing_invoice", q="Zebra")
    assert [invoice.client_id for invoice in response.context["cl"].result_list] == [found.pk]
    response, _sql = changelist(client, "billing_service", q="one.example")
    assert [service.domain for service in response.context["cl"].result_list] == ["one.example"]


def test_a_filtered_list_links_each_row_with_its_filters_and_a_checkbox_as_djangos(client, staff_user):
    services = ServiceFactory.create_batch(2, status=Service.Status.ACTIVE)
    ServiceFactory(status=Service.Status.SUSPENDED)
    client.force_login(staff_user)
    response, _sql = changelist(client, "billing_service", status__exact="active")
    html = response.content.decode()
    for service in services:
        change = reverse("admin:billing_service_change", args=[service.pk])
        # what Django's own add_preserved_filters gives the row's link: the list's query as _changelist_filters
        assert f'href="{change}?_changelist_filters=status__exact%3Dactive"' in html
        assert (f'<input type="checkbox" name="_selected_action" value="{service.pk}" class="action-select" '
                f'aria-label="Select this object for an action - {service}">') in html
    assert html.count('name="_selected_action"') == 2  # the suspended service is filtered out


def test_big_lists_show_50_rows_a_page(client, staff_user):
    ServiceFactory.create_batch(51)
    client.force_login(staff_user)
    response, _sql = changelist(client, "billing_service")
    assert response.content.decode().count('name="_selected_action"') == 50
    response, _sql = changelist(client, "billing_service", p=2)
    assert response.content.decode().count('name="_selected_action"') == 1
