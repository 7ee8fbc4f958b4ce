"""Reading camt.053 statements: credit entries with their references, names and dates; debits skipped; a bad entry
is reported by its number while the good ones are kept; a file that is not a camt.053 is refused as a whole."""
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from payments.bank.camt053 import parse_camt053
from payments.bank.lines import ParsedLine, StatementError
from tests.payments.camt import camt053

SAMPLE = Path(__file__).resolve().parent.parent / "fixtures" / "bank" / "camt053_v02_sample.xml"


def test_the_sample_statement_gives_its_credit_lines_and_names_the_bad_entry():
    parsed = parse_camt053(SAMPLE.read_bytes())
    assert parsed.statement_id == "2026-12-04-DE89370400440532013000"
    assert parsed.account == "DE89370400440532013000"
    assert parsed.lines == [
        ParsedLine(position=1, entry_reference="2026120400000101", amount=Decimal("119.00"), currency="EUR",
                   booking_date=date(2026, 12, 4), reference="RF18539007547034", reference_text="RF18539007547034",
                   payer_name="Acme Corp"),
        ParsedLine(position=2, entry_reference="2026120400000102", amount=Decimal("45.50"), currency="EUR",
                   booking_date=date(2026, 12, 4), reference="",
                   reference_text="Payment rf18 5390 0754 7034 inv 12 thank you", payer_name="Jürgen Müller"),
        ParsedLine(position=4, entry_reference="2026120400000104", amount=Decimal("43.85"), currency="EUR",
                   booking_date=date(2026, 12, 4), reference="", reference_text="November hosting",
                   payer_name="GLOBEX, INC."),
    ]
    assert parsed.skipped == 1  # the bank's fee (a debit)
    assert parsed.errors == ["Entry 5 (NtryRef 5): the amount '12,00' is not a number"]


@pytest.mark.parametrize("version", [2, 4, 6, 8, 10])
def test_versions_02_to_08_and_later_read_alike(version):
    parsed = parse_camt053(camt053([{"ref": "A1", "amount": "10.00", "name": "Acme Corp", "strd": "RF6812"}],
                                   version=version))
    assert [(l.entry_reference, l.amount, l.payer_name, l.reference) for l in parsed.lines] == [
        ("A1", Decimal("10.00"), "Acme Corp", "RF6812")]
    assert parsed.errors == [] and parsed.skipped == 0


def test_without_acctsvcrref_the_entry_reference_is_the_statement_and_ntryref():
    parsed = parse_camt053(camt053([{"ref": "", "ntry_ref": "7", "amount": "1.00"}], statement_id="S-9"))
    assert [l.entry_reference for l in parsed.lines] == ["S-9/7"]
    parsed = parse_camt053(camt053([{"ref": "", "amount": "1.00"}]))
    assert parsed.lines == [] and parsed.errors == [
        "Entry 1: it has no bank reference (AcctSvcrRef or NtryRef), so it could be imported twice"]


def test_pending_and_reversed_entries_are_skipped():
    parsed = parse_camt053(camt053([
        {"ref": "P", "amount": "5.00", "status": "PDNG"},
        {"ref": "D", "amount": "5.00", "indicator": "DBIT"},
        {"ref": "C", "amount": "5.00"},
    ]))
    assert [l.entry_reference for l in parsed.lines] == ["C"] and parsed.skipped == 2


@pytest.mark.parametrize(("entry", "error"), [
    ({"ref": "X", "amount": "-5.00"}, "Entry 2 (NtryRef n2): the amount '-5.00' must be more than zero"),
    ({"ref": "X", "amount": "5.001"}, "Entry 2 (NtryRef n2): the amount '5.001' has more than two decimal places"),
    ({"ref": "X", "amount": "5.00", "currency": "E1"}, "Entry 2 (NtryRef n2): the amount 5.00 has no valid currency (Ccy 'E1')"),
    ({"ref": "X", "amount": "5.00", "indicator": "CRED"}, "Entry 2 (NtryRef n2): CdtDbtInd is 'CRED', not CRDT or DBIT"),
    ({"ref": "X", "amount": "5.00", "booked": "04.12.2026"},
     "Entry 2 (NtryRef n2): the date '04.12.2026' (BookgDt) is not a date"),
])
def test_a_bad_entry_is_named_and_the_good_ones_kept(entry, error):
    parsed = parse_camt053(camt053([
        {"ref": "G1", "amount": "1.00", "ntry_ref": "n1"}, {**entry, "ntry_ref": "n2"},
        {"ref": "G3", "amount": "3.00", "ntry_ref": "n3"},
    ]))
    assert [l.entry_reference for l in parsed.lines] == ["G1", "G3"]
    assert parsed.errors == [error]


def test_a_batch_entry_gives_one_line_per_transfer():
    xml = camt053([]).replace(b"</Stmt>", b"""<Ntry><Amt Ccy="EUR">30.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts>BOOK</Sts>
      <BookgDt><Dt>2026-12-04</Dt></BookgDt><AcctSvcrRef>BATCH</AcctSvcrRef><NtryDtls>
      <TxDtls><Refs><AcctSvcrRef>B-1</AcctSvcrRef></Refs><AmtDtls><TxAmt><Amt Ccy="EUR">10.00</Amt></TxAmt></AmtDtls>
        <RltdPties><Dbtr><Nm>One</Nm></Dbtr></RltdPties></TxDtls>
      <TxDtls><Amt Ccy="EUR">20.00</Amt><RltdPties><Dbtr><Nm>Two</Nm></Dbtr></RltdPties>
        <RmtInf><Strd><CdtrRefInf><Ref>RF6812</Ref></CdtrRefInf></Strd></RmtInf></TxDtls>
      </NtryDtls></Ntry></Stmt>""")
    parsed = parse_camt053(xml)
    assert [(l.entry_reference, l.amount, l.payer_name, l.reference) for l in parsed.lines] == [
        ("B-1", Decimal("10.00"), "One", ""), ("BATCH/2", Decimal("20.00"), "Two", "RF6812")]


@pytest.mark.parametrize(("data", "message"), [
    (b"date;amount\n2026-12-04;10.00\n", "The file is not well-formed XML"),
    (b"<html><body>Statement</body></html>", "This is not an ISO 20022 camt.053 bank statement: its root element is 'html'"),
    (b'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.054.001.02"><BkToCstmrDbtCdtNtfctn/></Document>',
     "This is a camt.054 file, not a camt.053 bank statement"),
    (b'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:pain.001.001.03"/>', "This is a pain.001 file"),
    (b'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.01"/>', "camt.053.001.01 is not supported"),
    (b'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"><BkToCstmrStmt/></Document>',
     "The camt.053 file has no statement"),
    (b"", "The file is not well-formed XML"),
])
def test_a_file_that_is_not_a_camt053_is_refused_with_a_clear_error(data, message):
    with pytest.raises(StatementError) as exc:
        parse_camt053(data)
    assert str(exc.value).startswith(message)


def test_entities_are_refused_before_parsing():
    bomb = (b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]>'
            b'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"><BkToCstmrStmt>&lol2;</BkToCstmrStmt></Document>')
    external = (b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]><d>&x;</d>')
    for data in (bomb, external):
        with pytest.raises(StatementError, match="declares a DOCTYPE"):
            parse_camt053(data)
