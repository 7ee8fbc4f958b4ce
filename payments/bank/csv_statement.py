"""Reading a bank's CSV export with a column mapping staff choose (which column is the date, amount, currency,
reference text, payer name and the bank's entry reference; decimal comma or point; the date format).

Credits (amounts above zero) become ParsedLines; debits and zero lines are skipped and counted. A bad line
becomes an error with its line number in the file (the header is line 1); the good lines are kept."""
import csv
import io
import re
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from payments.bank.lines import ParsedLine, ParsedStatement, StatementError

DATE_FORMATS = {
    "%Y-%m-%d": "2026-12-31",
    "%d.%m.%Y": "31.12.2026",
    "%d/%m/%Y": "31/12/2026",
    "%m/%d/%Y": "12/31/2026",
    "%d-%m-%Y": "31-12-2026",
}
CENT = Decimal("0.01")


@dataclass(frozen=True)
class CsvMapping:
    """Header names of the columns (matched without regard to case and surrounding spaces)."""

    entry_reference: str
    amount: str
    date: str = ""
    currency: str = ""
    reference_text: str = ""
    payer_name: str = ""
    default_currency: str = ""  # when the file has no currency column
    decimal: str = "."  # "." or ","
    date_format: str = "%Y-%m-%d"
    delimiter: str = ""  # "" = guess from the header (, ; tab |)


def _decode(data):
    if isinstance(data, str):
        return data
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    return data.decode("latin-1")


def parse_amount(raw, decimal_mark):
    """A Decimal from a bank's amount text: `1.234,56` with a decimal comma, `1,234.56` or `1234.56` with a point;
    spaces, apostrophes and a trailing or leading sign allowed. ValueError with the reason."""
    text = raw.strip().replace("\u00a0", "").replace(" ", "").replace("'", "")
    if decimal_mark == ",":
        text = text.replace(".", "").replace(",", ".")
    else:
        text = text.replace(",", "")
    if text.endswith("-"):
        text = "-" + text[:-1]
    if text.startswith("+"):
        text = text[1:]
    if not re.fullmatch(r"-?\d+(\.\d+)?", text):
        raise ValueError(f"the amount {raw!r} is not a number (decimal {'comma' if decimal_mark == ',' else 'point'})")
    value = Decimal(text)
    if value != value.quantize(CENT):
        raise ValueError(f"the amount {raw!r} has more than two decimal places")
    return value


def parse_csv(data, mapping):
    """A ParsedStatement from the bytes of a CSV file read with `mapping`; StatementError if the header lacks a
    mapped column."""
    if mapping.decimal not in (".", ","):
        raise StatementError("The decimal mark is a point or a comma.")
    text = _decode(data)
    if not text.strip():
        raise StatementError("The file is empty.")
    delimiter = mapping.delimiter or _guess_delimiter(text.splitlines()[0])
    rows = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = next(rows)
    except (StopIteration, csv.Error) as exc:
        raise StatementError(f"The header line cannot be read ({exc}).") from None
    columns = {name.strip().casefold(): i for i, name in enumerate(header)}
    wanted = {
        "entry_reference": mapping.entry_reference, "amount": mapping.amount, "date": mapping.date,
        "currency": mapping.currency, "reference_text": mapping.reference_text, "payer_name": mapping.payer_name,
    }
    index, missing = {}, []
    for field, name in wanted.items():
        if not name:
            continue
        if name.strip().casefold() not in columns:
            missing.append(name)
        else:
            index[field] = columns[name.strip().casefold()]
    if missing:
        raise StatementError(
            f"The file has no column {', '.join(repr(m) for m in missing)}; its columns are "
            f"{', '.join(repr(h.strip()) for h in header)}."
        )
    if "currency" not in index and not re.fullmatch(r"[A-Za-z]{3}", mapping.default_currency or ""):
        raise StatementError("Map the currency column or give the statement's currency.")
    result = ParsedStatement()
    width = max(index.values()) + 1
    line_number = 1
    while True:
        try:
            row = next(rows)
        except StopIteration:
            break
        except csv.Error as exc:
            line_number += 1
            result.errors.append(f"Line {line_number}: {exc}")
            continue
        line_number = rows.line_num
        if not any(cell.strip() for cell in row):
            continue
        if len(row) < width:
            result.errors.append(f"Line {line_number}: it has {len(row)} columns, the mapping needs {width}.")
            continue
        try:
            line = _line(row, index, mapping, line_number)
        except ValueError as exc:
            result.errors.append(f"Line {line_number}: {exc}.")
            continue
        if line is None:
            result.skipped += 1
        else:
            result.lines.append(line)
    return result


def _guess_delimiter(header):
    counts = {d: header.count(d) for d in (";", ",", "\t", "|")}
    best = max(counts, key=counts.get)
    return best if counts[best] else ","


def _line(row, index, mapping, line_number):
    cell = lambda field: row[index[field]].strip() if field in index else ""  # noqa: E731
    amount = parse_amount(cell("amount"), mapping.decimal) if cell("amount") else None
    if amount is None:
        raise ValueError("the amount is empty")
    if amount <= 0:
        return None  # a debit (or nothing): not a payment to us
    reference = cell("entry_reference")
    if not reference:
        raise ValueError("the bank reference is empty, so the line could be imported twice")
    if len(reference) > 120:
        raise ValueError("the bank reference is longer than 120 characters")
    currency = (cell("currency") or mapping.default_currency).upper()
    if not re.fullmatch(r"[A-Z]{3}", currency):
        raise ValueError(f"the currency {currency!r} is not a three-letter code")
    booked = None
    if cell("date"):
        try:
            booked = datetime.strptime(cell("date"), mapping.date_format).date()
        except ValueError:
            raise ValueError(
                f"the date {cell('date')!r} is not in the format {DATE_FORMATS.get(mapping.date_format, mapping.date_format)}"
            ) from None
    text = cell("reference_text")
    return ParsedLine(
        position=line_number, entry_reference=reference, amount=amount, currency=currency, booking_date=booked,
        reference="", reference_text=text, payer_name=cell("payer_name")[:200],
    )
