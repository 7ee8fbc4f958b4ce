"""The import pipeline with each file format: rows stored and rated, bad lines reported with their line number
while the good ones import, one ledger entry per import and service, and the same file twice charging once."""
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from billing.models import CreditLedgerEntry
from portal.models import Client
from tests.voip.factories import (
    CDR_FIXTURES,
    CdrSourceFactory,
    RatePackageFactory,
    VoipProductFactory,
    VoipServiceFactory,
)
from voip.models import Cdr, CdrImport
from voip.services.uploads import process_upload, upload_cdr_file

pytestmark = pytest.mark.django_db


def upload(source, name, file_format, content=None):
    data = content if content is not None else (CDR_FIXTURES / name).read_bytes()
    cdr_import = upload_cdr_file(
        source=source, uploaded_file=SimpleUploadedFile(name, data), file_format=file_format
    )
    return process_upload(import_id=cdr_import.pk)


def calls(**filters):
    return {cdr.external_id: cdr for cdr in Cdr.objects.filter(**filters)}


def balance(client):
    return Client.objects.get(pk=client.pk).credit_balance


def test_portal_file_is_rated_matched_and_charged_once_per_service(service, source):
    result = upload(source, "portal.csv", "portal")
    assert result.status == CdrImport.Status.DONE
    rows = calls()
    # p1: 1212 New York, 0.10 + 45 s × 0.60/min; p2: London 4420, 0.15 + 24 s × 0.05/min; p3: LA 1310, 30/6 →
    # 36 s at 0.009/min; p4: inbound on the service's DID 2125550100, 60 s of 1212.
    assert {key: (cdr.status, cdr.cost) for key, cdr in rows.items() if cdr.status == "rated"} == {
        "p1": ("rated", Decimal("0.5500")), "p2": ("rated", Decimal("0.1700")),
        "p3": ("rated", Decimal("0.0054")), "p4": ("rated", Decimal("0.7000")),
    }
    assert {key: cdr.status for key, cdr in rows.items() if cdr.status != "rated"} == {
        "p5": "ignored", "p6": "ignored", "p7": "ignored", "p8": "invalid", "p9": "unrated", "p10": "ignored",
    }
    assert rows["p9"].reason == "no outbound rate matches 861012345678"  # flagged, never silently free
    assert {cdr.service_id for cdr in rows.values()} == {service.pk}
    assert rows["p2"].e164 == "442083661177" and rows["p2"].prefix == "4420" and rows["p2"].billed_seconds == 24
    assert rows["p2"].precise_cost == Decimal("0.17000000")
    assert rows["p4"].direction == "inbound" and rows["p4"].destination == "USA New York"
    assert (result.inserted, result.rated, result.unrated, result.ignored, result.invalid) == (10, 4, 1, 4, 1)
    assert result.errors == [{"line": 9, "reason": "not a valid number for region US: 861012345678"}]
    assert (result.duplicates, result.charged) == (0, Decimal("1.4254"))
    entry = CreditLedgerEntry.objects.get()
    assert (entry.kind, entry.amount, entry.service_id) == ("cdr_charges", Decimal("-1.4254"), service.pk)
    assert entry.idempotency_key == f"cdr:{result.pk}:{service.pk}"
    assert balance(service.client) == Decimal("-1.4254")


def test_the_same_file_twice_changes_nothing_and_charges_once(service, source):
    first = upload(source, "portal.csv", "portal")
    second = upload(source, "portal.csv", "portal")
    assert (second.inserted, second.duplicates, second.charged) == (0, 10, Decimal("0"))
    assert Cdr.objects.count() == 10 and set(Cdr.objects.values_list("cdr_import", flat=True)) == {first.pk}
    assert CreditLedgerEntry.objects.count() == 1
    assert balance(service.client) == Decimal("-1.4254")


