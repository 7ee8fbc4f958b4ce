"""Reading the text of deck and CDR files: one record per physical line, with its line number, and the
field conversions they share. A field's problem is a ValueError whose message is the reason shown to staff."""
import codecs
import csv
import re
from dataclasses import dataclass
from datetime import UTC, datetime

from .calls import MAX_SECONDS

#: Opening arguments for the offline rating's files (`manage.py rate_cdrs`): a BOM is dropped, bytes that are not
#: UTF-8 are kept as they are (written back unchanged to the output), and line ends are left to the CSV reader.
#: Files imported into the database are opened with `text_encoding` instead: a database stores text, not bytes.
OPEN_INPUT = {"encoding": "utf-8-sig", "errors": "surrogateescape", "newline": ""}
OPEN_OUTPUT = {"encoding": "utf-8", "errors": "surrogateescape", "newline": ""}

SNIFF_BYTES = 64 * 1024  # the head read to tell UTF-16 and binary files apart
CHECK_CHUNK = 1024 * 1024  # bytes decoded at a time to check the whole file
BINARY_SHARE = 0.01  # control bytes (not tab, line ends or form feed) in the head above this: not a text file
_CONTROL = bytes(b for b in range(32) if b not in b"\t\n\r\x0c\x1a")


class TextFileError(ValueError):
    """The file is not text the portal can read (binary, or broken in its own encoding); the message says why."""


@dataclass(frozen=True)
class TextEncoding:
    """How to open a text file: `codec` for open(); `note` says what staff should know ("" for UTF-8)."""

    codec: str
    label: str
    note: str = ""

    def byte_length(self, text):
        """How many bytes `text` took in the file (for progress): exact but for a BOM."""
        if self.codec == "latin-1":
            return len(text)
        return len(text.encode("utf-16-le" if self.label == "UTF-16" else "utf-8"))


UTF8 = TextEncoding("utf-8-sig", "UTF-8")


def text_encoding(path):
    """The encoding of a CDR text file, from its bytes: UTF-8 (with or without BOM), UTF-16 (with a BOM, or
    without one when every other byte of the head is zero, as in UTF-16 ASCII text), else Latin-1 (ISO 8859-1)
    for a file that is not valid UTF-8 — as the LesNet reader does (docs/voip.md). Raises TextFileError for a
    binary file (NUL or control bytes in the head) and for UTF-8 or UTF-16 that breaks further on."""
    with open(path, "rb") as handle:
        head = handle.read(SNIFF_BYTES)
    if head.startswith(codecs.BOM_UTF8):
        encoding = UTF8
    elif head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) and not head.startswith(codecs.BOM_UTF32_LE):
        encoding = TextEncoding("utf-16", "UTF-16", "The file is UTF-16; it was read as such.")
    else:
        encoding = _utf16_without_bom(head)
    if encoding is None:
        if b"\x00" in head or len(head) - len(head.translate(None, _CONTROL)) > BINARY_SHARE * len(head):
            raise TextFileError("it is a binary file, not CSV text (save the CDRs as CSV, UTF-8)")
        bad = _first_undecodable(path, "utf-8")
        if bad is None:
            return UTF8
        return TextEncoding("latin-1", "Latin-1", f"The file is not UTF-8 (line {bad[1]} is the first that is not); "
                                                  "it was read as Latin-1 (ISO 8859-1).")
    bad = _first_undecodable(path, encoding.codec)
    if bad is not None:
        raise TextFileError(f"it starts as {encoding.label} but byte {bad[0]} (line {bad[1]}) is not {encoding.label}")
    return encoding


def _utf16_without_bom(head):
    """UTF-16 LE or BE text without a BOM: the high byte of (nearly) every character of CSV text is zero."""
    pairs = len(head) // 2
    if pairs < 2:
        return None
    even, odd = head[0 : pairs * 2 : 2].count(0), head[1 : pairs * 2 : 2].count(0)
    if odd >= 0.9 * pairs and even == 0:
        return TextEncoding("utf-16-le", "UTF-16", "The file is UTF-16 (little-endian, no BOM); it was read as such.")
    if even >= 0.9 * pairs and odd == 0:
        return TextEncoding("utf-16-be", "UTF-16", "The file is UTF-16 (big-endian, no BOM); it was read as such.")
    return None


def _first_undecodable(path, codec):
    """(byte offset, line number) of the first byte `codec` cannot decode, or None when the whole file decodes."""
    decoder = codecs.getincrementaldecoder(codec)()
    offset, lines = 0, 1
    with open(path, "rb") as handle:
        while chunk := handle.read(CHECK_CHUNK):
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError as exc:
                return _position(offset, lines, chunk, exc.start)
            offset += len(chunk)
            lines += chunk.count(b"\n")
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return offset, lines
    return None


def _position(offset, lines, chunk, start):
    start = max(start, 0)
    return offset + start, lines + chunk.count(b"\n", 0, start)


_SURROGATE = re.compile("[\ud800-\udfff]")


def printable(text):
    """`text` as a database and a page take it: each surrogate — a byte kept by surrogateescape, or a lone one
    from JSON's "\\ud800" — becomes U+FFFD, so that writing a reason or a failure can never fail itself."""
    return _SURROGATE.sub("\ufffd", text)


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
