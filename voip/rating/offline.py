"""Offline rating of a CDR file into a rated CSV (`manage.py rate_cdrs`, bench/rate_cdrs.py): streaming, one
output row per input CDR line, nothing kept in memory but the ids seen (a repeated id is charged once)."""
from dataclasses import dataclass, field

from portal.csv_output import csv_writer
from provisioning.telephony.cdrs import CdrError

from .engine import IGNORED, INVALID, STATUSES, RatingResult, format_units

#: Columns added after the input's own: the E.164 number rated, the rate applied, the result, why (for
#: anything not charged normally), and the input line number.
OUTPUT_COLUMNS = ("e164", "prefix", "destination", "billed_seconds", "cost", "status", "reason", "line")
RENAMED_PREFIX = "cdr_"  # an input column named like an output column (FusionPBX's `status`) gets this prefix


@dataclass(slots=True)
class Summary:
    counts: dict = field(default_factory=lambda: dict.fromkeys(STATUSES, 0))
    cost_units: int = 0  # total cost of the rated calls, in units of 0.0001

    @property
    def rows(self):
        return sum(self.counts.values())

    @property
    def total_cost(self):
        return format_units(self.cost_units)

    def __str__(self):
        counts = ", ".join(f"{status} {count}" for status, count in self.counts.items())
        return f"{self.rows} CDRs: {counts}; total cost {self.total_cost}"


def output_header(columns):
    taken = set(OUTPUT_COLUMNS)
    return [RENAMED_PREFIX + name if name.lower() in taken else name for name in columns] + list(OUTPUT_COLUMNS)


def rate_file(parser, rater, out, *, on_invalid=None):
    """Rate every CDR of `parser` (a cdr_formats parser) with `rater` and write the rated CSV to `out` (formula-like
    cells neutralised: portal.csv_output).
    `on_invalid(line, reason)` is called for every row whose status is invalid. Returns a Summary."""
    writer = csv_writer(out, lineterminator="\n")  # the input's own fields come back spreadsheet-safe
    writerow = writer.writerow
    width = len(parser.columns)
    writerow(output_header(parser.columns))
    padding = [""] * width
    rate = rater.rate_record
    seen = {}
    summary = Summary()
    counts = summary.counts
    total = 0
    for item in parser:
        fields = item.fields
        if len(fields) != width:
            fields = (fields + padding)[:width]
        line = item.line
        if type(item) is CdrError:
            result = RatingResult(INVALID, item.reason)
        else:
            first = seen.setdefault(item.external_id, line)
            if first == line:
                result = rate(item)
            else:
                result = RatingResult(IGNORED, f"duplicate of line {first} (same id {item.external_id})")
        status = result.status
        counts[status] += 1
        rated = result.rate
        if rated is None:
            writerow((*fields, result.e164, "", "", 0, "0.0000", status, result.reason, line))
            if status == INVALID and on_invalid is not None:
                on_invalid(line, result.reason)
            continue
        units = result.cost_units
        total += units
        writerow((
            *fields, result.e164, rated.prefix, rated.destination, result.billed_seconds,
            format_units(units), status, result.reason, line,
        ))
    summary.cost_units = total
    return summary
