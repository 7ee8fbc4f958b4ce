"""Asterisk `cdr_csv` Master.csv (shared/providers/cdr-formats.md §1): no header, positional columns, 16,
17, 18 or 21 of them depending on `loguniqueid`, `loguserfield` and `newcdrcolumns`. A 17-column line is
taken to carry `uniqueid` (Asterisk writes it before `userfield`). Times are the server's local time unless
`usegmtime=yes`: the parser's `time_zone`. There is no direction column: calls whose `dcontext` is an
inbound context are inbound, the rest outbound; `dst` is the rated number in both directions. The account
is `accountcode`."""
import hashlib

from provisioning.telephony.cdrs import CdrParser, CdrRecord
from provisioning.telephony.text import aware_utc, whole_seconds

LAYOUT = (
    "accountcode", "src", "dst", "dcontext", "clid", "channel", "dstchannel", "lastapp", "lastdata", "start",
    "answer", "end", "duration", "billsec", "disposition", "amaflags", "uniqueid", "userfield", "peeraccount",
    "linkedid", "sequence",
)
WIDTHS = (16, 17, 18, 21)


class AsteriskParser(CdrParser):
    name = "asterisk"
    layout = LAYOUT

    def record(self, line, fields):
        self.check_width(fields, WIDTHS)
        billsec = whole_seconds(fields[13], "billsec")
        disposition = fields[14].strip()
        answer_time = aware_utc(fields[10], "answer", self.time_zone)
        dst = fields[2]
        return CdrRecord(
            line, _external_id(fields), self.direction_of_context(fields[3]), fields[1], dst, dst, answer_time,
            billsec, disposition, self.not_answered(disposition), fields, fields[0].strip(),
        )


#: The fields that tell apart the CDRs one channel logs (its `uniqueid` is the channel's, so a Dial to several
#: destinations, a transfer or a second bridge gives several CDRs with the same `uniqueid`): destination,
#: channels, application, times, seconds and outcome. Not `clid` (its text may be re-encoded between exports).
LEG_FIELDS = (1, 2, 3, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14)


def _external_id(fields):
    """The CDR's key within its source. Asterisk's `uniqueid` names a channel, not a CDR: one channel logs
    several CDRs (forked Dial, transfers, several bridges) that share it; `sequence` (21 columns,
    `newcdrcolumns=yes`) tells them apart, and `linkedid` ties the channels of one call together. So:

    - `uniqueid` and `sequence`: `uniqueid-sequence`;
    - `uniqueid` without `sequence` (17 or 18 columns): `uniqueid/` + a hash of the fields that distinguish the
      channel's CDRs (LEG_FIELDS), so that each leg is kept and the same line imported again is the same key;
    - no `uniqueid` (16 columns): a hash of the whole line."""
    uniqueid = fields[16].strip() if len(fields) > 16 else ""
    if not uniqueid:
        return "sha256:" + _digest(fields)
    sequence = fields[20].strip() if len(fields) > 20 else ""
    if sequence:
        return f"{uniqueid}-{sequence}"
    return f"{uniqueid}/{_digest([fields[index] for index in LEG_FIELDS])[:16]}"


def _digest(values):
    text = "\x1f".join(values).encode("utf-8", "surrogateescape")
    return hashlib.sha256(text).hexdigest()[:32]
