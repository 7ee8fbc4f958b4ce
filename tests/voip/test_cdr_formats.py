"""The CDR parsers, one fixture file per format (tests/fixtures/cdrs/), malformed lines included: every bad
line is reported with its line number and reason, and the good lines after it still come through."""
import io
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from provisioning.modules.fusionpbx.cdrs import FusionPbxParser
from provisioning.telephony.cdrs import CdrError, CdrFileError, CdrRecord
from provisioning.telephony.text import OPEN_INPUT
from voip.cdr_formats import FORMATS, AsteriskParser, FreeSwitchParser, PortalParser

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "cdrs"
NEW_YORK = ZoneInfo("America/New_York")


def parse(parser_class, name, **options):
    with open(FIXTURES / name, **OPEN_INPUT) as lines:
        return list(parser_class(lines, **options))


def errors(items):
    return [(item.line, item.reason) for item in items if isinstance(item, CdrError)]


def records(items):
    return {item.line: item for item in items if isinstance(item, CdrRecord)}


def at(hour, minute, second=0):
    return datetime(2024, 1, 15, hour, minute, second, tzinfo=UTC)


def test_formats_registry_names_the_command_formats():
    assert sorted(FORMATS) == ["asterisk", "freeswitch", "fusionpbx", "portal"]


# portal


def test_portal_records():
    good = records(parse(PortalParser, "portal.csv"))
    assert len(good) == 10
    first = good[2]
    assert (first.external_id, first.direction, first.caller, first.callee, first.number) == (
        "p1", "outbound", "1001", "2125551234", "2125551234")
    assert (first.answer_time, first.billsec, first.disposition) == (at(10, 30), 45, "ANSWERED")
    assert first.ignore_reason == ""
    assert good[4].answer_time == at(10, 32)  # +00:00 offset
    assert (good[5].direction, good[5].number) == ("inbound", "2125550100")  # inbound: the called DID
    assert (good[6].answer_time, good[6].ignore_reason) == (None, "not answered (NO ANSWER)")


def test_portal_malformed_lines_are_reported_with_line_numbers_and_reasons():
    items = parse(PortalParser, "portal_malformed.csv")
    assert errors(items) == [
        (3, "direction must be outbound or inbound, not 'sideways'"),
        (4, "billsec must be a whole number, not '4.5'"),
        (5, "answer_time needs a date and a time: 'yesterday'"),
        (6, "expected 6 fields, found 5"),
        (7, "id is empty"),
        (8, "a quoted field is not closed on this line"),
        (9, "answer_time needs a date and a time: '2024-01-15'"),
        (10, "billsec must be a whole number, not '-45'"),
    ]
    assert sorted(records(items)) == [2, 12]  # the blank line 11 is skipped; line 12 still reads
    assert records(items)[2].disposition == ""  # no disposition column: answered when billsec > 0


def test_portal_header_columns_are_found_by_name_and_extra_columns_kept():
    text = "billsec,answer_time,callee,caller,direction,id,note,account\n" \
           "30,2024-01-15T10:30:00Z,2125551234,1001,OUTBOUND,x,hi,tenant-7\n"
    parser = PortalParser(io.StringIO(text))
    (record,) = list(parser)
    assert parser.columns == ("billsec", "answer_time", "callee", "caller", "direction", "id", "note", "account")
    assert (record.external_id, record.direction, record.billsec, record.fields[-2]) == ("x", "outbound", 30, "hi")
    assert record.account == "tenant-7"


def test_portal_answer_time_is_utc_and_offsets_are_converted():
    text = "id,direction,caller,callee,answer_time,billsec\na,outbound,1,2125551234,2024-01-15T05:30:00-05:00,5\n"
    (record,) = list(PortalParser(io.StringIO(text)))
    assert record.answer_time == at(10, 30)


@pytest.mark.parametrize("text, message", [
    ("", "empty"),
    ("id,direction,caller,callee,billsec\n", "answer_time"),
])
def test_portal_without_the_needed_header_cannot_be_read(text, message):
    with pytest.raises(CdrFileError, match=message):
        PortalParser(io.StringIO(text))


def test_billable_dispositions_are_configurable():
    text = "id,direction,caller,callee,answer_time,billsec,disposition\na,outbound,1,2,2024-01-15T10:00:00Z,5,OK\n"
    assert next(iter(PortalParser(io.StringIO(text)))).ignore_reason == "not answered (OK)"
    assert next(iter(PortalParser(io.StringIO(text), billable_dispositions=["ok"]))).ignore_reason == ""