def test_malformed_lines_are_reported_with_line_numbers_and_good_lines_import(service, source):
    result = upload(source, "portal_malformed.csv", "portal")
    assert result.status == CdrImport.Status.DONE
    assert set(calls()) == {"m1", "m11"}
    assert [error["line"] for error in result.errors] == [3, 4, 5, 6, 7, 8, 9, 10]
    assert result.errors[0]["reason"] == "direction must be outbound or inbound, not 'sideways'"
    assert result.errors[3]["reason"] == "expected 6 fields, found 5"
    assert (result.invalid, result.error_count, result.inserted) == (8, 8, 2)
    assert result.charged == Decimal("1.2500")


def test_asterisk_master_csv(service, source):
    source.time_zone = "America/New_York"
    source.save()
    result = upload(source, "asterisk_master.csv", "asterisk")
    rows = calls()
    by_uniqueid = {key.split("/")[0]: cdr for key, cdr in rows.items()}
    answered = by_uniqueid["1705314595.1"]
    assert answered.answer_time.isoformat() == "2024-01-15T10:30:00+00:00"  # 05:30 in New York
    assert (answered.status, answered.billsec, answered.cost) == ("rated", 65, Decimal("0.7500"))
    assert by_uniqueid["1705315200.2"].status == "ignored"  # NO ANSWER
    # The 21-column line carries account code acct9 and extension 1002, which no service has.
    assert rows["1705316400.7-3"].status == "unmatched" and rows["1705316400.7-3"].account == "acct9"
    assert result.unmatched_sample == [{"line": 4, "account": "acct9", "caller": "1002", "callee": "011442083661177"}]
    assert [error["line"] for error in result.errors] == [5, 6, 7, 9]
    assert (result.status, result.rated, result.charged) == (CdrImport.Status.DONE, 2, Decimal("1.1500"))


def test_freeswitch_cdr_csv(service, source):
    result = upload(source, "freeswitch_example.csv", "freeswitch")
    rows = calls()
    first = rows["a1b2c3d4-0001-4000-8000-000000000001"]
    # cgrates' fscdr example: duration 71, billsec 68 → rated on 68 s (0.10 + 68 × 0.60/60).
    assert (first.status, first.billsec, first.account, first.cost) == ("rated", 68, "acct1", Decimal("0.7800"))
    assert rows["a1b2c3d4-0002-4000-8000-000000000002"].status == "ignored"
    inbound = rows["a1b2c3d4-0003-4000-8000-000000000003"]
    assert (inbound.direction, inbound.service_id, inbound.status) == ("inbound", service.pk, "rated")
    assert [error["line"] for error in result.errors] == [4, 5, 6]
    assert result.errors[0]["reason"] == "expected 13 fields, found 12"


def test_fusionpbx_export_matches_by_tenant_and_extension(voip_client, product, source):
    other = VoipServiceFactory(client=voip_client, product=product,
                               module_data={"tenant": "b.example", "extensions": ["1001"]})
    mine = VoipServiceFactory(client=voip_client, product=product,
                              module_data={"tenant": "a.example", "extensions": ["1001"]})
    text = (CDR_FIXTURES / "fusionpbx_export.csv").read_text()
    header, *lines = text.splitlines()
    content = "\n".join([header + ',"domain_name"'] + [line + ',"a.example"' for line in lines]) + "\n"
    result = upload(source, "export.csv", "fusionpbx", content.encode())
    rows = calls()
    assert rows["0b6a2c1e-0000-4000-8000-000000000001"].service_id == mine.pk
    assert rows["0b6a2c1e-0000-4000-8000-000000000003"].status == "ignored"  # local call
    assert rows["0b6a2c1e-0000-4000-8000-000000000004"].status == "ignored"  # b-leg
    assert not Cdr.objects.filter(service=other).exists()
    assert result.status == CdrImport.Status.DONE


def test_calls_nothing_matches_are_stored_as_unmatched_and_not_charged(voip_client, product, source):
    VoipServiceFactory(client=voip_client, product=product, module_data={"extensions": ["2002"]})
    result = upload(source, "portal.csv", "portal")
    assert result.unmatched == 10 and len(result.unmatched_sample) == 10
    assert result.unmatched_sample[0] == {"line": 2, "account": "", "caller": "1001", "callee": "2125551234"}
    assert set(Cdr.objects.values_list("status", flat=True)) == {"unmatched"}
    assert not CreditLedgerEntry.objects.exists() and result.charged == 0


