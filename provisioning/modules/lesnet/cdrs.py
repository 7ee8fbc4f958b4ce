"""LesNet's daily per-peer CDR text file, read with the column mapping staff configure (shared/providers/
lesnet.md §3; the mapping format is in docs/voip-providers.md §5.3).

    mapping = clean_column_mapping({"delimiter": "tab", "header_rows": 1, "col_duration": "Seconds"})
    for item in read_cdr_file(text, mapping, peer_id="D4E3CD2BFC791", dids=("12046664021",)): ...

The file's layout is not published, so nothing is hard-coded: the default mapping is the simulator's layout
(`date/time, source, destination, duration seconds`, no header). Each line is read on its own; a bad line is a
CdrError with its line number and the good lines are read.
"""
import codecs
import hashlib
import math
import re
from collections import Counter
from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from provisioning.options import OptionsError
from provisioning.telephony.calls import INBOUND, OUTBOUND
from provisioning.telephony.cdrs import CdrError, CdrRecord
from provisioning.telephony.numbers import E164
from provisioning.telephony.text import csv_lines
from provisioning.voip_services import number_normaliser

DELIMITERS = {"tab": "\t", "comma": ",", "semicolon": ";", "pipe": "|"}
AUTO_DELIMITERS = ("\t", ",", ";", "|")
COLUMNS = ("col_datetime", "col_date", "col_time", "col_source", "col_destination", "col_duration",
           "col_direction", "col_call_id", "col_cost")
DEFAULT_MAPPING = {
    "delimiter": "",
    "header_rows": 0,
    "encoding": "utf-8",
    "col_datetime": 0,
    "col_date": None,
    "col_time": None,
    "datetime_formats": ["%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%m/%d/%Y %H:%M:%S"],
    "col_source": 1,
    "col_destination": 2,
    "col_duration": 3,
    "col_direction": None,
    "direction_values": {"in": INBOUND, "out": OUTBOUND, "i": INBOUND, "o": OUTBOUND, "inbound": INBOUND,
                         "outbound": OUTBOUND},
    "col_call_id": None,
    "col_cost": None,
}
# Field names also accepted for the col_* keys ({"callee": "Destination"} = {"col_destination": "Destination"}).
ALIASES = {
    "datetime": "col_datetime", "answer_time": "col_datetime", "start": "col_datetime", "date": "col_date",
    "time": "col_time", "source": "col_source", "caller": "col_source", "destination": "col_destination",
    "callee": "col_destination", "duration": "col_duration", "billsec": "col_duration", "direction": "col_direction",
    "call_id": "col_call_id", "external_id": "col_call_id", "cost": "col_cost",
}
MAX_COLUMN = 200
MAX_HEADER_ROWS = 10
SNIFF_LINES = 20
_DURATION = re.compile(r"^(?:(\d+):)?(\d+):(\d{1,2})$")


class ColumnMappingError(OptionsError):
    """An invalid mapping; `errors` maps each key to its message."""

    def __str__(self):
        return " ".join(f"{key}: {message}" for key, message in self.errors.items())


class CdrFileError(ValueError):
    """The file cannot be read with the mapping at all (e.g. a column name the header lacks)."""


def clean_column_mapping(mapping):
    """The complete mapping (defaults filled in), or ColumnMappingError naming every bad key."""
    if mapping in (None, ""):
        mapping = {}
    if not isinstance(mapping, dict):
        raise ColumnMappingError({"__all__": "the column mapping must be a JSON object"})
    errors, renamed = {}, {}
    for key, value in mapping.items():
        name = ALIASES.get(key, key)
        if name in renamed:
            errors[name] = f"is given twice ({key} is another name for {name})"
        renamed[name] = value
    mapping = renamed
    errors.update({key: "unknown key; the keys are listed in docs/voip-providers.md §5.3"
                   for key in mapping if key not in DEFAULT_MAPPING})
    cleaned = {**DEFAULT_MAPPING, **{key: value for key, value in mapping.items() if key in DEFAULT_MAPPING}}
    if ("col_date" in mapping) != ("col_time" in mapping) or (cleaned["col_date"] is None) != (cleaned["col_time"] is None):
        errors["col_date"] = "col_date and col_time go together: set both, or neither (then col_datetime is used)"
    if cleaned["col_date"] is not None and "col_datetime" not in mapping:
        cleaned["col_datetime"] = None
    for key, check in (("delimiter", _delimiter), ("header_rows", _header_rows), ("encoding", _encoding),
                       ("datetime_formats", _formats), ("direction_values", _direction_values)):
        try:
            cleaned[key] = check(cleaned[key])
        except ValueError as exc:
            errors[key] = str(exc)
    for key in COLUMNS:
        try:
            cleaned[key] = _column(cleaned[key], optional=key not in ("col_source", "col_destination", "col_duration"))
        except ValueError as exc:
            errors[key] = str(exc)
        if isinstance(cleaned.get(key), str) and not errors.get("header_rows") and cleaned["header_rows"] < 1:
            errors[key] = f"names a header column ({cleaned[key]!r}) but header_rows is 0"
    if cleaned["col_datetime"] is None and cleaned["col_date"] is None and "col_date" not in errors:
        errors["col_datetime"] = "set col_datetime, or col_date and col_time"
    if cleaned["col_direction"] is not None and not cleaned["direction_values"] and "direction_values" not in errors:
        errors["direction_values"] = "col_direction needs the values that mean inbound and outbound"
    used = [cleaned[key] for key in COLUMNS if cleaned.get(key) is not None and key not in errors]
    repeated = sorted({str(column) for column in used if used.count(column) > 1})
    if repeated:
        errors["__all__"] = f"each column may be mapped once; {', '.join(repeated)} is used twice"
    if errors:
        raise ColumnMappingError(errors)
    return cleaned


