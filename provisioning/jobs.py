"""Provisioning's periodic jobs (collected by portal.jobs.all_jobs into beat and the staff dashboard)."""
from datetime import timedelta

from celery.schedules import crontab

from portal.jobs import PeriodicJob

PERIODIC_JOBS = [
    PeriodicJob(
        name="usage_update",
        label="Mail disk usage update",
        task="provisioning.tasks.usage_update",
        schedule=crontab(hour=2, minute=30),  # read in the business time zone (CELERY_TIMEZONE)
        late_after=timedelta(hours=26),
        description="Reads every live mail service's disk usage from its server (one call per server) for disk "
                    "billing and the usage charts.",
    ),
]
