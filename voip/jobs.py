"""VoIP's periodic jobs (collected by portal.jobs.all_jobs into Celery beat and the staff dashboard). Crontabs
are read in the business time zone (CELERY_TIMEZONE), as seed 002 asks of the autosuspend cron."""
from datetime import timedelta

from celery.schedules import crontab

from portal.jobs import PeriodicJob

PERIODIC_JOBS = [
    PeriodicJob(
        name="voip_cdr_import_hourly",
        label="CDR import (hourly sources)",
        task="voip.tasks.import_hourly_sources",
        schedule=crontab(minute=10),
        late_after=timedelta(hours=3),
        description="Fetches, rates and charges the call records of the FusionPBX and Vodia sources (one task per "
                    "source).",
    ),
    PeriodicJob(
        name="voip_cdr_import_daily",
        label="CDR import (daily sources)",
        task="voip.tasks.import_daily_sources",
        schedule=crontab(hour=4, minute=30),
        late_after=timedelta(hours=26),
        description="Fetches, rates and charges the LesNet call records (LesNet updates its file once a day).",
    ),
    PeriodicJob(
        name="voip_settle_stale_imports",
        label="Stale CDR imports",
        task="voip.tasks.settle_stale_imports",
        schedule=crontab(minute="*/10"),
        late_after=timedelta(minutes=40),
        description="Marks failed the CDR imports whose worker was lost (no progress for VOIP_IMPORT_STALE_MINUTES) "
                    "and charges the calls they stored, so that no import stays 'running'.",
    ),
    PeriodicJob(
        name="voip_autosuspend",
        label="VoIP autosuspend",
        task="voip.tasks.autosuspend",
        schedule=crontab(minute="*/5"),
        late_after=timedelta(minutes=20),
        description="Suspends the VoIP services of clients without credit (or owing more than it) and "
                    "unsuspends them after a top-up; honours the clients' VoIP overrides.",
    ),
    PeriodicJob(
        name="voip_low_balance_alerts",
        label="Low-balance alerts",
        task="voip.tasks.low_balance_alerts",
        schedule=crontab(hour=9, minute=0),
        late_after=timedelta(hours=26),
        description="Sends the 'Low Balance Alert' once per crossing of a client's threshold.",
    ),
    PeriodicJob(
        name="voip_usage_invoicing",
        label="Postpaid call invoices",
        task="voip.tasks.usage_invoicing",
        # The 1st at 05:00: the month's calls are in (the daily LesNet import runs at 04:30), and the invoices
        # are out before the recurring invoices (06:00) and the low-balance alerts (09:00).
        schedule=crontab(day_of_month=1, hour=5, minute=0),
        late_after=timedelta(days=32),
        description="Invoices the previous month's rated calls of postpaid VoIP products: one line per service, "
                    "the sum of the call costs rounded once; unrated calls are reported, not billed.",
    ),
]
