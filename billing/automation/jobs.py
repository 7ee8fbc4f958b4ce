"""The automation engine's periodic jobs (collected by portal.jobs.all_jobs into Celery beat and the staff
dashboard; crontabs are read in the business time zone). Two ticks, offset so they rarely meet at the pass lock."""
from datetime import timedelta

from celery.schedules import crontab

from billing.automation import tasks  # noqa: F401 - registers the tasks in every process that loads the registry
from portal.jobs import PeriodicJob

PERIODIC_JOBS = [
    PeriodicJob(
        name="automation_daily",
        label="Automation run (daily)",
        task="billing.automation.tasks.automation_daily",
        schedule=crontab(minute="*/5"),
        late_after=timedelta(hours=26),
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
