"""The portal's own CDR CSV (issue 7 item 5): a header with the columns
`id,direction,caller,callee,answer_time,billsec` and optionally `disposition`, found by name (other columns
are carried along). `direction` is outbound or inbound; `answer_time` is ISO 8601 in UTC (an explicit offset
is converted); `billsec` is whole seconds. The rated number is `callee` in both directions: the dialled
number of an outbound call, the called DID of an inbound one."""
from voip.rating.deck import DIRECTIONS
from voip.rating.text import aware_utc, header_index, whole_seconds

from .base import CdrParser, CdrRecord

REQUIRED = ("id", "direction", "caller", "callee", "answer_time", "billsec")
OPTIONAL = ("disposition",)


class PortalParser(CdrParser):
    name = "portal"
    has_header = True

    def map_header(self, header):
        self._width = (len(header),)
        self._at = header_index(header, REQUIRED, OPTIONAL)

    def record(self, line, fields):
        self.check_width(fields, self._width)
        at = self._at
        external_id = fields[at["id"]].strip()
        if not external_id:
            raise ValueError("id is empty")
        direction = fields[at["direction"]].strip().lower()
        if direction not in DIRECTIONS:
            raise ValueError(f"direction must be outbound or inbound, not {fields[at['direction']]!r}")
        answer_text = fields[at["answer_time"]]
        if 0 < len(answer_text.strip()) <= 10:
            raise ValueError(f"answer_time needs a date and a time: {answer_text!r}")
        answer_time = aware_utc(answer_text, "answer_time")
        billsec = whole_seconds(fields[at["billsec"]], "billsec")
        disposition = "" if at["disposition"] is None else fields[at["disposition"]].strip()
        callee = fields[at["callee"]]
        return CdrRecord(
            line, external_id, direction, fields[at["caller"]], callee, callee, answer_time, billsec, disposition,
            self.not_answered(disposition) if disposition else "", fields,
        )
