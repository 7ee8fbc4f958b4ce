"""The Vodia module over HTTP against the simulator (suspension by the tenant's extensions, undone exactly;
401/403/404/5xx as clear errors) and the parser of pushed call records (both Vodia schemes)."""
import json
from datetime import UTC, datetime

import pytest

from billing.models import Service
from provisioning import lifecycle
from provisioning.models import ModuleCall
from provisioning.modules.base import ModuleError
from provisioning.modules.vodia.cdrs import parse_pushed_cdrs
from provisioning.modules.vodia.simulator import json_leg, push_cdrs, webcdr
from provisioning.registry import get_module
from provisioning.telephony.cdrs import CdrError, CdrRecord
from tests.provisioning.modules.vodia.fixtures import VODIA_TENANT
from tests.provisioning.modules.voip_fixtures import ACTOR, created

S = Service.Status


@pytest.fixture
def active(vodia_service):
    return created(vodia_service)


# --- lifecycle ------------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_create_verifies_the_tenant_and_a_numeric_search_string(vodia_service, vodia):
    service = vodia_service()
    lifecycle.service_create(service=service, actor=ACTOR)
    assert "Found the tenant rucken.wat1.ictvoip.ca on 127.0.0.1 with the extension 8300" in ModuleCall.objects.get(
        action="create").response_summary
    with pytest.raises(ModuleError, match="does not exist on the Vodia PBX .* The reseller creates the tenant"):
        lifecycle.service_create(service=vodia_service(tenant="nobody.example"), actor=ACTOR)
    with pytest.raises(ModuleError, match="search string 9999 is not an extension"):
        lifecycle.service_create(service=vodia_service(search_string="9999"), actor=ACTOR)
    lifecycle.service_create(service=vodia_service(search_string="John"), actor=ACTOR)  # a first name: not checked


@pytest.mark.django_db
def test_suspend_disables_every_extension_of_the_tenant_and_unsuspend_restores_exactly_those(active, vodia):
    service = active()
    vodia.set_disabled(VODIA_TENANT, "8302", True)  # disabled by the reseller: must stay so
    lifecycle.service_suspend(service=service, actor=ACTOR, reason=Service.SuspendReason.VOIP_CREDIT)
    service.refresh_from_db()
    assert service.suspend_mode == "extensions"
    assert all(vodia.extension_disabled(VODIA_TENANT, ext) for ext in ("8300", "8301", "8302"))
    assert not vodia.extension_disabled(VODIA_TENANT, "700")  # a hunt group is not an extension
    assert service.module_data["vodia_suspension"] == {"extensions": ["8300", "8301"]}
    lifecycle.service_unsuspend(service=service, actor=ACTOR)
    assert not vodia.extension_disabled(VODIA_TENANT, "8300") and not vodia.extension_disabled(VODIA_TENANT, "8301")
    assert vodia.extension_disabled(VODIA_TENANT, "8302")
    service.refresh_from_db()
    assert service.status == S.ACTIVE and service.module_data["vodia_suspension"] is None


@pytest.mark.django_db
def test_an_extension_removed_while_suspended_is_skipped_and_named(active, vodia):
    service = active()
    lifecycle.service_suspend(service=service, actor=ACTOR, reason=Service.SuspendReason.MANUAL)
    del vodia.tenant(VODIA_TENANT).accounts["8301"]
    lifecycle.service_unsuspend(service=service, actor=ACTOR)
    assert "8301 no longer exist" in ModuleCall.objects.get(action="unsuspend").response_summary
    assert not vodia.extension_disabled(VODIA_TENANT, "8300")


@pytest.mark.django_db
def test_terminate_keeps_the_tenant_unless_the_product_deletes_data(active, vodia):
    lifecycle.service_terminate(service=active(), actor=ACTOR)
    assert vodia.tenant(VODIA_TENANT) is not None and vodia.extension_disabled(VODIA_TENANT, "8300")
    vodia.set_disabled(VODIA_TENANT, "8300", False)
    service = active(delete_data_on_terminate=True)
    lifecycle.service_terminate(service=service, actor=ACTOR)
    assert vodia.tenant(VODIA_TENANT) is None
    # terminating a tenant that is already gone is success
    vodia.add_tenant(VODIA_TENANT, extensions=["8300"])
    again = active()
    vodia.tenants.clear()
    lifecycle.service_terminate(service=again, actor=ACTOR, delete_data=True)
    assert "already gone" in ModuleCall.objects.filter(action="terminate").latest("id").response_summary


