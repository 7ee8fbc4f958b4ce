from celery import shared_task

from portal.jobs import track_job


@shared_task(time_limit=60, soft_time_limit=50)
def heartbeat():
    """Beat sends this every five minutes; its JobRun row is the dashboard's proof that the scheduler and a
    worker are alive. Running it twice at once is harmless: each write is one UPDATE."""
    with track_job("heartbeat") as summary:
        summary["summary"] = "Scheduler and worker alive"
