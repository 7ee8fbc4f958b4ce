from celery import shared_task
from django.contrib.sessions.models import Session
from django.utils import timezone

from portal.jobs import track_job

SESSION_BATCH = 5_000


@shared_task(time_limit=60, soft_time_limit=50)
def heartbeat():
    """Beat sends this every five minutes; its JobRun row is the dashboard's proof that the scheduler and a
    worker are alive. Running it twice at once is harmless: each write is one UPDATE."""
    with track_job("heartbeat") as summary:
        summary["summary"] = "Scheduler and worker alive"


@shared_task(time_limit=1800, soft_time_limit=1770)
def clear_expired_sessions():
    """Once a day (beat): the sessions table keeps a row per sign-in until it is deleted, and nothing else
    deletes expired ones (Django leaves it to `clearsessions`)."""
    with track_job("sessions_clear") as summary:
        summary["summary"] = f"{delete_expired_sessions()} expired session(s) removed"


def delete_expired_sessions(batch=SESSION_BATCH):
    """Delete every session past its expiry, `batch` keys at a time, so that no one statement holds the locks of
    a big table for long (sign-ins go on meanwhile). Returns how many were deleted."""
    deleted = 0
    while True:
        keys = list(Session.objects.filter(expire_date__lt=timezone.now()).values_list("pk", flat=True)[:batch])
        if not keys:
            return deleted
        deleted += Session.objects.filter(pk__in=keys).delete()[0]
