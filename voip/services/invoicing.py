"""Usage invoicing of postpaid calls (voip-rating.md step 9): the monthly job.

`invoice_usage(run_date=…)` bills, per client, the unbilled rated calls of its postpaid services answered
before the end of the previous calendar month (business time zone): one invoice per client, one line per
service — "tenant.example – Calls 1–31 Oct 2026: 1,234 calls, 5,678 min". A line's amount is the sum of the
calls' stored 4-place costs rounded ONCE, half up, to the currency's two places (invoice-level rounding; a
call is never rounded on its own). Calls answered before the period that were not billed then (unrated at the
time and re-rated since) are added to the line and counted in its text.

- Unrated postpaid calls are never billed as free: they are left out, counted in the result and the activity
  log, and billed by a later run once re-rated. Prepaid calls (Cdr.postpaid false) are never on these invoices.
- A service whose calls add up to less than half a cent gets no line: its calls stay unbilled and are added
  to the next period's line (nothing is lost to rounding down to zero).
- Invoices go through billing's `issue_invoices` (numbering, tax, credit application, audit, "Invoice Created").
- Idempotent: each line has the unique period key `voip:<service>:<period start>`, keys already billed are
  skipped, and billed calls are marked with their invoice (Cdr.usage_invoice), so a second run finds nothing.
- Concurrency: clients are taken in batches and locked (SELECT … FOR UPDATE, id order) for the transaction
  that sums, issues and marks; a second run waits and then finds the calls marked. The calls are marked with
  one UPDATE per batch and the marked rows are summed again before commit: if a call arrived or was re-rated
  between the sum and the mark, the batch is rolled back (no number used, nothing sent) and done again.
- Set-based: a fixed number of queries per batch of clients (aggregates and one UPDATE), never one per call.
"""
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.db import transaction
from django.db.models import Case, Count, IntegerField, Q, Sum, Value, When

from billing.models import InvoiceItem
from billing.money import period_key
from billing.services.invoices import Draft, Line, issue_invoices
from portal.activity import Actor, log_activity
from portal.models import Client
from portal.money import ZERO, quantize
from voip.models import Cdr, VoipSettings
from voip.money import exact_sum
from voip.rating.engine import UNRATED
from voip.selectors import period_bounds
from voip.services.unbilled import UNINVOICED, refresh_unbilled, unbilled_calls

BATCH_CLIENTS = 500
ATTEMPTS = 3  # a batch whose calls changed while it was invoiced is done again this many times at most
ACTOR_NAME = "voip_usage_invoicing"
KEY_KIND = "voip"


class UsageChanged(Exception):
    """Calls of the batch arrived or changed between the sum and the mark: the batch is rolled back."""


@dataclass
class UsageInvoicingResult:
    period_start: date
    period_end: date
    invoices: int = 0
    lines: int = 0
    calls: int = 0
    amount: Decimal = ZERO  # the lines' total, before tax
    already_billed: int = 0  # services whose line of this period is on an invoice already
    carried: int = 0  # services whose calls add up to less than half a cent: left for the next run
    unrated: int = 0  # postpaid calls up to the period's end that could not be rated: not billed
    unrated_services: int = 0
    retried: int = 0
    failed_clients: list = field(default_factory=list)  # batches that kept changing: billed by a later run

    @property
    def summary(self):
        text = (f"{period_label(self.period_start, self.period_end)}: {self.invoices} invoice(s), {self.lines} "
                f"line(s), {self.calls} call(s), {self.amount}")
        if self.already_billed:
            text += f"; {self.already_billed} service(s) already billed"
        if self.carried:
            text += f"; {self.carried} service(s) under half a cent carried to the next period"
        if self.unrated:
            text += f"; {self.unrated} unrated call(s) in {self.unrated_services} service(s) not billed (re-rate them)"
        if self.failed_clients:
            text += f"; {len(self.failed_clients)} client(s) not billed: their calls kept changing (run again)"
        return text


def previous_period(run_date):
    """(first day, last day) of the calendar month before `run_date`'s."""
    end = run_date.replace(day=1) - timedelta(days=1)
    return end.replace(day=1), end


def period_label(start, end):
    """"1–31 Oct 2026", "15 Sep – 31 Oct 2026", "1 Dec 2025 – 31 Jan 2026"."""
    if (start.year, start.month) == (end.year, end.month):
        return f"{start.day}–{end.day} {end:%b %Y}"
    if start.year == end.year:
        return f"{start.day} {start:%b} – {end.day} {end:%b %Y}"
    return f"{start.day} {start:%b %Y} – {end.day} {end:%b %Y}"


def minutes_text(seconds):
    minutes = (Decimal(seconds or 0) / 60).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
    return f"{minutes:,.0f}" if minutes == minutes.to_integral_value() else f"{minutes:,.1f}"


def line_text(domain, start, end, calls, seconds, earlier):
    text = f"{domain} – Calls {period_label(start, end)}: {calls:,} call{'' if calls == 1 else 's'}, " \
           f"{minutes_text(seconds)} min"
    if earlier:
        text += f" (including {earlier:,} earlier call{'' if earlier == 1 else 's'} rated since)"
    return text