def decode(content, encoding):
    """Bytes → text in the mapping's encoding; a file that is not UTF-8 is read as latin-1 (lesnet.md §3)."""
    try:
        text = content.decode(encoding)
    except UnicodeDecodeError:
        if codecs.lookup(encoding).name != "utf-8":
            raise CdrFileError(f"the file is not {encoding}") from None
        text = content.decode("latin-1")
    return text.removeprefix("\ufeff")


def read_cdr_file(text, mapping, *, peer_id="", dids=(), region="US", local_npa=(), time_zone="UTC"):
    """Yield a CdrRecord or CdrError per line of the file's text. `mapping` must be cleaned; `dids` are E.164
    digits (the peer's, for direction detection). Raises CdrFileError before the first item when the mapping
    cannot apply to the file at all."""
    try:
        zone = ZoneInfo(time_zone or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        raise CdrFileError(f"unknown time zone {time_zone!r}") from None
    lines = text.splitlines(keepends=True)
    header_rows = mapping["header_rows"]
    delimiter = mapping["delimiter"] or sniff_delimiter(lines[header_rows:header_rows + SNIFF_LINES])
    rows = csv_lines(lines, delimiter=delimiter, skipinitialspace=True)
    header = []
    for _ in range(header_rows):
        first = next(rows, None)
        if first is not None and not header:
            header = [name.strip() for name in first[1]]
    at = _positions(mapping, header)
    reader = _LineReader(mapping, at, peer_id, frozenset(dids), number_normaliser(region, tuple(local_npa)), zone)
    return reader.items(rows)


def sniff_delimiter(lines):
    """The candidate delimiter found most often in the sample lines (tab, comma, semicolon, pipe); comma when
    none is found."""
    counts = Counter()
    for line in lines:
        for candidate in AUTO_DELIMITERS:
            counts[candidate] += line.count(candidate)
    best = max(AUTO_DELIMITERS, key=lambda candidate: counts[candidate])
    return best if counts[best] else ","


def preview_cdr_file(text, mapping, *, limit=10, **context):
    """The first `limit` items of a pasted sample, for the admin screen that edits a mapping: (items, error)
    with `error` a message when the mapping or the file cannot be read at all."""
    try:
        cleaned = clean_column_mapping(mapping)
        items = []
        for item in read_cdr_file(text, cleaned, **context):
            items.append(item)
            if len(items) >= limit:
                break
        return items, ""
    except (ColumnMappingError, CdrFileError) as exc:
        return [], str(exc)


class _LineReader:
    def __init__(self, mapping, at, peer_id, dids, normaliser, zone):
        self.mapping, self.at, self.peer_id, self.dids, self.normaliser, self.zone = (
            mapping, at, peer_id, dids, normaliser, zone)
        self.width = max(position for position in at.values() if position is not None) + 1
        self.directions = {str(k).lower(): v for k, v in mapping["direction_values"].items()}
        self.seen = Counter()

    def items(self, rows):
        for line, fields, error in rows:
            if error is None:
                try:
                    yield self.record(line, fields)
                    continue
                except ValueError as exc:
                    error = str(exc)
            yield CdrError(line, error, fields)

    def value(self, fields, key):
        position = self.at.get(key)
        return "" if position is None else fields[position].strip()

    def record(self, line, fields):
        if len(fields) < self.width:
            raise ValueError(f"expected at least {self.width} fields, found {len(fields)}")
        moment = self.moment(fields)
        source, destination = self.value(fields, "col_source"), self.value(fields, "col_destination")
        if not destination:
            raise ValueError("the destination number is empty")
        billsec = duration_seconds(self.value(fields, "col_duration"))
        direction, ignore = self.direction(fields, source, destination)
        external_id = self.value(fields, "col_call_id") or self.hashed_id(moment, source, destination, billsec)
        disposition = "answered" if billsec > 0 else "no duration"
        return CdrRecord(line, external_id, direction, source, destination, destination, moment, billsec, disposition,
                         ignore, fields, self.peer_id)

    def moment(self, fields):
        if self.at.get("col_datetime") is not None:
            text = self.value(fields, "col_datetime")
        else:
            text = f"{self.value(fields, 'col_date')} {self.value(fields, 'col_time')}".strip()
        for pattern in self.mapping["datetime_formats"]:
            try:
                parsed = datetime.strptime(text, pattern)
            except ValueError:
                continue
            if parsed.tzinfo is None:
                parsed = parsed.replace(tzinfo=self.zone)
            return parsed.astimezone(UTC)
        raise ValueError(f"date/time {text!r} matches none of the formats {', '.join(self.mapping['datetime_formats'])}")

    def direction(self, fields, source, destination):
        """(direction, ignore_reason): the mapped column, else the DIDs (lesnet.md §3)."""
        if self.at.get("col_direction") is not None:
            raw = self.value(fields, "col_direction")
            direction = self.directions.get(raw.lower())
            if direction is None:
                raise ValueError(f"direction {raw!r} is not one of {', '.join(sorted(self.directions))}")
            return direction, ""
        if self.e164(destination) in self.dids:
            return INBOUND, ""
        if self.e164(source) in self.dids:
            return OUTBOUND, ""
        return OUTBOUND, f"unmatched: neither {source or '(empty)'} nor {destination} is one of the peer's DIDs"

    def e164(self, number):
        if not number:
            return ""
        result = self.normaliser(number)
        return result.e164 if result.kind == E164 else ""

    def hashed_id(self, moment, source, destination, billsec):
        key = f"{self.peer_id}|{moment.isoformat()}|{source}|{destination}|{billsec}"
        self.seen[key] += 1
        return "lesnet:" + hashlib.sha256(f"{key}|{self.seen[key]}".encode()).hexdigest()


def duration_seconds(text):
    """Billable seconds from an integer, a decimal (rounded up), `mm:ss` or `hh:mm:ss`."""
    if not text:
        raise ValueError("the duration is empty")
    match = _DURATION.match(text)
    if match:
        hours, minutes, seconds = (int(part or 0) for part in match.groups())
        if seconds >= 60 or (match.group(1) and minutes >= 60):
            raise ValueError(f"duration {text!r} is not a valid time")
        return hours * 3600 + minutes * 60 + seconds
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"duration {text!r} is not seconds, mm:ss or hh:mm:ss") from None
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"duration {text!r} is negative or not a number")
    return math.ceil(value)


