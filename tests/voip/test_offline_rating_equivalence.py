"""Offline rating's fast path (issue 20, part 5) writes exactly what rating each call on its own and writing every
cell through safe_cell gives, on a mixed sample: the benchmark's generator (outbound and inbound, NANP numbers in
every written form, international with + and 011, extensions, 911, garbage, unanswered calls, a malformed line)
plus lines with formula-like and signed cells, and a repeated id."""
import csv
import io
import random

from bench.rate_cdrs import generate_cdrs, generate_deck, load_rater, number_pool
from portal.csv_output import safe_cell
from provisioning.telephony.cdrs import CdrError
from provisioning.telephony.text import OPEN_INPUT
from voip.cdr_formats import PortalParser
from voip.rating.engine import RATED, format_units
from voip.rating.offline import output_header, rate_file

EXTRA_LINES = [
    'x1,outbound,=HYPERLINK("http://evil.example"),"+442079460000",2024-01-02T10:00:00Z,65,ANSWERED\n',
    "x2,outbound,-5,+12125550123,2024-01-02T10:01:00Z,30,ANSWERED\n",
    "x3,outbound,@sum,+1 (212) 555-0124,2024-01-02T10:02:00Z,12,ANSWERED\n",
    "x4,inbound,+33142685300,12125551100,2024-01-02T10:03:00Z,-7,ANSWERED\n",
    "x2,outbound,1001,+12125550123,2024-01-02T10:04:00Z,30,ANSWERED\n",  # the same id again
]


def reference(parser, rater):
    """The rated file, the long way: each call rated on its own, every cell through safe_cell."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([safe_cell(c) for c in output_header(parser.columns)])
    width, seen, total = len(parser.columns), {}, 0
    for item in parser:
        fields = (list(item.fields) + [""] * width)[:width]
        if type(item) is CdrError:
            row = [*fields, "", "", "", 0, "0.0000", "invalid", item.reason, item.line]
        elif seen.setdefault(item.external_id, item.line) != item.line:
            reason = f"duplicate of line {seen[item.external_id]} (same id {item.external_id})"
            row = [*fields, "", "", "", 0, "0.0000", "ignored", reason, item.line]
        else:
            result = rater.rate_record(item)
            if result.rate is None:
                row = [*fields, result.e164, "", "", 0, "0.0000", result.status, result.reason, item.line]
            else:
                total += result.cost_units if result.status == RATED else 0
                row = [*fields, result.e164, result.rate.prefix, result.rate.destination, result.billed_seconds,
                       format_units(result.cost_units), result.status, result.reason, item.line]
        writer.writerow([safe_cell(value) for value in row])
    return out.getvalue(), total


def test_the_fast_path_gives_the_same_rated_file_and_charges_as_rating_call_by_call(tmp_path):
    rng = random.Random(20)
    rates, cdrs = tmp_path / "rates.csv", tmp_path / "cdrs.csv"
    area_codes, countries = generate_deck(rates, 1500, rng)
    generate_cdrs(cdrs, 4000, number_pool(800, area_codes, countries, rng), rng)
    with open(cdrs, "a", encoding="utf-8") as more:
        more.writelines(EXTRA_LINES)

    with open(cdrs, **OPEN_INPUT) as lines:
        out = io.StringIO()
        summary = rate_file(PortalParser(lines), load_rater(rates), out)
    with open(cdrs, **OPEN_INPUT) as lines:
        expected, total = reference(PortalParser(lines), load_rater(rates))

    assert out.getvalue() == expected
    assert summary.cost_units == total and summary.rows == 4000 + len(EXTRA_LINES)
    assert summary.counts["rated"] > 2500 and min(summary.counts.values()) > 0  # the sample is mixed
    assert "'=HYPERLINK" in out.getvalue() and ",-5," in out.getvalue()  # neutralised; a number left as it is