def test_a_product_without_rate_package_stores_calls_unrated_never_free(voip_client, source):
    product = VoipProductFactory()
    VoipServiceFactory(client=voip_client, product=product,
                       module_data={"extensions": ["1001"], "dids": ["2125550100"]})
    result = upload(source, "portal.csv", "portal")
    assert (result.unrated, result.rated, result.ignored, result.invalid) == (5, 0, 4, 1)
    assert set(Cdr.objects.filter(status="unrated").values_list("reason", flat=True)) == {
        "the product has no rate package"
    }
    assert not CreditLedgerEntry.objects.exists()


def test_an_unusable_file_fails_with_the_reason_and_imports_nothing(service, source):
    result = upload(source, "rates.csv", "fusionpbx")
    assert result.status == CdrImport.Status.FAILED
    assert "header lacks the column(s) xml_cdr_uuid" in result.message
    assert not Cdr.objects.exists()


def test_progress_is_complete_when_done(service, source):
    result = upload(source, "portal.csv", "portal")
    assert result.bytes_total == (CDR_FIXTURES / "portal.csv").stat().st_size
    assert result.bytes_done == result.bytes_total and result.progress_percent == 100


def test_asterisk_legs_sharing_a_uniqueid_are_stored_as_five_calls_and_a_reimport_adds_none(service, source):
    # Five CDRs of one call (tests/fixtures/cdrs/asterisk_linked_call_18.csv): four of channel uniqueid .50 with
    # different destination channels, billsec and disposition, one of the Local channel .52.
    first = upload(source, "asterisk_linked_call_18.csv", "asterisk")
    assert (first.lines_read, first.inserted, first.duplicates) == (5, 5, 0)
    assert sorted(Cdr.objects.values_list("billsec", "disposition")) == [
        (0, "ANSWERED"), (0, "ANSWERED"), (0, "NO ANSWER"), (0, "NO ANSWER"), (17, "ANSWERED")]
    again = upload(source, "asterisk_linked_call_18.csv", "asterisk")
    assert (again.lines_read, again.inserted, again.duplicates, again.unmatched) == (5, 0, 5, 0)
    assert Cdr.objects.count() == 5


def test_the_unmatched_sample_lists_exactly_the_unmatched_calls_the_import_stored(service, source):
    # Lines 2-4 are one call written three times: one call stored, two duplicates.
    text = ("id,direction,caller,callee,answer_time,billsec\n"
            + "same,outbound,9999,2125551234,2024-01-15T10:00:00Z,5\n" * 3
            + "other,outbound,9998,2125551234,2024-01-15T10:05:00Z,5\n")
    first = upload(source, "calls.csv", "portal", text.encode())
    assert (first.inserted, first.duplicates, first.unmatched) == (2, 2, 2)
    assert first.unmatched_sample == [
        {"line": 2, "account": "", "caller": "9999", "callee": "2125551234"},
        {"line": 5, "account": "", "caller": "9998", "callee": "2125551234"},
    ]
    again = upload(source, "calls.csv", "portal", text.encode())
    assert (again.inserted, again.duplicates, again.unmatched, again.unmatched_sample) == (0, 4, 0, [])


# One answered call to the 6-digit DID 211474 on context stadion-pstn (the public sample's line, caller replaced).
STADION_CALL = (
    '"","89001234567","211474","stadion-pstn","""89001234567"" <89001234567>","SIP/211474-00000010","","Hangup",'
    '"","2024-01-28 01:13:18","2024-01-28 01:13:18","2024-01-28 01:13:28",10,10,"ANSWERED","DOCUMENTATION",'
    '"1706404398.48",""\n'
)


