"""Reading a bank's CSV export through a column mapping: decimal comma or point, date formats, debits skipped,
a bad line reported with its line number while the good lines are kept."""
from datetime import date
from decimal import Decimal

import pytest

from payments.bank.csv_statement import CsvMapping, parse_amount, parse_csv
from payments.bank.lines import ParsedLine, StatementError

GERMAN = (
    "Buchungstag;Betrag;Währung;Verwendungszweck;Auftraggeber;Referenz\n"
    "04.12.2026;1.234,50;EUR;RF18 5390 0754 7034;Acme Corp;B-1001\n"
    "04.12.2026;-4,90;EUR;Kontoführung;;B-1002\n"
    "05.12.2026;43,85;eur;Rechnung November;\"Globex; Inc.\";B-1003\n"
    "05.12.2026;zehn;EUR;x;y;B-1004\n"
    "31.02.2026;1,00;EUR;x;y;B-1005\n"
    "\n"
    "06.12.2026;2,00;EUR;x;y;\n"
    "06.12.2026;3,00\n"
).encode("utf-8")
MAPPING = CsvMapping(entry_reference="Referenz", amount="Betrag", date="Buchungstag", currency="Währung",
                     reference_text="Verwendungszweck", payer_name="Auftraggeber", decimal=",", date_format="%d.%m.%Y")


def test_a_german_export_with_decimal_comma():
    parsed = parse_csv(GERMAN, MAPPING)
    assert parsed.lines == [
        ParsedLine(position=2, entry_reference="B-1001", amount=Decimal("1234.50"), currency="EUR",
                   booking_date=date(2026, 12, 4), reference_text="RF18 5390 0754 7034", payer_name="Acme Corp"),
        ParsedLine(position=4, entry_reference="B-1003", amount=Decimal("43.85"), currency="EUR",
                   booking_date=date(2026, 12, 5), reference_text="Rechnung November", payer_name="Globex; Inc."),
    ]
    assert parsed.skipped == 1
    assert parsed.errors == [
        "Line 5: the amount 'zehn' is not a number (decimal comma).",
        "Line 6: the date '31.02.2026' is not in the format 31.12.2026.",
        "Line 8: the bank reference is empty, so the line could be imported twice.",
        "Line 9: it has 2 columns, the mapping needs 6.",
    ]


def test_decimal_point_comma_delimiter_and_a_default_currency():
    data = b"Date,Amount,Memo,Id\n2026-12-04,\"1,234.56\",inv 1,T1\n2026-12-04,10,,T2\n"
    parsed = parse_csv(data, CsvMapping(entry_reference="id", amount="AMOUNT", date="Date", reference_text="Memo",
                                        default_currency="usd"))
    assert [(l.entry_reference, l.amount, l.currency) for l in parsed.lines] == [
        ("T1", Decimal("1234.56"), "USD"), ("T2", Decimal("10"), "USD")]
    assert parsed.errors == []


def test_a_missing_column_is_refused_naming_it_and_the_columns_there_are():
    with pytest.raises(StatementError) as exc:
        parse_csv(b"Date;Amount;Id\n", CsvMapping(entry_reference="Id", amount="Betrag", default_currency="EUR"))
    assert str(exc.value) == "The file has no column 'Betrag'; its columns are 'Date', 'Amount', 'Id'."
    with pytest.raises(StatementError, match="Map the currency column"):
        parse_csv(b"Amount;Id\n", CsvMapping(entry_reference="Id", amount="Amount"))


@pytest.mark.parametrize(("raw", "mark", "value"), [
    ("1.234,56", ",", "1234.56"), ("1 234,56", ",", "1234.56"), ("12,5", ",", "12.5"), ("12.50-", ".", "-12.50"),
    ("+7", ".", "7"), ("1'234.00", ".", "1234.00"),
])
def test_amounts(raw, mark, value):
    assert parse_amount(raw, mark) == Decimal(value)


def test_a_windows_export_in_cp1252_is_read():
    data = "Betrag;Ref;Name\n5,00;R1;Müller\n".encode("cp1252")
    parsed = parse_csv(data, CsvMapping(entry_reference="Ref", amount="Betrag", payer_name="Name", decimal=",",
                                        default_currency="EUR"))
    assert [l.payer_name for l in parsed.lines] == ["Müller"]
