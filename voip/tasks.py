"""Celery tasks: thin wrappers owning schedules, fan-out and retries; the work is in voip.services."""
from datetime import date as date_type

from celery import group, shared_task
from django.utils import timezone

from portal.jobs import track_job
from voip.models import CdrSource
from voip.services import alerts, fetching, imports, invoicing, uploads
from voip.services import autosuspend as sweep


def _fan_out(job, schedule):
    with track_job(job) as summary:
        source_ids = imports.sources_due(schedule)
        group(import_source.s(source_id) for source_id in source_ids).apply_async()
        summary["summary"] = f"{len(source_ids)} source(s) queued"
    return summary["summary"]


@shared_task(time_limit=280, soft_time_limit=270)
def settle_stale_imports():
    """Every ten minutes (voip.jobs): imports whose worker was lost are marked failed and their calls charged."""
    with track_job("voip_settle_stale_imports") as summary:
        summary["summary"] = f"{imports.settle_stale_imports()} stale import(s) settled"
    return summary["summary"]


@shared_task(time_limit=120, soft_time_limit=100)
def import_hourly_sources():
    """Hourly (voip.jobs): one `import_source` task per hourly source, run in parallel by the workers."""
    return _fan_out("voip_cdr_import_hourly", CdrSource.Schedule.HOURLY)


@shared_task(time_limit=120, soft_time_limit=100)
def import_daily_sources():
    """Daily: the same for daily sources (LesNet)."""
    return _fan_out("voip_cdr_import_daily", CdrSource.Schedule.DAILY)


@shared_task(time_limit=3600, soft_time_limit=3540, acks_late=True)
def import_source(source_id):
    """One source's fetch and import; a second task for the same source while one runs does nothing."""
    cdr_import = fetching.import_source(source_id=source_id)
    return "already running" if cdr_import is None else f"import {cdr_import.pk}: {cdr_import.status}"


@shared_task(time_limit=6 * 3600, soft_time_limit=6 * 3600 - 60)
def import_upload(import_id):
    """An uploaded CDR file, imported in chunks with its progress on the CdrImport."""
    cdr_import = uploads.process_upload(import_id=import_id)
    return "already taken" if cdr_import is None else f"import {cdr_import.pk}: {cdr_import.status}"


@shared_task(time_limit=280, soft_time_limit=270)
def autosuspend():
    """Every five minutes: the suspension sweep."""
    with track_job("voip_autosuspend") as summary:
        summary["summary"] = str(sweep.run_sweep())
    return summary["summary"]


@shared_task(time_limit=1800, soft_time_limit=1780)
def low_balance_alerts():
    """Daily: the low-balance alert latch."""
    with track_job("voip_low_balance_alerts") as summary:
        run = alerts.send_low_balance_alerts()
        summary["summary"] = f"{run.alerted} alert(s) and {run.reminded} reminder(s) queued, {run.rearmed} re-armed"
    return summary["summary"]


@shared_task(time_limit=3 * 3600, soft_time_limit=3 * 3600 - 60)
def usage_invoicing(run_date=None):
    """Monthly (the 1st): invoice the previous month's postpaid calls. `run_date`: ISO date (default today)."""
    day = date_type.fromisoformat(run_date) if run_date else timezone.localdate()
    with track_job("voip_usage_invoicing") as summary:
        summary["summary"] = invoicing.invoice_usage(run_date=day).summary
    return summary["summary"]


def import_upload_later(import_id):
    """What voip's upload service queues once the upload commits (voip.hooks, answered in voip/apps.py)."""
    import_upload.delay(import_id)
