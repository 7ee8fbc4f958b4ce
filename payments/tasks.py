"""Celery tasks of payments (thin: they call one service and record the run)."""
from celery import shared_task

from payments import reconcile, services
from portal.jobs import track_job


@shared_task(time_limit=1800, soft_time_limit=1780)
def charge_due_invoices():
    """Hourly: automatic charges of saved cards for due invoices, and the dunning retries."""
    with track_job("payments_charge_due_invoices") as summary:
        summary["summary"] = str(services.charge_due_invoices())
    return summary["summary"]


@shared_task(time_limit=900, soft_time_limit=880)
def reconcile_charges():
    """Every 15 minutes: charges pending at a gateway for long are asked about and recorded once."""
    with track_job("payments_reconcile_charges") as summary:
        summary["summary"] = str(reconcile.reconcile_charges())
    return summary["summary"]
