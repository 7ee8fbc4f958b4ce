"""What every CDR parser yields, and the streaming loop they share.

A parser reads an open text file line by line and yields, per CDR line, either a CdrRecord (normalized
fields, ready for rating) or a CdrError (its line number and the reason); a bad line never stops the good
ones. Only a file that cannot be read at all (e.g. a header without the needed columns) raises CdrFileError,
before the first record.
"""
from dataclasses import dataclass
from datetime import UTC, datetime

from .calls import INBOUND, OUTBOUND
from .text import csv_lines

LOCAL = "local"
LOCAL_CALL = "local call (extension to extension)"
EXTENSION_LEG = "extension leg: the trunk leg carries the charge"

#: Dial-plan contexts whose calls are inbound, for formats without a direction column (Asterisk, FreeSWITCH):
#: FreeSWITCH/FusionPBX `public`, and the usual Asterisk/FreePBX trunk contexts.
DEFAULT_INBOUND_CONTEXTS = frozenset({"public", "from-trunk", "from-pstn", "from-external", "from-did", "ext-did"})


@dataclass(slots=True)
class CdrRecord:
    line: int  # line number in the file (the header, if any, is line 1)
    external_id: str  # unique per source: a re-import of the same CDR has the same id
    direction: str  # "outbound", "inbound" or "local"
    caller: str
    callee: str
    number: str  # the number rated: the callee of an outbound call, the called DID of an inbound one
    answer_time: datetime | None  # aware, UTC; None when the call was not answered
    billsec: int  # whole seconds from answer to hang-up
    disposition: str  # as the PBX wrote it (ANSWERED, NORMAL_CLEARING, answered…)
    ignore_reason: str  # non-empty when the format's rules say the call is not billed (not answered, b-leg…)
    fields: list  # the line's fields as read, for output that repeats the input
    # The tenant/account the call belongs to as the provider names it (FusionPBX domain, Vodia tenant, LesNet
    # peer id, Asterisk/FreeSWITCH accountcode), "" when the format has none: the import matches CDRs to
    # services by it together with the numbers.
    account: str = ""
    # The id all legs of one call share, when the format names it (Vodia's PrimaryCallID): the import hides the
    # local (extension) legs of a call that has an external leg.
    call_id: str = ""
    # A leg that is part of a call another record carries (a FusionPBX b-leg, a Vodia extension leg that is not
    # its call's primary leg): stored for staff, never a call of its own in the client's call records.
    internal_leg: bool = False


@dataclass(slots=True)
class CdrError:
    line: int
    reason: str
    fields: list


class CdrFileError(Exception):
    """The file cannot be read as this format at all."""


class CdrParser:
    """Base of the format parsers: iterate over it for CdrRecord/CdrError items, in file order.

    `time_zone`: zone of timestamps written without an offset (Asterisk and FreeSWITCH write the switch's
    local time unless configured for UTC). `inbound_contexts`: contexts whose calls are inbound, for formats
    without a direction column. `billable_dispositions`: dispositions of answered calls, for formats that
    have one (upper case).
    """

    name = ""
    has_header = False
    layout = ()  # column names of a headerless format
    csv_options = {}
    default_billable_dispositions = frozenset({"ANSWERED"})

    def __init__(self, lines, *, time_zone=UTC, inbound_contexts=DEFAULT_INBOUND_CONTEXTS, billable_dispositions=None):
        self.time_zone = time_zone
        self.inbound_contexts = frozenset(inbound_contexts)
        self.billable_dispositions = frozenset(
            d.strip().upper() for d in (billable_dispositions or self.default_billable_dispositions)
        )
        self._rows = self.rows(iter(lines))
        self.columns = tuple(self.layout)
        if self.has_header:
            self._read_header()

    def rows(self, lines):
        """`(line_number, fields, error)` per non-blank line."""
        return csv_lines(lines, **self.csv_options)

    def _read_header(self):
        first = next(self._rows, None)
        if first is None:
            raise CdrFileError("it is empty: the first line must be the header")
        _line, header, error = first
        if error is not None:
            raise CdrFileError(f"its header line is unreadable: {error}")
        self.columns = tuple(name.strip() for name in header)
        try:
            self.map_header(self.columns)
        except ValueError as exc:
            raise CdrFileError(str(exc)) from None

    def map_header(self, header):
        """Find the columns this format needs; ValueError names what is missing."""

    def record(self, line, fields):
        """A CdrRecord from one line's fields; ValueError with the reason for a bad line."""
        raise NotImplementedError

    def __iter__(self):
        record = self.record
        for line, fields, error in self._rows:
            if error is None:
                try:
                    yield record(line, fields)
                    continue
                except ValueError as exc:
                    error = str(exc)
            yield CdrError(line, error, fields)

    # Helpers for the formats.

    def check_width(self, fields, widths):
        if len(fields) not in widths:
            expected = " or ".join(str(width) for width in widths)
            raise ValueError(f"expected {expected} fields, found {len(fields)}")

    def direction_of_context(self, context):
        return INBOUND if context.strip() in self.inbound_contexts else OUTBOUND

    def not_answered(self, disposition):
        """The ignore reason for a disposition that is not billable, or ""."""
        if disposition.upper() in self.billable_dispositions:
            return ""
        return f"not answered ({disposition or 'no disposition'})"
