"""A call is one row: the legs of one call (Vodia's extension leg and trunk leg of an outbound call, FusionPBX's
b-leg) are stored, but the client's call records list, count, export and chart the call once; real
extension-to-extension calls are listed under the "Local" filter only, never counted as calls or billed."""
import csv
import io
import json
from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from provisioning.modules.vodia.cdrs import parse_pushed_cdrs
from provisioning.modules.vodia.simulator import json_leg
from provisioning.telephony.cdrs import EXTENSION_LEG, LOCAL_CALL
from tests.voip.factories import stored_calls
from voip.models import Cdr, CdrSource
from voip.services.push import receive_push

pytestmark = pytest.mark.django_db


def epoch(hours_ago):
    return int((timezone.now() - timedelta(hours=hours_ago)).timestamp())


def outbound_legs(call_id, *, hours_ago=2, seconds=60, remote="+12125551234", extension="1001"):
    """An outbound call as Vodia pushes it: the extension's leg (the call's first leg, whose CallID is the
    call's PrimaryCallID) and the trunk leg naming that PrimaryCallID (voip/demo_calls.py does the same)."""
    start = epoch(hours_ago)
    times = {"start": start, "connect": start + 5, "end": start + 5 + seconds}
    return (
        json_leg(call_id=call_id, direction="I", extension=extension, extension_name="Alice", local_party=remote,
                 remote_party=extension, **times),
        json_leg(call_id=f"{call_id}-trunk", primary_call_id=call_id, direction="O", trunk="SIP Trunk",
                 local_party=extension, remote_party=remote, **times),
    )


def local_legs(call_id, *, hours_ago=3, caller="1001", callee="1002"):
    """An extension-to-extension call: the caller's leg (first) and the called extension's leg."""
    start = epoch(hours_ago)
    times = {"start": start, "connect": start + 3, "end": start + 33}
    return (
        json_leg(call_id=call_id, direction="I", extension=caller, local_party=callee, remote_party=caller, **times),
        json_leg(call_id=f"{call_id}-b", primary_call_id=call_id, direction="O", extension=callee,
                 local_party=caller, remote_party=callee, **times),
    )


@pytest.fixture
def vodia(service):
    return CdrSource.objects.create(name="Vodia", kind=CdrSource.Kind.VODIA, schedule=CdrSource.Schedule.MANUAL)


def push(source, *legs):
    """Each leg in its own push, as Vodia's json: scheme posts them."""
    return [receive_push(source=source, body=json.dumps(leg).encode(), account="tenant-a.example") for leg in legs]


def legs():
    return {cdr.external_id: (cdr.direction, cdr.internal_leg, cdr.status, cdr.reason)
            for cdr in Cdr.objects.order_by("id")}


# --- reading the legs -----------------------------------------------------------------------------------------


def test_a_calls_legs_name_its_primary_call_id_and_later_extension_legs_are_internal():
    extension_leg, trunk_leg = parse_pushed_cdrs(list(outbound_legs("c1")), tenant="tenant-a.example")
    assert (extension_leg.direction, extension_leg.call_id, extension_leg.internal_leg) == ("local", "c1", False)
    assert extension_leg.ignore_reason == LOCAL_CALL  # the import hides it once the trunk leg is known
    assert (trunk_leg.direction, trunk_leg.call_id, trunk_leg.internal_leg) == ("outbound", "c1", False)
    first, second = parse_pushed_cdrs(list(local_legs("x1")), tenant="tenant-a.example")
    assert (first.internal_leg, second.internal_leg, second.call_id) == (False, True, "x1")
    assert second.ignore_reason == EXTENSION_LEG


# --- importing them -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("order", [(0, 1), (1, 0)], ids=["extension-leg-first", "trunk-leg-first"])
def test_the_extension_leg_of_a_trunk_call_is_an_internal_leg_whatever_the_order(service, vodia, order):
    both = outbound_legs("c1")
    push(vodia, *(both[index] for index in order))
    assert legs() == {
        "c1": ("local", True, "ignored", EXTENSION_LEG),
        "c1-trunk": ("outbound", False, "rated", ""),
    }
    assert Cdr.objects.get(external_id="c1-trunk").cost == Decimal("0.7000")  # 0.10 + 60 s at 0.60/min


def test_both_legs_in_one_push_and_a_repeated_push_change_nothing(service, vodia):
    body = json.dumps(list(outbound_legs("c1"))).encode()
    first = receive_push(source=vodia, body=body, account="tenant-a.example")
    again = receive_push(source=vodia, body=body, account="tenant-a.example")
    assert (first.inserted, again.inserted, again.duplicates) == (2, 0, 2)
    assert legs()["c1"][:2] == ("local", True) and legs()["c1-trunk"][:2] == ("outbound", False)


def test_an_extension_to_extension_call_stays_one_local_call(service, vodia):
    push(vodia, *local_legs("x1"))
    assert legs() == {
        "x1": ("local", False, "ignored", LOCAL_CALL),
        "x1-b": ("local", True, "ignored", EXTENSION_LEG),
    }


# --- the client's call records ----------------------------------------------------------------------------------