@pytest.fixture
def faroese_service(voip_client):
    """A client on a Faroese PBX (6-digit national numbers) whose DID is +298 211474, with an inbound rate."""
    package = RatePackageFactory(name="Faroe", deck=[
        "prefix,destination,connect_fee,rate_per_minute,minimum_seconds,increment_seconds,direction\n",
                                 "298,Faroe Islands,0,0.60,1,1,inbound\n",
                                 ])
    product = VoipProductFactory(rate_package=package, module_options={"default_region": "FO"})
    return VoipServiceFactory(client=voip_client, product=product,
                              module_data={"dids": ["298211474"], "extensions": ["301", "200"]})


def test_a_six_digit_did_on_a_configured_inbound_context_is_rated_inbound(faroese_service):
    source = CdrSourceFactory(name="Stadion", inbound_contexts="stadion-pstn", extension_digits=4, time_zone="UTC")
    result = upload(source, "stadion.csv", "asterisk", STADION_CALL.encode())
    call = Cdr.objects.get()
    assert (call.direction, call.service_id, call.status, call.e164, call.cost) == (
        "inbound", faroese_service.pk, "rated", "298211474", Decimal("0.1000"))
    assert (result.rated, result.ignored, result.unmatched, result.charged) == (1, 0, 0, Decimal("0.1000"))


def test_without_the_sources_settings_the_six_digit_did_is_not_an_inbound_call(faroese_service):
    # The default contexts do not know stadion-pstn: an outbound call from a caller no service has.
    upload(CdrSourceFactory(name="Defaults"), "stadion.csv", "asterisk", STADION_CALL.encode())
    assert Cdr.objects.values_list("direction", "status").get() == ("outbound", "unmatched")
    Cdr.objects.all().delete()
    # The context alone: inbound to the service's DID, but 6 digits are read as an extension (not billed).
    upload(CdrSourceFactory(name="Context only", inbound_contexts="stadion-pstn"), "stadion.csv", "asterisk",
           STADION_CALL.encode())
    call = Cdr.objects.get()
    assert (call.direction, call.service_id, call.status, call.reason) == (
        "inbound", faroese_service.pk, "ignored", "internal: extension 211474")


def test_re_rating_reads_numbers_with_the_calls_sources_extension_length(faroese_service):
    from datetime import date

    from tests.voip.factories import SYSTEM
    from voip.services.rerating import rerate_service

    source = CdrSourceFactory(name="Stadion", inbound_contexts="stadion-pstn", extension_digits=4, time_zone="UTC")
    upload(source, "stadion.csv", "asterisk", STADION_CALL.encode())
    result = rerate_service(service=faroese_service, start=date(2024, 1, 27), end=date(2024, 1, 29), actor=SYSTEM)
    assert (result.lines_read, result.duplicates, result.charged) == (1, 1, Decimal("0"))  # nothing changed
    assert Cdr.objects.values_list("status", "cost").get() == ("rated", Decimal("0.1000"))


def test_an_asterisk_call_stored_under_its_bare_uniqueid_before_is_still_a_duplicate(service, source):
    # Stored by an earlier version, which keyed lines without `sequence` by the uniqueid alone: the answered leg
    # (line 5) of the linked call. Importing the file again stores the four other legs, never that one twice.
    from datetime import UTC, datetime

    from tests.voip.factories import stored_calls

    (old,) = stored_calls(service, source, [{
        "external_id": "1706407446.50", "caller": "89001234567", "callee": "211553", "number": "211553",
        "answer_time": datetime(2024, 1, 28, 2, 4, 12, tzinfo=UTC), "billsec": 17, "disposition": "ANSWERED",
        "cost": "0.0100",
    }])
    result = upload(source, "asterisk_linked_call_18.csv", "asterisk")
    assert (result.lines_read, result.inserted, result.duplicates) == (5, 4, 1)
    assert Cdr.objects.count() == 5 and Cdr.objects.get(external_id="1706407446.50").pk == old.pk
    assert not Cdr.objects.filter(billsec=17).exclude(pk=old.pk).exists()
