"""Payments' periodic jobs (collected by portal.jobs.all_jobs into Celery beat and the staff dashboard)."""
from datetime import timedelta

from celery.schedules import crontab

from portal.jobs import PeriodicJob

PERIODIC_JOBS = [
    PeriodicJob(
        name="payments_charge_due_invoices",
        label="Automatic card charges",
        task="payments.tasks.charge_due_invoices",
        schedule=crontab(minute=20),
        late_after=timedelta(hours=3),
        description="Charges the saved cards of clients with invoices due, and retries declined charges 1, 3 and "
                    "5 days after the due date (the client gets a link to pay after each decline).",
    ),
    PeriodicJob(
        name="payments_reconcile_charges",
        label="Payment reconciliation",
        task="payments.tasks.reconcile_charges",
        schedule=crontab(minute="*/15"),
        late_after=timedelta(hours=1),
        description="Asks the gateways about charges still pending after 15 minutes (a lost webhook, a worker "
                    "stopped before the record) and records them once; expired checkouts are closed.",
    ),
]