def _positions(mapping, header):
    at, missing = {}, []
    lowered = [name.lower() for name in header]
    for key in COLUMNS:
        column = mapping[key]
        if isinstance(column, str):
            if column.lower() not in lowered:
                missing.append(f"{key} {column!r}")
                continue
            column = lowered.index(column.lower())
        at[key] = column
    if missing:
        raise CdrFileError(f"the header ({', '.join(header) or 'empty'}) has no column {', '.join(missing)}")
    return at


def _column(value, *, optional):
    if value is None or value == "":
        if optional:
            return None
        raise ValueError("is required")
    if isinstance(value, bool):
        raise ValueError("must be a column number (0-based) or a header name")
    if isinstance(value, int) or (isinstance(value, str) and value.strip().isdigit()):
        number = int(value)
        if not 0 <= number <= MAX_COLUMN:
            raise ValueError(f"column {number} is out of range (0-{MAX_COLUMN})")
        return number
    if isinstance(value, str) and len(value.strip()) <= 100:
        return value.strip()
    raise ValueError("must be a column number (0-based) or a header name")


def _delimiter(value):
    value = DELIMITERS.get(str(value).lower(), value) if isinstance(value, str) else value
    if not isinstance(value, str) or len(value) > 1 or value in ('"', "\n", "\r"):
        raise ValueError("must be one character, tab, comma, semicolon or pipe (blank: detect)")
    return value


def _header_rows(value):
    if isinstance(value, bool) or not isinstance(value, (int, str)) or not str(value).strip().isdigit():
        raise ValueError("must be a whole number of lines")
    value = int(value)
    if value > MAX_HEADER_ROWS:
        raise ValueError(f"must be at most {MAX_HEADER_ROWS}")
    return value


def _encoding(value):
    try:
        codecs.lookup(str(value))
    except LookupError:
        raise ValueError(f"{value!r} is not an encoding Python knows (e.g. utf-8, latin-1, cp1252)") from None
    return str(value)


def _formats(value):
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not value or not all(isinstance(item, str) and "%" in item for item in value):
        raise ValueError("must be a list of strptime formats, e.g. [\"%Y-%m-%d %H:%M:%S\"]")
    return value


def _direction_values(value):
    if not isinstance(value, dict):
        raise ValueError("must be an object mapping the column's values to inbound or outbound")
    bad = [str(key) for key, direction in value.items() if direction not in (INBOUND, OUTBOUND)]
    if bad:
        raise ValueError(f"the values for {', '.join(bad)} must be inbound or outbound")
    return {str(key): direction for key, direction in value.items()}
