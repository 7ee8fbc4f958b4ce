"""The LesNet module (no API: suspension refused with what to do; unsuspend/terminate in the portal only) and
its daily CDR file over HTTP with the admin-configured column mapping."""
from datetime import UTC, datetime

import pytest

from billing.models import Service
from provisioning import lifecycle
from provisioning.models import ModuleCall
from provisioning.modules.base import CdrSourceRef, ModuleError
from provisioning.modules.lesnet.cdrs import (
    ColumnMappingError,
    clean_column_mapping,
    duration_seconds,
    preview_cdr_file,
    read_cdr_file,
    sniff_delimiter,
)
from provisioning.registry import get_module
from provisioning.telephony.cdrs import CdrError, CdrRecord
from tests.provisioning.modules.lesnet.fixtures import PEER
from tests.provisioning.modules.voip_fixtures import ACTOR

S = Service.Status
DIDS = ("12046664021",)


def read(text, mapping=None, **context):
    return list(read_cdr_file(text, clean_column_mapping(mapping or {}), peer_id=PEER, dids=DIDS, **context))


def source(url, **kwargs):
    options = {"peer_id": PEER, "dids": list(DIDS), **kwargs.pop("options", {})}
    return CdrSourceRef(id=7, kind="lesnet", url=url, options=options, **kwargs)


# --- lifecycle ------------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_create_checks_the_peer_dids_and_that_the_cdr_file_answers(lesnet_service, lesnet):
    service = lesnet_service()
    lifecycle.service_create(service=service, actor=ACTOR)
    assert "Peer D4E3CD2BFC791 with the DID(s) 12046664021; its CDR file" in ModuleCall.objects.get(
        action="create").response_summary
    with pytest.raises(ModuleError, match=r"does not exist \(404\): check the service's CDR file URL"):
        lifecycle.service_create(service=lesnet_service(cdr_url=lesnet.url_for("99999")), actor=ACTOR)
    with pytest.raises(ModuleError, match="has no CDR file URL. Set it in the VoIP service section"):
        lifecycle.service_create(service=lesnet_service(cdr_url=""), actor=ACTOR)


@pytest.mark.django_db
def test_suspend_is_refused_permanently_with_what_to_do_by_hand(lesnet_service):
    service = lesnet_service(status=S.ACTIVE)
    with pytest.raises(ModuleError, match="LesNet has no API to suspend a peer: suspend peer D4E3CD2BFC791") as info:
        lifecycle.service_suspend(service=service, actor=ACTOR, reason=Service.SuspendReason.VOIP_CREDIT)
    assert info.value.permanent
    service.refresh_from_db()
    assert service.status == S.ACTIVE


@pytest.mark.django_db
def test_unsuspend_and_terminate_succeed_in_the_portal_and_say_what_remains_to_do(lesnet_service):
    service = lesnet_service(status=S.SUSPENDED)
    lifecycle.service_unsuspend(service=service, actor=ACTOR)
    assert "Nothing to undo on LesNet" in ModuleCall.objects.get(action="unsuspend").response_summary
    lifecycle.service_terminate(service=service, actor=ACTOR)
    assert "remove peer D4E3CD2BFC791" in ModuleCall.objects.get(action="terminate").response_summary
    service.refresh_from_db()
    assert service.status == S.TERMINATED


@pytest.mark.django_db
def test_test_connection_fetches_the_test_file(lesnet_server, lesnet):
    from provisioning.lifecycle import server_ref

    module = get_module("lesnet")
    assert module.test_connection(server_ref(lesnet_server)).message.startswith("Reached http://127.0.0.1")
    lesnet_server.settings = {**lesnet_server.settings, "test_url": lesnet.url_for("404")}
    with pytest.raises(ModuleError, match="404"):
        module.test_connection(server_ref(lesnet_server))


# --- fetch over HTTP ------------------------------------------------------------------------------------------


