"""FreeSWITCH `mod_cdr_csv` with its default `example` template (shared/providers/cdr-formats.md §2): no
header, 13 fields, all quoted, with a space before the last one. Stamps are the switch's local time (the
parser's `time_zone`). A call is answered when `answer_stamp` is set (and billed when `billsec > 0`). There
is no direction column: calls in an inbound context (`public`) are inbound; `destination_number` is the rated
number in both directions. The account is `accountcode`."""
from provisioning.telephony.cdrs import CdrParser, CdrRecord
from provisioning.telephony.text import aware_utc, whole_seconds

LAYOUT = (
    "caller_id_name", "caller_id_number", "destination_number", "context", "start_stamp", "answer_stamp",
    "end_stamp", "duration", "billsec", "hangup_cause", "uuid", "bleg_uuid", "accountcode",
)
WIDTH = (len(LAYOUT),)


class FreeSwitchParser(CdrParser):
    name = "freeswitch"
    layout = LAYOUT
    csv_options = {"skipinitialspace": True}  # the template's `, "${accountcode}"`

    def record(self, line, fields):
        self.check_width(fields, WIDTH)
        uuid = fields[10].strip()
        if not uuid:
            raise ValueError("uuid is empty")
        billsec = whole_seconds(fields[8], "billsec")
        answer_time = aware_utc(fields[5], "answer_stamp", self.time_zone)
        hangup_cause = fields[9].strip()
        ignore = "" if answer_time is not None else f"not answered ({hangup_cause or 'no answer_stamp'})"
        destination = fields[2]
        return CdrRecord(
            line, uuid, self.direction_of_context(fields[3]), fields[1], destination, destination, answer_time,
            billsec, hangup_cause, ignore, fields, fields[12].strip(),
        )
