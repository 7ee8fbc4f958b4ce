"""Scheduled fetches through a module's fetch_cdrs, the Vodia push endpoint, stale imports, and the jobs."""
import base64
import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from billing.models import CreditLedgerEntry
from portal.jobs import all_jobs
from provisioning.models import ModuleCall
from provisioning.telephony.cdrs import CdrError, CdrRecord
from tests.factories import ServerFactory
from tests.voip.modules import PbxModule
from voip import tasks
from voip.models import Cdr, CdrImport, CdrSource
from voip.services.fetching import import_source
from voip.services.imports import run_import, settle_stale_imports, start_import

pytestmark = pytest.mark.django_db
ANSWERED = datetime(2026, 11, 2, 15, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def pbx(settings):
    settings.PROVISIONING_MODULES = [*settings.PROVISIONING_MODULES, "tests.voip.modules.PbxModule"]
    PbxModule.reset()
    yield PbxModule
    PbxModule.reset()


def record(line, external_id, *, caller="1001", callee="2125551234", billsec=60, direction="outbound", account=""):
    return CdrRecord(line, external_id, direction, caller, callee, callee, ANSWERED, billsec, "ANSWERED", "", [],
                     account)


@pytest.fixture
def pbx_source(service):
    server = ServerFactory(module="voip_pbx")
    service.server = server
    service.save()
    return CdrSource.objects.create(name="PBX", kind=CdrSource.Kind.FUSIONPBX, server=server, time_zone="UTC")


def test_a_scheduled_fetch_imports_from_the_module_and_moves_the_window(pbx_source, service):
    PbxModule.records[:] = [record(1, "c1"), record(2, "c2", billsec=30), CdrError(3, "bad line", [])]
    first = import_source(source_id=pbx_source.pk)
    assert (first.status, first.kind, first.inserted, first.error_count) == ("done", "scheduled", 2, 1)
    assert first.charged == Decimal("0.4000") + Decimal("0.7000")
    ref, since = PbxModule.fetches[0]
    assert since is None and ref.kind == "fusionpbx" and ref.server.id == pbx_source.server_id
    assert ref.options["services"] == [{"id": service.pk, "domain": service.domain, "module_data": service.module_data}]
    pbx_source.refresh_from_db()
    assert pbx_source.last_imported_up_to is not None and pbx_source.import_claimed_at is None
    second = import_source(source_id=pbx_source.pk)  # the same records again: nothing new
    assert (second.inserted, second.duplicates, second.charged) == (0, 2, 0)
    assert PbxModule.fetches[1][1] == pbx_source.last_imported_up_to - timedelta(minutes=120)
    assert CreditLedgerEntry.objects.count() == 1
    assert ModuleCall.objects.filter(action="fetch_cdrs", success=True).count() == 2


def test_a_failed_fetch_is_reported_on_the_import_and_the_source(pbx_source, service):
    PbxModule.records[:] = ["fail"]
    result = import_source(source_id=pbx_source.pk)
    assert result.status == "failed" and result.message == "Fetching failed: The PBX did not answer."
    pbx_source.refresh_from_db()
    assert pbx_source.last_error == "The PBX did not answer." and pbx_source.last_imported_up_to is None


def test_a_source_being_imported_is_not_imported_twice(pbx_source):
    CdrSource.objects.filter(pk=pbx_source.pk).update(import_claimed_at=timezone.now())
    assert import_source(source_id=pbx_source.pk) is None
    assert not CdrImport.objects.exists()


def test_a_source_without_a_cdr_module_fails_clearly(service):
    source = CdrSource.objects.create(name="No server", kind=CdrSource.Kind.LESNET)
    result = import_source(source_id=source.pk)
    assert "no server to fetch from" in result.message


def test_the_hourly_job_fans_out_one_task_per_source(pbx_source, service):
    CdrSource.objects.create(name="Daily", kind=CdrSource.Kind.LESNET, schedule=CdrSource.Schedule.DAILY)
    PbxModule.records[:] = [record(1, "c1")]
    assert tasks.import_hourly_sources() == "1 source(s) queued"
    assert Cdr.objects.count() == 1  # eager Celery ran the source's task


def test_the_jobs_are_registered_with_their_schedules():
    jobs = {job.name: job for job in all_jobs()}
    assert str(jobs["voip_autosuspend"].schedule._orig_minute) == "*/5"
    assert jobs["voip_cdr_import_daily"].task == "voip.tasks.import_daily_sources"
    assert {"voip_cdr_import_hourly", "voip_low_balance_alerts"} <= set(jobs)


def test_a_stale_import_is_settled_its_rows_charged_once(service, source):
    cdr_import = start_import(source=source, kind=CdrImport.Kind.UPLOAD)

    class Crash(Exception):
        pass

    def items():
        yield record(1, "c1")
        yield record(2, "c2")
        raise Crash

    from voip.services import imports

    with pytest.raises(Crash):
        imports.CHUNK, chunk = 1, imports.CHUNK
        try:
            run_import(cdr_import, items())
        finally:
            imports.CHUNK = chunk
    assert Cdr.objects.count() == 2 and not CreditLedgerEntry.objects.exists()
    assert settle_stale_imports() == 0  # still fresh
    assert settle_stale_imports(now=timezone.now() + timedelta(hours=1)) == 1
    cdr_import.refresh_from_db()
    assert cdr_import.status == "failed" and cdr_import.charged == Decimal("1.4000")
    assert "import the source or the file again" in cdr_import.message
    assert CreditLedgerEntry.objects.get().amount == Decimal("-1.4000")
    assert settle_stale_imports(now=timezone.now() + timedelta(hours=2)) == 0


# --- Vodia push ------------------------------------------------------------------------------------------

@pytest.fixture
def vodia(service):
    return CdrSource.objects.create(
        name="Vodia", kind=CdrSource.Kind.VODIA, push_username="pbx1", push_password="s3cret-push",
        schedule=CdrSource.Schedule.MANUAL,
    )


def push(client, source, body, *, user="pbx1", password="s3cret-push", query=""):
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    url = reverse("voip:vodia_push", args=[source.pk]) + query
    data = body if isinstance(body, (bytes, str)) else json.dumps(body)
    return client.post(url, data, content_type="application/json", HTTP_AUTHORIZATION=f"Basic {token}")


WEBCDR = {
    "version": 1, "system": "pbx", "domain": "tenant-a.example", "callid": "vodia-call-1",
    "from": '"Alice" <sip:1001@tenant-a.example>', "to": "<sip:2125551234@tenant-a.example>",
    "start": 1762095590.2, "connect": 1762095600.5, "end": 1762095644.9, "legs": [],
}


def test_a_webcdr_push_is_imported_and_a_repeat_charges_nothing(client, vodia, service):
    response = push(client, vodia, WEBCDR)
    assert response.status_code == 200
    assert response.json()["inserted"] == 1
    call = Cdr.objects.get()
    # ceil(44.4) = 45 s of 1212 at 0.60/min + 0.10
    assert (call.service_id, call.direction, call.billsec, call.cost) == (service.pk, "outbound", 45, Decimal("0.5500"))
    assert call.account == "tenant-a.example" and call.caller == "1001" and call.callee == "2125551234"
    again = push(client, vodia, [WEBCDR])
    assert again.json() == {"import": again.json()["import"], "received": 1, "inserted": 0, "duplicates": 1,
                            "errors": []}
    assert CreditLedgerEntry.objects.count() == 1


def test_a_push_within_the_minute_reads_no_client_time_zones(client, vodia, service):
    """The services' client time zones come with the matcher the source's pushes reuse for a minute, not from a
    query per push."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    assert push(client, vodia, WEBCDR).json()["inserted"] == 1
    with CaptureQueriesContext(connection) as queries:
        assert push(client, vodia, {**WEBCDR, "callid": "vodia-call-2"}).json()["received"] == 1
    assert not [query["sql"] for query in queries.captured_queries
                if "time_zone" in query["sql"] and "billing_service" in query["sql"]]


def test_json_leg_records_and_bad_records_in_one_push(client, vodia, service):
    body = [
        {"action": "call-data-record", "CallID": "leg-1", "PrimaryCallID": "p-1", "Direction": "I",
         "TrunkName": "carrier", "LocalParty": "sip:2125550100@tenant-a.example",
         "RemoteParty": "sip:3105550199@carrier", "Connect": "1762095600", "End": "1762095660"},
        {"action": "call-data-record", "CallID": "leg-2", "Direction": "sideways"},
        {"something": "else"},
    ]
    response = push(client, vodia, body, query="?domain=tenant-a.example")
    assert response.status_code == 200
    errors = response.json()["errors"]
    assert [error["line"] for error in errors] == [2, 3]
    assert errors[0]["reason"] == "Direction must be I or O, not 'sideways'"
    call = Cdr.objects.get()
    assert (call.direction, call.number, call.billsec, call.service_id) == ("inbound", "2125550100", 60, service.pk)
    assert call.account == "tenant-a.example"


def test_the_push_endpoint_authenticates_per_source(client, vodia):
    assert push(client, vodia, WEBCDR, password="wrong").status_code == 401
    response = client.post(reverse("voip:vodia_push", args=[vodia.pk]), "{}", content_type="application/json")
    assert response.status_code == 401 and response["WWW-Authenticate"].startswith("Basic")
    other = CdrSource.objects.create(name="Other", kind=CdrSource.Kind.VODIA, push_username="pbx2",
                                     push_password="x")
    assert push(client, other, WEBCDR).status_code == 401  # another source's credentials
    assert client.get(reverse("voip:vodia_push", args=[vodia.pk])).status_code == 405
    assert not Cdr.objects.exists()


def test_a_body_that_is_not_json_is_refused(client, vodia):
    response = push(client, vodia, b"not json")
    assert response.status_code == 400 and response.json()["error"].startswith("the body is not JSON")
    assert push(client, vodia, "[1]").json()["errors"] == [{"line": 1, "reason": "not a JSON object"}]


def test_an_inbound_webcdr_call_is_told_by_the_tenants_did(client, vodia, service):
    body = {**WEBCDR, "callid": "in-1", "from": "sip:+13105550199@carrier", "to": "sip:2125550100@tenant-a.example"}
    assert push(client, vodia, body).json()["inserted"] == 1
    call = Cdr.objects.get()
    assert (call.direction, call.service_id, call.status) == ("inbound", service.pk, "rated")