def invoice_usage(*, run_date, actor=None, period=None, batch_size=BATCH_CLIENTS):
    """Invoice the postpaid calls of the month before `run_date` (or of `period`, (first, last) dates), with
    invoices dated `run_date`. Returns a UsageInvoicingResult; writes one summary to the activity log."""
    actor = actor or Actor.system(ACTOR_NAME)
    start, end = period or previous_period(run_date)
    if start > end:
        raise ValueError(f"The period's first day {start} is after its last day {end}.")
    first, after = period_bounds(start, end)
    result = UsageInvoicingResult(start, end)
    due_date = run_date + timedelta(days=VoipSettings.load().usage_invoice_due_days)
    client_ids = list(
        unbilled_calls().filter(answer_time__lt=after).order_by("service__client_id")
        .values_list("service__client_id", flat=True).distinct()
    )
    for begin in range(0, len(client_ids), batch_size):
        batch = client_ids[begin : begin + batch_size]
        for attempt in range(ATTEMPTS):
            try:
                _invoice_batch(batch, start, end, first, after, run_date, due_date, actor, result)
                break
            except UsageChanged:
                result.retried += 1
        else:
            result.failed_clients += batch
    _count_unrated(after, result)
    log_activity(
        actor=actor, action="voip.usage_invoicing", message=f"Postpaid call invoices {result.summary}",
        data={"period_start": str(start), "period_end": str(end), "invoices": result.invoices, "lines": result.lines,
              "calls": result.calls, "amount": str(result.amount), "already_billed": result.already_billed,
              "carried": result.carried, "unrated": result.unrated, "unrated_services": result.unrated_services,
              "failed_clients": result.failed_clients[:100]},
    )
    return result


def _count_unrated(after, result):
    row = Cdr.objects.filter(UNINVOICED, status=UNRATED, answer_time__lt=after).aggregate(
        calls=Count("id"), services=Count("service", distinct=True)
    )
    result.unrated, result.unrated_services = row["calls"], row["services"]


def _usage_rows(client_ids, first, after):
    return list(
        unbilled_calls().filter(answer_time__lt=after, service__client_id__in=client_ids)
        .values("service_id", "service__client_id", "service__domain")
        .annotate(total=Sum("cost"), calls=Count("id"), seconds=Sum("billed_seconds"),
                  earlier=Count("id", filter=Q(answer_time__lt=first)))
        .order_by("service__client_id", "service_id")
    )


@transaction.atomic
def _invoice_batch(client_ids, start, end, first, after, run_date, due_date, actor, result):
    """Sum, issue and mark one batch of clients in one transaction (raises UsageChanged to roll it back)."""
    clients = {c.pk: c for c in Client.objects.select_for_update().filter(pk__in=client_ids).order_by("pk")}
    rows = _usage_rows(list(clients), first, after)
    keys = {row["service_id"]: period_key(row["service_id"], start, KEY_KIND) for row in rows}
    billed = set(InvoiceItem.objects.filter(period_key__in=keys.values()).values_list("period_key", flat=True))
    lines, expected, counts = defaultdict(list), {}, {"already": 0, "carried": 0, "calls": 0}
    for row in rows:
        service_id, total = row["service_id"], exact_sum(row["total"])
        if keys[service_id] in billed:  # billed by an earlier run: its leftovers wait for the next period
            counts["already"] += 1
            continue
        amount = quantize(total)  # the one rounding: the sum of the 4-place costs, half up
        if amount <= 0:
            counts["carried"] += 1
            continue
        text = line_text(row["service__domain"], start, end, row["calls"], row["seconds"], row["earlier"])
        lines[row["service__client_id"]].append(
            Line(InvoiceItem.Kind.VOIP_USAGE, text, amount, service_id, start, end, keys[service_id])
        )
        expected[service_id] = (row["calls"], total)
        counts["calls"] += row["calls"]
    drafts = [Draft(clients[client_id], client_lines, due_date=due_date) for client_id, client_lines in lines.items()]
    issue_invoices(drafts=drafts, on_date=run_date, actor=actor)
    invoice_of = {line.service_id: draft.invoice.pk for draft in drafts for line in draft.lines}
    if invoice_of:
        _mark(invoice_of, after)
        if _marked(invoice_of) != expected:
            raise UsageChanged()
        refresh_unbilled(list(clients))
    result.invoices += len(drafts)
    result.lines += len(invoice_of)
    result.calls += counts["calls"]
    result.amount += sum((line.amount for draft in drafts for line in draft.lines), ZERO)
    result.already_billed += counts["already"]
    result.carried += counts["carried"]


def _mark(invoice_of, after):
    """Mark the billed calls with their invoice: one UPDATE for the batch (a CASE on the service)."""
    unbilled_calls().filter(answer_time__lt=after, service_id__in=list(invoice_of)).update(
        usage_invoice_id=Case(
            *[When(service_id=service_id, then=Value(invoice_id)) for service_id, invoice_id in invoice_of.items()],
            output_field=IntegerField(),
        )
    )


def _marked(invoice_of):
    """{service id: (calls, total cost)} of the calls now on the batch's invoices."""
    rows = (
        Cdr.objects.filter(usage_invoice_id__in=set(invoice_of.values()), service_id__in=list(invoice_of))
        .values("service_id").annotate(total=Sum("cost"), calls=Count("id")).order_by()
    )
    return {row["service_id"]: (row["calls"], exact_sum(row["total"])) for row in rows}
