"""The automation engine's periodic jobs (collected by portal.jobs.all_jobs into Celery beat and the staff
dashboard; crontabs are read in the business time zone). Two ticks, offset so they rarely meet at the pass lock."""
from datetime import datetime, timedelta

from celery.schedules import crontab
from django.utils import timezone

from billing.automation import tasks  # noqa: F401 - registers the tasks in every process that loads the registry
from billing.models import AutomationSettings
from portal.jobs import PeriodicJob

DAILY_TICK = crontab(minute="*/5")


def first_daily_pass(moment):
    """When the daily pass first runs after `moment` (beat's start), for one that has never run: at the first tick
    once today's configured run time has come (at once if it already has), in the business time zone."""
    local = timezone.localtime(moment)
    run_at = timezone.make_aware(datetime.combine(local.date(), AutomationSettings.load().daily_run_time))
    after = max(local, run_at - timedelta(seconds=1))
    start, delta, _now = DAILY_TICK.remaining_delta(after)
    return start + delta


PERIODIC_JOBS = [
    PeriodicJob(
        name="automation_daily",
        label="Automation run (daily)",
        task="billing.automation.tasks.automation_daily",
        schedule=DAILY_TICK,
        late_after=timedelta(hours=26),
        first_run=first_daily_pass,
        grace=timedelta(hours=2),  # a daily job: its 26-hour window less the day
        description="Cancellation requests, overdue suspension and termination with overrides, invoice handling "
        "and client status update: once a day at the configured time (business time zone).",
    ),
    PeriodicJob(
        name="automation_every_run",
        label="Automation overrides (every run)",
        task="billing.automation.tasks.automation_every_run",
        schedule=crontab(minute="2-59/5"),
        late_after=timedelta(minutes=30),
        description="Suspension and termination decided by overrides, when the override cron mode is "
        "'every run'.",
    ),
]