@pytest.mark.django_db
def test_bad_credentials_401_and_no_api_access_403_are_permanent_and_say_what_to_do(vodia_service, vodia):
    service = vodia_service()
    service.server.password = "wrong"
    service.server.save()
    with pytest.raises(ModuleError, match=r"refused the credentials \(401\)") as info:
        lifecycle.service_create(service=service, actor=ACTOR)
    assert info.value.permanent
    vodia.add_user("clerk", "clerk-pass", api_access=False)
    service.server.username, service.server.password = "clerk", "clerk-pass"
    service.server.save()
    with pytest.raises(ModuleError, match="lacks \"API access\""):
        lifecycle.service_create(service=service, actor=ACTOR)


@pytest.mark.django_db
def test_5xx_and_timeouts_are_temporary(active, vodia):
    service = active()
    vodia.fail("status", status=502, times=3)
    with pytest.raises(ModuleError, match="answered 502") as info:
        lifecycle.service_suspend(service=service, actor=ACTOR, reason=Service.SuspendReason.MANUAL)
    assert not info.value.permanent
    service.refresh_from_db()
    assert service.status == S.ACTIVE
    service.server.settings = {**service.server.settings, "read_timeout": 1}
    service.server.save()
    vodia.fail("timeout", seconds=2, times=3)
    with pytest.raises(ModuleError, match="timed out"):
        lifecycle.service_suspend(service=service, actor=ACTOR, reason=Service.SuspendReason.MANUAL)


@pytest.mark.django_db
def test_test_connection_and_no_cdr_pull(vodia_server):
    from provisioning.lifecycle import server_ref

    module = get_module("vodia")
    assert "as admin; 1 tenant(s)" in module.test_connection(server_ref(vodia_server)).message
    assert module.supports_cdrs is False
    with pytest.raises(ModuleError, match="cannot fetch call records"):
        module.fetch_cdrs(None, None)


@pytest.mark.django_db
def test_change_password_is_not_offered(active):
    with pytest.raises(ModuleError, match="cannot change passwords"):
        lifecycle.service_change_password(service=active(), actor=ACTOR, new_password="Whatever-123")


# --- pushed call records --------------------------------------------------------------------------------------


def test_json_legs_bill_the_trunk_leg_and_ignore_the_extension_leg():
    legs = [
        json_leg(call_id="PRA93", direction="I", extension="504", extension_name="Tom Jones",
                 local_party="132221", remote_party="504", start=1767261600, connect=1767261603, end=1767261605.2),
        json_leg(call_id="mte7y70@pbx", primary_call_id="PRA93", direction="O", trunk="SIP Trunk Vodia",
                 local_party="504", remote_party="+61132221", start=1767261600, connect=1767261603,
                 end=1767261605.2),
    ]
    extension_leg, trunk_leg = parse_pushed_cdrs(json.dumps(legs).encode(), tenant="Acme.Example")
    # Not billed; the call's first leg, so the import hides it when the trunk leg names the call (PrimaryCallID).
    assert (extension_leg.direction, extension_leg.ignore_reason, extension_leg.call_id) == (
        "local", "local call (extension to extension)", "PRA93")
    assert trunk_leg.call_id == "PRA93" and not trunk_leg.internal_leg
    assert (trunk_leg.external_id, trunk_leg.direction, trunk_leg.number, trunk_leg.caller) == (
        "mte7y70@pbx", "outbound", "+61132221", "504")
    assert trunk_leg.billsec == 3  # 2.2 s rounded up
    assert trunk_leg.answer_time == datetime(2026, 1, 1, 10, 0, 3, tzinfo=UTC)
    assert trunk_leg.account == "acme.example" and trunk_leg.ignore_reason == ""
    assert trunk_leg.fields[0] == "PRA93"


def test_an_inbound_trunk_leg_is_rated_on_the_called_did_and_unanswered_legs_are_ignored():
    inbound = json_leg(call_id="in-1", direction="I", trunk="SIP Trunk", local_party="sip:15484815577@pbx",
                       remote_party="+12125551234", start="2026-01-01T10:00:00", connect="2026-01-01T10:00:05",
                       end="2026-01-01T10:01:05")
    missed = json_leg(call_id="in-2", direction="I", trunk="SIP Trunk", local_party="15484815577",
                      remote_party="+12125551234", start=1767261600, connect=None, end=1767261620)
    first, second = parse_pushed_cdrs([inbound, missed], time_zone="America/Toronto")
    assert (first.direction, first.number, first.caller, first.billsec) == ("inbound", "15484815577", "+12125551234", 60)
    assert first.answer_time == datetime(2026, 1, 1, 15, 0, 5, tzinfo=UTC)  # Toronto local time → UTC
    assert second.ignore_reason == "not answered" and second.answer_time is None and second.billsec == 0