# Asterisk Master.csv


def test_asterisk_master_csv():
    items = parse(AsteriskParser, "asterisk_master.csv", time_zone=NEW_YORK)
    good = records(items)
    assert sorted(good) == [1, 2, 3, 4, 8]
    first = good[1]
    assert (first.direction, first.caller, first.number, first.billsec) == ("outbound", "1001", "2125551234", 65)
    # 18 columns: uniqueid without sequence, so the key is the uniqueid and a hash of the leg's fields.
    assert first.external_id.startswith("1705314595.1/") and len(first.external_id) == len("1705314595.1/") + 16
    assert first.answer_time == at(10, 30)  # 05:30 in New York
    assert good[2].ignore_reason == "not answered (NO ANSWER)" and good[2].answer_time is None
    # 16 columns: no uniqueid, so the id is a hash of the line; from-trunk is an inbound context.
    assert good[3].external_id.startswith("sha256:") and good[3].direction == "inbound"
    assert good[4].external_id == "1705316400.7-3"  # 21 columns: uniqueid and sequence
    assert (good[4].account, good[1].account) == ("acct9", "")  # accountcode
    assert good[8].number == "1002"  # an extension: the rater ignores it


def asterisk_ids(name):
    items = parse(AsteriskParser, name)
    assert not errors(items)
    return [item.external_id for item in items]


def test_asterisk_cdrs_of_one_channel_sharing_a_uniqueid_are_distinct_legs():
    # The public sample's call 1706407446.50 (mineevburyat/dj-asterisk-cdr Master.csv, caller number replaced):
    # a forked Dial logs four CDRs on channel SIP/211553-00000011 (uniqueid .50; billsec 0, 0, 0 and 17,
    # ANSWERED / NO ANSWER) and one on the Local channel (.52), all with linkedid .50.
    with_sequence = asterisk_ids("asterisk_linked_call.csv")  # 21 columns
    assert with_sequence == ["1706407446.52-42", "1706407446.50-40", "1706407446.50-47", "1706407446.50-48",
                             "1706407446.50-50"]
    without_sequence = asterisk_ids("asterisk_linked_call_18.csv")  # 18 columns: uniqueid and userfield only
    assert len(set(without_sequence)) == 5
    assert [key.split("/")[0] for key in without_sequence] == ["1706407446.52"] + ["1706407446.50"] * 4
    assert asterisk_ids("asterisk_linked_call_18.csv") == without_sequence  # the same lines: the same keys


def test_asterisk_malformed_lines():
    assert errors(parse(AsteriskParser, "asterisk_master.csv")) == [
        (5, "billsec must be a whole number, not 'x'"),
        (6, "expected 16 or 17 or 18 or 21 fields, found 10"),
        (7, "a quoted field is not closed on this line"),
        (9, "answer is not an ISO 8601 date and time: '2024/1/15 6:50'"),
    ]


def test_asterisk_line_hash_is_stable_and_inbound_contexts_configurable():
    first = records(parse(AsteriskParser, "asterisk_master.csv"))[3]
    again = records(parse(AsteriskParser, "asterisk_master.csv", inbound_contexts=["from-internal"]))
    assert again[3].external_id == first.external_id
    assert (again[3].direction, again[1].direction) == ("outbound", "inbound")


# FreeSWITCH cdr_csv, template "example"


def test_freeswitch_example_template():
    items = parse(FreeSwitchParser, "freeswitch_example.csv")
    good = records(items)
    assert sorted(good) == [1, 2, 3, 7]
    first = good[1]
    assert (first.external_id, first.caller, first.number, first.billsec, first.disposition) == (
        "a1b2c3d4-0001-4000-8000-000000000001", "1001", "2125551234", 68, "NORMAL_CLEARING")
    assert first.fields[12] == first.account == "acct1"  # the space before the last field is allowed
    assert first.answer_time == at(10, 30)
    assert good[2].ignore_reason == "not answered (ORIGINATOR_CANCEL)"
    assert (good[3].direction, good[3].number) == ("inbound", "+12125550100")  # context public
    assert good[7].number == "sip:+44-20-8366-1177@gw.example.net"  # normalised by the rater


def test_freeswitch_malformed_lines():
    assert errors(parse(FreeSwitchParser, "freeswitch_example.csv")) == [
        (4, "expected 13 fields, found 12"),
        (5, "billsec must be a whole number, not '-5'"),
        (6, "uuid is empty"),
    ]


