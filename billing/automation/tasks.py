"""Celery tasks of the automation engine: thin calls into passes.py (when a pass starts, its batches, counters,
lock and JobRun) and engine.py (the work). The names are what beat and the workers route by
(billing.automation.jobs): billing.automation.tasks.automation_daily, automation_every_run, automation_batch."""
from celery import shared_task

from billing.automation import passes


@shared_task(time_limit=3600, soft_time_limit=3540)
def automation_daily():
    """Beat, every five minutes: start the daily pass when its time has come and it has not run yet."""
    return passes.daily_pass(send_batch=send_batch)


@shared_task(time_limit=3600, soft_time_limit=3540)
def automation_every_run():
    """Beat, every five minutes: the pass for overrides in "every run" mode (seed 001's "Cron" setting)."""
    return passes.every_run_pass(send_batch=send_batch)


@shared_task(time_limit=3600, soft_time_limit=3540, acks_late=True)
def automation_batch(*, token, number, run_date, mode, items):
    """Claim and act on one batch of services (provider calls on a thread pool). Safe to run twice: a service
    already handled is skipped by its claim."""
    return passes.run_batch(token=token, number=number, run_date=run_date, mode=mode, items=items)


def send_batch(**batch):
    """How a fanned-out pass hands a batch to the workers."""
    automation_batch.delay(**batch)