@pytest.fixture
def traffic(service, vodia):
    """Two outbound calls (two legs each), an inbound trunk call and an extension-to-extension call."""
    push(vodia, *outbound_legs("c1", hours_ago=2), *reversed(outbound_legs("c2", hours_ago=4, seconds=120)))
    start = epoch(5)
    push(vodia, json_leg(call_id="in1", direction="I", trunk="SIP Trunk", local_party="12125550100",
                         remote_party="+13105550199", start=start, connect=start + 2, end=start + 62))
    push(vodia, *local_legs("x1", hours_ago=6))
    return service


def page(client, service, **params):
    client.force_login(service.client.owner_user)
    return client.get(reverse("clientarea:voip_calls", args=[service.pk]), params)


def rows_of(response):
    return [(call.direction, call.caller, call.callee) for call in response.context["page"].object_list]


def test_an_outbound_vodia_call_is_one_row_and_one_call(client, traffic):
    response = page(client, traffic)
    assert rows_of(response) == [
        ("outbound", "1001", "+12125551234"), ("outbound", "1001", "+12125551234"),
        ("inbound", "+13105550199", "12125550100"),
    ]
    totals = response.context["totals"]
    # 0.10 + 60 s and 0.10 + 120 s at 0.60/min outbound; inbound 60 s of 1212 at 0.60/min.
    assert (totals.calls, totals.cost) == (3, Decimal("0.7000") + Decimal("1.3000") + Decimal("0.7000"))
    html = response.content.decode()
    assert "Ignored (not billed)" not in html
    assert '<option value="local">Local</option>' in html


def test_the_local_filter_lists_only_real_extension_to_extension_calls(client, traffic):
    response = page(client, traffic, direction="local")
    assert rows_of(response) == [("local", "1001", "1002")]
    assert response.context["totals"].calls == 1 and response.context["totals"].cost == 0
    html = response.content.decode()
    assert "Local calls (extension to extension)" in html and "Billed minutes" not in html
    assert 'data-testid="spend-chart"' not in html  # local calls have no spend to chart
    assert '<option value="local" selected>' in html
    assert [rows_of(page(client, traffic, direction=d)) for d in ("outbound", "inbound")] == [
        [("outbound", "1001", "+12125551234")] * 2, [("inbound", "+13105550199", "12125550100")]]


def export(client, service, **params):
    client.force_login(service.client.owner_user)
    response = client.get(reverse("clientarea:voip_calls_csv", args=[service.pk]), params)
    return [row[1:4] for row in csv.reader(io.StringIO(b"".join(response.streaming_content).decode()))][1:]


def test_the_csv_export_and_the_chart_agree_with_the_list(client, traffic):
    assert export(client, traffic) == [
        ["outbound", "1001", "+12125551234"], ["outbound", "1001", "+12125551234"],
        ["inbound", "+13105550199", "12125550100"],
    ]
    assert export(client, traffic, direction="local") == [["local", "1001", "1002"]]
    response = page(client, traffic)
    assert "2.70 USD in total" in response.content.decode()  # the chart sums the listed calls' costs


def test_the_service_panel_shows_calls_not_legs(client, traffic):
    from voip import selectors

    recent = selectors.recent_calls(traffic)
    assert [(call.direction, call.external_id) for call in recent] == [
        ("outbound", "c1-trunk"), ("outbound", "c2-trunk"), ("inbound", "in1")]
    today = timezone.localdate()
    first, _ = selectors.period_bounds(today.replace(day=1), today)
    this_month = Cdr.objects.filter(external_id__in=("c1-trunk", "c2-trunk", "in1"), answer_time__gte=first)
    assert selectors.month_to_date(traffic).calls == this_month.count()


def test_a_fusionpbx_b_leg_is_not_a_call_of_its_own(client, service, source):
    now = timezone.now() - timedelta(hours=1)
    stored_calls(service, source, [
        {"answer_time": now, "cost": "0.5500"},
        {"answer_time": now, "cost": "0", "status": "ignored", "internal_leg": True,
         "reason": "b-leg (the a-leg carries the charge)"},
    ])
    response = page(client, service)
    assert response.context["totals"].calls == 1 and len(response.context["page"].object_list) == 1


def test_the_page_with_legs_and_local_calls_takes_a_fixed_number_of_queries(
        client, traffic, django_assert_max_num_queries):
    client.force_login(traffic.client.owner_user)
    for direction in ("", "local"):
        with django_assert_max_num_queries(12):
            assert client.get(reverse("clientarea:voip_calls", args=[traffic.pk]), {"direction": direction}).status_code == 200


# --- calls stored before the legs were flagged --------------------------------------------------------------------


def test_stored_extension_legs_and_b_legs_become_internal_legs(service, source):
    import importlib

    from django.apps import apps

    migration = importlib.import_module("voip.migrations.0010_cdr_call_legs")
    at = timezone.now()
    stored_calls(service, source, [
        {"answer_time": at, "cost": "0", "status": "ignored", "direction": "local", "reason": EXTENSION_LEG},
        {"answer_time": at, "cost": "0", "status": "ignored", "reason": "b-leg (the a-leg carries the charge)"},
        {"answer_time": at, "cost": "0", "status": "ignored", "direction": "local", "reason": LOCAL_CALL},
        {"answer_time": at, "cost": "0.55"},
    ])
    migration.flag_stored_legs(apps, None)
    assert list(Cdr.objects.order_by("line").values_list("internal_leg", flat=True)) == [True, True, False, False]
