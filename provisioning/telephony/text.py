"""Reading the text of deck and CDR files: one record per physical line, with its line number, and the
field conversions they share. A field's problem is a ValueError whose message is the reason shown to staff."""
import csv
from datetime import UTC, datetime

from .calls import MAX_SECONDS

#: Opening arguments for every input file: a BOM is dropped, bytes that are not UTF-8 are kept as they are
#: (written back unchanged to the output), and line ends are left to the CSV reader.
OPEN_INPUT = {"encoding": "utf-8-sig", "errors": "surrogateescape", "newline": ""}
OPEN_OUTPUT = {"encoding": "utf-8", "errors": "surrogateescape", "newline": ""}


class _OneLine:
    """An iterator handing the CSV reader one line at a time, so a quote left open cannot swallow the lines
    after it: every record is one physical line (no CDR or deck format has line breaks inside a field)."""

    __slots__ = ("line",)

    def __init__(self):
        self.line = None

    def __iter__(self):
        return self

    def __next__(self):
        line = self.line
        if line is None:
            raise StopIteration
        self.line = None
        return line


def csv_lines(lines, *, start=1, **fmtparams):
    """Yield `(line_number, fields, error)` per non-blank line of `lines`; `error` is a reason or None."""
    feeder = _OneLine()
    reader = csv.reader(feeder, **fmtparams)
    for number, line in enumerate(lines, start):
        feeder.line = line
        try:
            fields = next(reader)
        except csv.Error as exc:
            yield number, [line.rstrip("\r\n")], f"unreadable CSV: {exc}"
            continue
        except StopIteration:  # pragma: no cover - the feeder always has the line
            continue
        if not fields:
            continue
        last = fields[-1]
        if "\n" in last or "\r" in last:
            fields[-1] = last.rstrip("\r\n")
            yield number, fields, "a quoted field is not closed on this line"
            continue
        yield number, fields, None


def whole_seconds(text, name, *, per_second=1):
    """A non-negative whole number of seconds, at most MAX_SECONDS. With `per_second` (e.g. 1000 for
    milliseconds) the text counts fractions of a second, rounded up to whole seconds."""
    if per_second == 1 and len(text) < 8 and text.isdigit() and text.isascii():
        return int(text)  # the common case: plain digits, below MAX_SECONDS
    value = text.strip()
    if not (value.isascii() and value.isdigit()):
        raise ValueError(f"{name} must be a whole number, not {text!r}")
    seconds = -(-int(value) // per_second)
    if seconds > MAX_SECONDS:
        raise ValueError(f"{name} {value} is more than {MAX_SECONDS} seconds")
    return seconds


def aware_utc(text, name, tz=UTC):
    """An ISO 8601 date and time as an aware UTC datetime; without an offset it is in `tz`.
    Empty text is None."""
    value = text.strip()
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{name} is not an ISO 8601 date and time: {text!r}") from None
    if moment.tzinfo is None:
        if tz is UTC:
            return moment.replace(tzinfo=UTC)
        moment = moment.replace(tzinfo=tz)
    elif moment.tzinfo is UTC:  # "…Z": already UTC
        return moment
    return moment.astimezone(UTC)


def header_index(header, required, optional=()):
    """Map column names to positions; raise ValueError naming the missing required columns."""
    positions = {}
    for position, name in enumerate(header):
        positions.setdefault(name.strip().lower(), position)
    missing = [name for name in required if name not in positions]
    if missing:
        raise ValueError(f"the header lacks the column(s) {', '.join(missing)} (found: {', '.join(header)})")
    return {name: positions.get(name) for name in (*required, *optional)}