def test_webcdr_records_use_to_and_the_trunk_legs_direction_never_from():
    outbound = webcdr(call_id="c1", domain="Acme.Example", from_='"Tom" <sip:504@acme.example>',
                      to="<sip:+12125551234@acme.example>", start=1767261600.0, connect=1767261610.5,
                      end=1767261670.0, legs=[{"trunk": "SIP Trunk", "direction": "O"}])
    inbound = webcdr(call_id="c2", domain="acme.example", from_="<sip:+12125551234@x>", to="<sip:5484815577@x>",
                     start=1767261600.0, connect=1767261601.0, end=1767261661.0)
    internal = webcdr(call_id="c3", domain="acme.example", from_="<sip:504@x>", to="<sip:505@x>",
                      start=1767261600.0, connect=1767261601.0, end=1767261661.0)
    missed = webcdr(call_id="c4", domain="acme.example", from_="<sip:504@x>", to="<sip:+12125551234@x>",
                    start=1767261600.0)
    items = parse_pushed_cdrs([outbound, inbound, internal, missed], dids=("15484815577",), region="CA")
    assert [(i.external_id, i.direction, i.number) for i in items] == [
        ("c1", "outbound", "+12125551234"), ("c2", "inbound", "5484815577"), ("c3", "local", "505"),
        ("c4", "outbound", "+12125551234")]
    assert items[0].billsec == 60 and items[0].account == "acme.example"
    assert items[2].ignore_reason.startswith("local call") and items[3].ignore_reason == "not answered"


def test_bad_pushes_are_errors_with_their_position_and_good_ones_still_read():
    good = json_leg(call_id="ok", direction="O", trunk="T", local_party="504", remote_party="+12125551234",
                    start=1767261600, connect=1767261601, end=1767261661)
    items = parse_pushed_cdrs([
        good, "text", {"hello": "world"},
        {**good, "CallID": ""}, {**good, "Direction": "X"}, {**good, "TimeEnd": None},
        {**good, "TimeConnected": "yesterday"}, {**good, "TimeEnd": 1767261500}, {**good, "RemoteParty": ""},
    ])
    assert isinstance(items[0], CdrRecord)
    errors = items[1:]
    assert all(isinstance(e, CdrError) for e in errors) and [e.line for e in errors] == list(range(2, 10))
    reasons = [e.reason for e in errors]
    assert reasons[0] == "not a JSON object" and reasons[1].startswith("neither a json: leg")
    assert "CallID is empty" in reasons[2] and "Direction must be I or O" in reasons[3]
    assert "without an end time" in reasons[4] and "not epoch seconds or an ISO 8601" in reasons[5]
    assert "end time is before" in reasons[6] and "RemoteParty is empty" in reasons[7]
    assert parse_pushed_cdrs(b"{not json")[0].reason.startswith("the body is not JSON")
    assert parse_pushed_cdrs(b"{}", time_zone="Mars/Olympus")[0].reason == "unknown time zone 'Mars/Olympus'"


def test_the_same_push_gives_the_same_external_ids_and_millisecond_epochs_are_read():
    body = push_cdrs(VODIA_TENANT, 20, seed=4)
    first = [i.external_id for i in parse_pushed_cdrs(body)]
    assert first == [i.external_id for i in parse_pushed_cdrs(json.dumps(body))] and len(set(first)) == len(first)
    leg = json_leg(call_id="ms", direction="O", trunk="T", local_party="1", remote_party="+12125551234",
                   start=1767261600000, connect=1767261601000, end=1767261631000)
    record = parse_pushed_cdrs(leg)[0]
    assert record.billsec == 30 and record.answer_time == datetime(2026, 1, 1, 10, 0, 1, tzinfo=UTC)


def test_generated_pushes_bill_only_trunk_legs(vodia):
    items = parse_pushed_cdrs(push_cdrs(VODIA_TENANT, 50, seed=2), tenant=VODIA_TENANT)
    billed = [i for i in items if not i.ignore_reason]
    assert billed and all(i.fields[5] for i in billed)  # TrunkName present
    assert {i.direction for i in billed} == {"inbound", "outbound"}
