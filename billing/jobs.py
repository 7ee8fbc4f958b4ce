"""Billing's periodic jobs (collected by portal.jobs.all_jobs into Celery beat and the staff dashboard).
Crontabs are read in the business time zone (CELERY_TIMEZONE)."""
from datetime import timedelta

from celery.schedules import crontab

from portal.jobs import PeriodicJob

PERIODIC_JOBS = [
    PeriodicJob(
        name="invoice_generation",
        label="Recurring invoices",
        task="billing.tasks.generate_invoices",
        schedule=crontab(hour=6, minute=0),
        late_after=timedelta(hours=26),
        description="Bills services whose next period starts within the 'invoice days before due' setting.",
    ),
    PeriodicJob(
        name="email_queue",
        label="E-mail queue",
        task="billing.tasks.send_stale_emails",
        schedule=crontab(minute="*/10"),
        late_after=timedelta(minutes=30),
        description="Sends e-mails whose task was lost; each event is still sent at most once.",
    ),
]