def test_freeswitch_local_time_is_converted_with_the_source_time_zone():
    first = records(parse(FreeSwitchParser, "freeswitch_example.csv", time_zone=NEW_YORK))[1]
    assert first.answer_time == at(15, 30)


# FusionPBX CSV export


def test_fusionpbx_export():
    items = parse(FusionPbxParser, "fusionpbx_export.csv")
    good = records(items)
    assert sorted(good) == [2, 3, 4, 5, 6, 7, 11]
    first = good[2]
    assert (first.external_id, first.direction, first.number, first.billsec) == (
        "0b6a2c1e-0000-4000-8000-000000000001", "outbound", "2125551234", 65)
    assert first.answer_time == at(10, 30)  # start_epoch + tta, not the stamps
    inbound = good[3]
    assert (inbound.direction, inbound.callee, inbound.number) == ("inbound", "1001", "+12125550100")
    assert good[4].ignore_reason == "local call (extension to extension)"
    assert good[5].ignore_reason == "b-leg (the a-leg carries the charge)"
    assert (good[6].billsec, good[6].answer_time) == (0, None)  # missed: answer_epoch 0
    assert good[7].fields[3] == 'Bob "The Builder" Smith'  # embedded quotes, not escaped
    assert good[11].billsec == 4  # ceil(3004 ms / 1000)


def test_fusionpbx_malformed_lines():
    assert errors(parse(FusionPbxParser, "fusionpbx_export.csv")) == [
        (8, "direction must be inbound, outbound or local, not 'sideways'"),
        (9, "expected 34 fields, found 20"),
        (10, "inbound call with an empty caller_destination"),
    ]


def test_fusionpbx_columns_are_mapped_by_name():
    good = records(parse(FusionPbxParser, "fusionpbx_export_reduced.csv"))
    assert good[2].answer_time == at(10, 30)  # answer_stamp with its offset, when there is no tta
    assert (good[2].billsec, good[2].disposition) == (45, "NORMAL_CLEARING")


def test_fusionpbx_export_resaved_as_ordinary_csv_still_reads():
    text = 'xml_cdr_uuid,direction,caller_destination,destination_number,billsec,start_epoch,tta\n' \
           'u1,outbound,,"212-555-1234",30,1705314595,5\n'
    (record,) = list(FusionPbxParser(io.StringIO(text)))
    assert (record.number, record.answer_time, record.account) == ("212-555-1234", at(10, 30), "")


def test_fusionpbx_account_is_the_domain_name():
    text = '"xml_cdr_uuid","direction","caller_destination","destination_number","billsec","start_epoch",' \
           '"domain_name"\n"u1","outbound","","2125551234","30","1705314595","tenant.example.net"\n'
    (record,) = list(FusionPbxParser(io.StringIO(text)))
    assert record.account == "tenant.example.net"


def test_fusionpbx_without_needed_columns_cannot_be_read():
    with pytest.raises(CdrFileError, match="destination_number"):
        parse(FusionPbxParser, "fusionpbx_export_no_destination.csv")
    with pytest.raises(CdrFileError, match="billsec, billmsec, duration"):
        FusionPbxParser(io.StringIO('"xml_cdr_uuid","direction","caller_destination","destination_number"\n'))


def test_parsers_stream_lazily():
    """A parser reads as it is iterated: the lines after the first record are not read yet."""
    consumed = []

    def lines():
        for n in range(1_000_000):
            consumed.append(n)
            yield f'"n","1001","2125551234","default","","2024-01-15 10:00:00","","1","1","X","u{n}","", ""\n'

    iterator = iter(FreeSwitchParser(lines()))
    next(iterator)
    assert len(consumed) == 1


def test_undecodable_bytes_are_kept_not_fatal(tmp_path):
    path = tmp_path / "Master.csv"
    good = (b'"","1001","2125551234","from-internal","\xe9t\xe9","","","","","","2024-01-15 10:30:00","",60,60,'
            b'"ANSWERED","DOCUMENTATION"\n')
    path.write_bytes(good * 2)
    with open(path, **OPEN_INPUT) as lines:
        items = list(AsteriskParser(lines))
    assert [type(item) for item in items] == [CdrRecord, CdrRecord]
    assert items[0].fields[4].encode("utf-8", "surrogateescape") == b"\xe9t\xe9"
