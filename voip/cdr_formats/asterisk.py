"""Asterisk `cdr_csv` Master.csv (shared/providers/cdr-formats.md §1): no header, positional columns, 16,
17, 18 or 21 of them depending on `loguniqueid`, `loguserfield` and `newcdrcolumns`. A 17-column line is
taken to carry `uniqueid` (Asterisk writes it before `userfield`). Times are the server's local time unless
`usegmtime=yes`: the parser's `time_zone`. There is no direction column: calls whose `dcontext` is an
inbound context are inbound, the rest outbound; `dst` is the rated number in both directions. The account
is `accountcode`."""
import hashlib

from voip.rating.text import aware_utc, whole_seconds

from .base import CdrParser, CdrRecord

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


def _external_id(fields):
    """`uniqueid`, with `sequence` when present (one channel can log several CDRs); without `uniqueid`, a
    hash of the line, so that the same line imported twice is recognised."""
    uniqueid = fields[16].strip() if len(fields) > 16 else ""
    if not uniqueid:
        text = "\x1f".join(fields).encode("utf-8", "surrogateescape")
        return "sha256:" + hashlib.sha256(text).hexdigest()[:32]
    sequence = fields[20].strip() if len(fields) > 20 else ""
    return f"{uniqueid}-{sequence}" if sequence else uniqueid
