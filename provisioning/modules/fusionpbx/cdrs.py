"""FusionPBX's CDR CSV export (shared/providers/cdr-formats.md §3, `xml_cdr_export.php`): a header row,
every value in double quotes with embedded quotes *not* escaped, columns that depend on settings and
permissions, so they are found by name. A line that is not in FusionPBX's own quoting (e.g. re-saved by a
spreadsheet) is read as ordinary CSV.

- External id `xml_cdr_uuid`; `direction` inbound/outbound/local (local calls are not billed).
- Rated number (ictVoIP convention, seed 002): outbound → `destination_number`, inbound → `caller_destination`.
- Billable seconds: `billsec`, else `ceil(billmsec / 1000)`, else `duration` (the export's `duration` *is*
  billsec); billed when > 0.
- Answer time from the epochs, never the stamps (fusionpbx#5955): `start_epoch + tta` (the export's
  `tta` = answer_epoch − start_epoch); only without those, `answer_stamp` (its offset, else the parser's zone).
- Only a-legs are billed: a `b` leg (present with `log-b-leg`) is the other half of a billed call, an internal
  leg (not a call of its own in the client's call records).
- The account is `domain_name` (the tenant), else `accountcode`, when the export has them.
"""
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation

from provisioning.telephony.calls import INBOUND, OUTBOUND
from provisioning.telephony.cdrs import LOCAL, LOCAL_CALL, CdrParser, CdrRecord
from provisioning.telephony.text import aware_utc, csv_lines, header_index, whole_seconds

REQUIRED = ("xml_cdr_uuid", "direction", "caller_destination", "destination_number")
OPTIONAL = (
    "caller_id_number", "billsec", "billmsec", "duration", "start_epoch", "tta", "answer_stamp", "status",
    "hangup_cause", "leg", "domain_name", "accountcode",
)
SECONDS_COLUMNS = ("billsec", "billmsec", "duration")
TIME_COLUMNS = ("start_epoch", "answer_stamp")
_DIRECTIONS = (OUTBOUND, INBOUND, LOCAL)


class FusionPbxParser(CdrParser):
    name = "fusionpbx"
    has_header = True
    _width = None

    def rows(self, lines):
        for number, line in enumerate(lines, 1):
            text = line.rstrip("\r\n")
            if not text.strip():
                continue
            if len(text) > 1 and text[0] == '"' and text[-1] == '"':
                fields = text[1:-1].split('","')
                if self._width is None or len(fields) == self._width:
                    yield number, fields, None
                    continue
            yield from csv_lines((line,), start=number)

    def map_header(self, header):
        self._width = len(header)
        self._at = at = header_index(header, REQUIRED, OPTIONAL)
        for group in (SECONDS_COLUMNS, TIME_COLUMNS):
            if all(at[name] is None for name in group):
                raise ValueError(f"the header needs one of the columns {', '.join(group)}")

    def record(self, line, fields):
        self.check_width(fields, (self._width,))
        at = self._at

        def value(name):
            position = at[name]
            return "" if position is None else fields[position].strip()

        external_id = value("xml_cdr_uuid")
        if not external_id:
            raise ValueError("xml_cdr_uuid is empty")
        direction = value("direction").lower()
        if direction not in _DIRECTIONS:
            raise ValueError(f"direction must be inbound, outbound or local, not {value('direction')!r}")
        ignore = ""
        b_leg = value("leg").lower() == "b"
        if b_leg:
            ignore = "b-leg (the a-leg carries the charge)"
        elif direction == LOCAL:
            ignore = LOCAL_CALL
        column = "caller_destination" if direction == INBOUND else "destination_number"
        number = value(column)
        if not number and not ignore:
            raise ValueError(f"{direction} call with an empty {column}")
        return CdrRecord(
            line, external_id, direction, value("caller_id_number"), value("destination_number"), number,
            self._answer_time(value), _billsec(value), value("status") or value("hangup_cause"), ignore, fields,
            value("domain_name") or value("accountcode"), internal_leg=b_leg,
        )

    def _answer_time(self, value):
        """start_epoch + tta; else answer_stamp; else start_epoch (close enough to pick the valid rates)."""
        start, tta = value("start_epoch"), value("tta")
        if start and tta:
            offset = _integer(tta, "tta")
            if offset < 0:  # answer_epoch 0: not answered
                return None
            return _epoch(_integer(start, "start_epoch") + offset)
        answer = aware_utc(value("answer_stamp"), "answer_stamp", self.time_zone)
        if answer is None and start:
            return _epoch(_integer(start, "start_epoch"))
        return answer


def _billsec(value):
    if billsec := value("billsec"):
        return whole_seconds(billsec, "billsec")
    if billmsec := value("billmsec"):
        return whole_seconds(billmsec, "billmsec", per_second=1000)  # 3 s and a few ms bill 4 s (step 1)
    return whole_seconds(value("duration"), "duration")


def _integer(text, name):
    """A whole number written as an integer or a decimal (PostgreSQL `numeric`); fractions are dropped."""
    try:
        number = Decimal(text)
    except InvalidOperation:
        number = None
    if number is None or not number.is_finite():
        raise ValueError(f"{name} is not a number: {text!r}")
    return int(number)


def _epoch(seconds):
    try:
        return datetime.fromtimestamp(seconds, UTC)
    except (OverflowError, OSError, ValueError):
        raise ValueError(f"epoch {seconds} is out of range") from None
