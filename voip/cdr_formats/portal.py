"""The portal's own CDR CSV (issue 7 item 5): a header with the columns
`id,direction,caller,callee,answer_time,billsec` and optionally `disposition` and `account` (the tenant),
found by name (other columns are carried along). `direction` is outbound or inbound; `answer_time` is
ISO 8601 in UTC (an explicit offset is converted); `billsec` is whole seconds. The rated number is `callee`
in both directions: the dialled number of an outbound call, the called DID of an inbound one."""
from provisioning.telephony.calls import DIRECTIONS
from provisioning.telephony.cdrs import CdrParser, CdrRecord
from provisioning.telephony.text import aware_utc, header_index, whole_seconds

REQUIRED = ("id", "direction", "caller", "callee", "answer_time", "billsec")
OPTIONAL = ("disposition", "account")


class PortalParser(CdrParser):
    name = "portal"
    has_header = True

    def map_header(self, header):
        self._width = len(header)
        at = header_index(header, REQUIRED, OPTIONAL)
        self._positions = tuple(at[name] for name in (*REQUIRED, *OPTIONAL))

    def record(self, line, fields):
        if len(fields) != self._width:
            raise ValueError(f"expected {self._width} fields, found {len(fields)}")
        i_id, i_direction, i_caller, i_callee, i_answer, i_billsec, i_disposition, i_account = self._positions
        external_id = fields[i_id].strip()
        if not external_id:
            raise ValueError("id is empty")
        direction = fields[i_direction].strip().lower()
        if direction not in DIRECTIONS:
            raise ValueError(f"direction must be outbound or inbound, not {fields[i_direction]!r}")
        answer_text = fields[i_answer]
        if 0 < len(answer_text.strip()) <= 10:
            raise ValueError(f"answer_time needs a date and a time: {answer_text!r}")
        answer_time = aware_utc(answer_text, "answer_time")
        billsec = whole_seconds(fields[i_billsec], "billsec")
        disposition = "" if i_disposition is None else fields[i_disposition].strip()
        callee = fields[i_callee]
        return CdrRecord(
            line, external_id, direction, fields[i_caller], callee, callee, answer_time, billsec, disposition,
            self.not_answered(disposition) if disposition else "", fields,
            "" if i_account is None else fields[i_account].strip(),
        )
