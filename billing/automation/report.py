"""Showing a plan: the dry run's table (management command) and the staff dashboard's next-run preview."""
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.utils import timezone

from billing.automation import engine, locks
from billing.models import AutomationSettings

COLUMNS = ("Service", "Client", "Domain", "Action", "Rule", "Days overdue", "Outcome")
PREVIEW_ROWS = 10


def table_rows(plan):
    for row in plan.rows:
        service = f"#{row.service_id} {row.product}" if row.service_id else "-"
        rule = f"{row.rule} ({row.rule_days} days)" if row.rule_days is not None else row.rule
        if row.rule_note:
            rule += f"; {row.rule_note}"
        overdue = "" if row.days_overdue is None else str(row.days_overdue)
        outcome = row.outcome + (f": {row.error}" if row.error else "")
        yield (service, row.client, row.domain or "-", row.action_label, rule, overdue, outcome)


def format_table(plan):
    rows = list(table_rows(plan))
    if not rows:
        return f"Nothing to do on {plan.date} ({plan.mode})."
    widths = [max(len(COLUMNS[i]), *(len(r[i]) for r in rows)) for i in range(len(COLUMNS))]
    widths[-1] = len(COLUMNS[-1])  # the last column is not padded (errors can be long)

    def line(cells):
        return "  ".join(cell.ljust(width) for cell, width in zip(cells, widths)).rstrip()

    return "\n".join([line(COLUMNS), line("-" * w for w in widths), *(line(r) for r in rows)])


@dataclass(frozen=True)
class Preview:
    when: datetime
    late: bool
    plan: object

    @property
    def rows(self):
        """The table without its outcome column (everything in a preview is planned)."""
        return [row[:-1] for row in table_rows(self.plan)]

    @property
    def labelled_rows(self):
        """Each row as (column name, cell) pairs: the staff dashboard labels the cells on a phone."""
        return [list(zip(COLUMNS, row)) for row in self.rows]

    @property
    def totals(self):
        return [(engine.ACTION_LABELS[action], count) for action, count in self.plan.totals.items() if count]


def next_daily_run(now=None):
    """(when the next daily pass starts, whether it is already late): today at the configured time unless today's
    pass has run, else tomorrow's. Times are in the business time zone."""
    now = timezone.localtime(now)
    settings = AutomationSettings.load()
    day = now.date()
    if locks.last_daily_date() >= day.isoformat():
        day += timedelta(days=1)
    when = timezone.make_aware(datetime.combine(day, settings.daily_run_time))
    return when, when + timedelta(minutes=15) < now


def next_run_preview(limit=PREVIEW_ROWS):
    """The dry run of the next daily pass, with at most `limit` rows per action (totals count them all); a fixed
    number of queries whatever the number of services."""
    when, late = next_daily_run()
    plan = engine.plan_automation(date=when.date(), limit=limit)
    return Preview(when=when, late=late, plan=plan)