def test_fetch_cdrs_reads_the_simulated_daily_file_with_the_default_mapping(lesnet):
    items = list(get_module("lesnet").fetch_cdrs(source(lesnet.url_for("11330")), None))
    rows = lesnet.rows(lesnet.peers["11330_0000.txt"])
    assert len(items) == len(rows) and all(isinstance(i, CdrRecord) for i in items)
    for item, (at, caller, callee, seconds) in zip(items, rows):
        assert (item.answer_time, item.caller, item.number, item.billsec, item.account) == (
            at, caller, callee, seconds, PEER)
        if callee in DIDS:
            assert item.direction == "inbound" and not item.ignore_reason
        elif caller in DIDS:
            assert item.direction == "outbound" and not item.ignore_reason
        else:
            assert item.ignore_reason.startswith("unmatched:")
    assert {i.direction for i in items if not i.ignore_reason} == {"inbound", "outbound"}


def test_fetching_the_same_file_twice_gives_the_same_external_ids(lesnet):
    module = get_module("lesnet")
    first = [i.external_id for i in module.fetch_cdrs(source(lesnet.url_for("11330")), None)]
    second = [i.external_id for i in module.fetch_cdrs(source(lesnet.url_for("11330")), None)]
    assert first == second and len(set(first)) == len(first) and first[0].startswith("lesnet:")
    lesnet.advance(86_400)  # the next day's file has other calls
    assert not set(first) & {i.external_id for i in module.fetch_cdrs(source(lesnet.url_for("11330")), None)}


def test_malformed_lines_are_reported_with_their_line_numbers_and_the_rest_imports(lesnet):
    lesnet.malformed = 3
    items = list(get_module("lesnet").fetch_cdrs(source(lesnet.url_for("11330")), None))
    errors = [i for i in items if isinstance(i, CdrError)]
    assert len(errors) == 3 and len(items) == lesnet.rows_per_day + 3
    text_lines = lesnet.file_text(lesnet.peers["11330_0000.txt"]).splitlines()
    for error in errors:
        assert text_lines[error.line - 1].startswith(error.fields[0])
    assert {e.reason.split(" ")[0] for e in errors} == {"expected", "date/time"}


def test_the_mapping_handles_a_header_another_delimiter_and_a_time_zone(lesnet):
    lesnet.delimiter, lesnet.header, lesnet.utc_offset_hours = "\t", True, -5
    mapping = {"header_rows": 1, "col_datetime": "Date", "col_source": "Source", "col_destination": "Destination",
               "col_duration": "Seconds"}
    items = list(get_module("lesnet").fetch_cdrs(
        source(lesnet.url_for("11330"), column_mapping=mapping, time_zone="Etc/GMT+5"), None))
    rows = lesnet.rows(lesnet.peers["11330_0000.txt"])
    assert [i.answer_time for i in items] == [row[0] for row in rows]  # written at UTC-5, read back as UTC
    assert items[0].line == 2  # the header is line 1


def test_fetch_needs_valid_mapping_credentials_and_an_existing_file(lesnet):
    module = get_module("lesnet")
    with pytest.raises(ModuleError, match="invalid column mapping: col_source: is required"):
        module.fetch_cdrs(source(lesnet.url_for("11330"), column_mapping={"col_source": None}), None)
    with pytest.raises(ModuleError, match="does not exist"):
        list(module.fetch_cdrs(source(lesnet.url_for("00000")), None))
    lesnet.basic_auth = ("cdr", "secret")
    with pytest.raises(ModuleError, match=r"refused access \(401\)"):
        list(module.fetch_cdrs(source(lesnet.url_for("11330")), None))
    good = source(lesnet.url_for("11330"), username="cdr", password="secret")
    assert len(list(module.fetch_cdrs(good, None))) == lesnet.rows_per_day
    lesnet.fail("status", status=503, times=3)
    with pytest.raises(ModuleError, match="503") as info:
        list(module.fetch_cdrs(good, None))
    assert not info.value.permanent


