"""Rate deck CSV files (issue 7 item 5): a header with the columns
`prefix,destination,connect_fee,rate_per_minute,minimum_seconds,increment_seconds`, optionally
`free_seconds,valid_from,valid_to,weight`, the spec's other rate fields `direction` and `nocharge_below`, and
a time-of-day period `days,start_time,end_time` (step 10: `mon-fri`, `08:00`, `18:00`; blank: all day).
Columns are found by name; a bad row is reported with its line number and left out of the deck. A row
without a direction applies to both: outbound calls are rated on the dialled number, inbound calls on the
called DID, with the same deck."""
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from provisioning.telephony.calls import DIRECTIONS
from provisioning.telephony.text import aware_utc, csv_lines, header_index, whole_seconds

from .deck import Deck, Rate
from .periods import parse_days, parse_time

RATE_COLUMNS = ("prefix", "destination", "connect_fee", "rate_per_minute", "minimum_seconds", "increment_seconds")
OPTIONAL_RATE_COLUMNS = (
    "free_seconds", "valid_from", "valid_to", "weight", "direction", "nocharge_below", "days", "start_time", "end_time",
)
BOTH = "both"


class DeckFileError(Exception):
    """The file cannot be used as a rate deck at all (no header, or required columns missing)."""


@dataclass(frozen=True, slots=True)
class DeckRowError:
    line: int
    reason: str


@dataclass(slots=True)
class DeckFile:
    deck: Deck
    errors: list  # DeckRowError, in line order
    ignored_columns: list  # header names that are not rate fields


def read_deck(lines):
    """Read a rate deck from an iterable of lines (an open text file). Raises DeckFileError when the header is
    missing or lacks a required column."""
    rows = csv_lines(lines)
    first = next(rows, None)
    if first is None:
        raise DeckFileError(f"it is empty: the first line must be the header {','.join(RATE_COLUMNS)}")
    _line, header, error = first
    if error is not None:
        raise DeckFileError(f"its header line is unreadable: {error}")
    try:
        columns = header_index(header, RATE_COLUMNS, OPTIONAL_RATE_COLUMNS)
    except ValueError as exc:
        raise DeckFileError(str(exc)) from None
    known = set(RATE_COLUMNS) | set(OPTIONAL_RATE_COLUMNS)
    ignored = [name for name in header if name.strip().lower() not in known]
    rates, errors = [], []
    for line, fields, error in rows:
        if error is None and len(fields) != len(header):
            error = f"expected {len(header)} fields as in the header, found {len(fields)}"
        if error is None:
            try:
                rates.extend(_rates(line, fields, columns))
                continue
            except ValueError as exc:
                error = str(exc)
        errors.append(DeckRowError(line, error))
    return DeckFile(Deck(rates), errors, ignored)


def _rates(line, fields, columns):
    def text(name):
        position = columns[name]
        return "" if position is None else fields[position].strip()

    direction = text("direction").lower() or BOTH  # one package's deck rates both directions by default
    if direction not in (*DIRECTIONS, BOTH):
        raise ValueError(f"direction must be outbound, inbound or both, not {direction!r}")
    values = {
        "prefix": text("prefix").removeprefix("+"),
        "destination": text("destination"),
        "connect_fee": _decimal(text("connect_fee"), "connect_fee"),
        "rate_per_minute": _decimal(text("rate_per_minute"), "rate_per_minute"),
        "minimum_seconds": whole_seconds(text("minimum_seconds"), "minimum_seconds"),
        "increment_seconds": whole_seconds(text("increment_seconds"), "increment_seconds"),
        "free_seconds": whole_seconds(text("free_seconds") or "0", "free_seconds"),
        "nocharge_below": whole_seconds(text("nocharge_below") or "0", "nocharge_below"),
        "valid_from": aware_utc(text("valid_from"), "valid_from"),
        "valid_to": aware_utc(text("valid_to"), "valid_to"),
        "weight": _integer(text("weight") or "0", "weight"),
        "days": parse_days(text("days")),
        "start_time": parse_time(text("start_time"), "start_time"),
        "end_time": parse_time(text("end_time"), "end_time"),
        "id": line,
    }
    directions = DIRECTIONS if direction == BOTH else (direction,)
    return [Rate(direction=each, **values) for each in directions]


def _decimal(text, name):
    """A plain decimal number: no thousands separators, no NaN or infinity (Decimal would accept those)."""
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise ValueError(f"{name} is not a decimal number: {text!r}") from None
    if not value.is_finite():
        raise ValueError(f"{name} is not a decimal number: {text!r}")
    return value


def _integer(text, name):
    digits = text.removeprefix("-")
    if not (digits.isascii() and digits.isdigit()):
        raise ValueError(f"{name} must be a whole number, not {text!r}")
    return int(text)