def test_a_source_without_url_fetches_each_services_peer_file(lesnet):
    lesnet.add_peer("22001", "AAAA1111", ["12045550100"])
    services = [
        {"id": 1, "domain": "a", "module_data": {"peer_id": PEER, "dids": list(DIDS), "cdr_url": lesnet.url_for("11330")}},
        {"id": 2, "domain": "b", "module_data": {"peer_id": "AAAA1111", "dids": ["12045550100"],
                                                 "cdr_url": lesnet.url_for("22001")}},
        {"id": 3, "domain": "c", "module_data": {"peer_id": "GONE", "dids": [], "cdr_url": lesnet.url_for("404")}},
        {"id": 4, "domain": "d", "module_data": {}},
    ]
    items = list(get_module("lesnet").fetch_cdrs(
        CdrSourceRef(id=8, kind="lesnet", options={"services": services}), None))
    records = [i for i in items if isinstance(i, CdrRecord)]
    assert {r.account for r in records} == {PEER, "AAAA1111"} and len(records) == 2 * lesnet.rows_per_day
    missing = lesnet.url_for("404")
    assert [e.reason for e in items if isinstance(e, CdrError)] == [
        f"{missing}: The CDR file {missing} does not exist (404): check the service's CDR file URL."]
    with pytest.raises(ModuleError, match="has no CDR file URL"):
        get_module("lesnet").fetch_cdrs(CdrSourceRef(id=9, kind="lesnet"), None)


# --- the column mapping ---------------------------------------------------------------------------------------


def test_default_mapping_is_the_documented_layout():
    [record] = read("2026-01-15 14:03:22,12045550123,12046664021,125\n")
    assert (record.direction, record.caller, record.number, record.billsec) == ("inbound", "12045550123",
                                                                                "12046664021", 125)
    assert record.answer_time == datetime(2026, 1, 15, 14, 3, 22, tzinfo=UTC)


def test_direction_detection_normalises_both_sides_against_the_dids():
    inbound, outbound, unmatched = read(
        "2026-01-15 14:03:22,(204) 555-0123,204-666-4021,10\n"
        "2026-01-15 14:03:22,+1 204 666 4021,2045550123,10\n"
        "2026-01-15 14:03:22,2045550123,2045550199,10\n")
    assert inbound.direction == "inbound" and outbound.direction == "outbound"
    assert unmatched.ignore_reason == "unmatched: neither 2045550123 nor 2045550199 is one of the peer's DIDs"


def test_a_direction_column_call_id_cost_and_split_date_time():
    mapping = {"delimiter": ";", "col_date": 0, "col_time": 1, "col_source": 2, "col_destination": 3,
               "col_duration": 4, "col_direction": 5, "direction_values": {"IN": "inbound", "OUT": "outbound"},
               "col_call_id": 6, "col_cost": 7, "datetime_formats": ["%d/%m/%Y %H:%M"]}
    first, second, bad = read("15/01/2026;14:03;2045550123;2045550199;02:05;in;abc-1;0.0123\n"
                              "15/01/2026;15:00;2045550123;2045550199;1:00:00;OUT;abc-2;0.50\n"
                              "15/01/2026;15:00;2045550123;2045550199;10;sideways;abc-3;0\n", mapping)
    assert (first.direction, first.billsec, first.external_id) == ("inbound", 125, "abc-1")
    assert (second.direction, second.billsec) == ("outbound", 3600) and second.fields[7] == "0.50"
    assert bad.reason == "direction 'sideways' is not one of in, out"


def test_identical_lines_get_distinct_stable_ids():
    text = "2026-01-15 14:03:22,12045550123,12046664021,125\n" * 2
    first, second = read(text)
    assert first.external_id != second.external_id
    assert [i.external_id for i in read(text)] == [first.external_id, second.external_id]


def test_bad_lines_say_why():
    items = read("2026-01-15 14:03:22,1,2\n"
                 "yesterday,12045550123,12046664021,10\n"
                 "2026-01-15 14:03:22,12045550123,,10\n"
                 "2026-01-15 14:03:22,12045550123,12046664021,-4\n"
                 "2026-01-15 14:03:22,12045550123,12046664021,1:75\n"
                 '2026-01-15 14:03:22,"12045550123,12046664021,10\n'
                 "\n"
                 "2026-01-15 14:03:22,12045550123,12046664021,10\n")
    reasons = [i.reason for i in items if isinstance(i, CdrError)]
    assert reasons[0] == "expected at least 4 fields, found 3"
    assert reasons[1].startswith("date/time 'yesterday' matches none of the formats")
    assert reasons[2] == "the destination number is empty"
    assert reasons[3] == "duration '-4' is negative or not a number"
    assert reasons[4] == "duration '1:75' is not a valid time"
    assert "quoted field is not closed" in reasons[5]
    assert isinstance(items[-1], CdrRecord) and items[-1].line == 8


def test_latin1_files_and_a_bom_are_read(lesnet):
    from provisioning.modules.lesnet.cdrs import decode

    assert decode("\ufeffJosé".encode(), "utf-8") == "José"
    assert decode("José".encode("latin-1"), "utf-8") == "José"


@pytest.mark.parametrize("mapping, key, message", [
    ({"colour": 1}, "colour", "unknown key"),
    ({"delimiter": "::"}, "delimiter", "must be one character"),
    ({"header_rows": -1}, "header_rows", "whole number"),
    ({"header_rows": 11}, "header_rows", "at most 10"),
    ({"encoding": "klingon"}, "encoding", "not an encoding"),
    ({"col_source": -3}, "col_source", "out of range"),
    ({"col_source": True}, "col_source", "must be a column number"),
    ({"col_source": 500}, "col_source", "out of range"),
    ({"col_duration": None}, "col_duration", "is required"),
    ({"col_source": "Caller"}, "col_source", "header_rows is 0"),
    ({"col_date": 0}, "col_date", "go together"),
    ({"datetime_formats": []}, "datetime_formats", "list of strptime formats"),
    ({"col_direction": 4, "direction_values": {"in": "sideways"}}, "direction_values", "inbound or outbound"),
    ({"col_direction": 4, "direction_values": {}}, "direction_values", "needs the values"),
    ({"col_source": 2}, "__all__", "2 is used twice"),
    ("not an object", "__all__", "JSON object"),
])
def test_each_bad_mapping_key_gets_a_message(mapping, key, message):
    with pytest.raises(ColumnMappingError) as info:
        clean_column_mapping(mapping)
    assert message in info.value.errors[key]


def test_field_names_are_accepted_for_the_column_keys():
    cleaned = clean_column_mapping({"external_id": "Call ID", "callee": "Destination", "header_rows": 1})
    assert (cleaned["col_call_id"], cleaned["col_destination"]) == ("Call ID", "Destination")
    with pytest.raises(ColumnMappingError, match="is given twice"):
        clean_column_mapping({"callee": 2, "col_destination": 2})


def test_mapping_defaults_names_and_delimiter_detection():
    cleaned = clean_column_mapping({"delimiter": "tab", "header_rows": "1", "col_duration": "3"})
    assert (cleaned["delimiter"], cleaned["header_rows"], cleaned["col_duration"]) == ("\t", 1, 3)
    assert clean_column_mapping({"col_date": 0, "col_time": 4})["col_datetime"] is None
    assert sniff_delimiter(["a|b|c\n", "d|e|f\n"]) == "|" and sniff_delimiter(["abc\n"]) == ","
    assert duration_seconds("12.2") == 13 and duration_seconds("01:02:03") == 3723


def test_a_header_name_the_file_lacks_stops_the_file_with_a_clear_error():
    items, error = preview_cdr_file("Date,From,To,Secs\n2026-01-15 14:03:22,1,2,3\n",
                                    {"header_rows": 1, "col_source": "Caller"})
    assert items == [] and error == "the header (Date, From, To, Secs) has no column col_source 'Caller'"
    items, error = preview_cdr_file("2026-01-15 14:03:22,12045550123,12046664021,125\n" * 20, {}, limit=5,
                                    peer_id=PEER, dids=DIDS)
    assert error == "" and len(items) == 5
