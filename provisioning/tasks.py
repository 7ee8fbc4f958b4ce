"""Celery tasks: thin wrappers that own scheduling and retries; the work is in provisioning.usage."""
from datetime import date

from celery import group, shared_task
from django.utils import timezone

from portal.jobs import track_job
from provisioning import usage
from provisioning.modules.base import ModuleError

SERVER_RETRIES = 3


@shared_task(time_limit=120, soft_time_limit=100)
def usage_update(run_date=None):
    """Daily (provisioning.jobs): one `usage_update_server` task per server, run in parallel by the workers."""
    with track_job("usage_update") as summary:
        run_date = run_date or timezone.localdate().isoformat()  # the business day
        server_ids = usage.servers_for_usage_update()
        group(usage_update_server.s(server_id, run_date) for server_id in server_ids).apply_async()
        summary["summary"] = f"{len(server_ids)} server(s) queued for {run_date}"


@shared_task(bind=True, max_retries=SERVER_RETRIES, time_limit=900, soft_time_limit=840, acks_late=True)
def usage_update_server(self, server_id, run_date):
    """One server's usage. A temporary provider failure is retried with backoff (5, 10, 20 minutes) by the
    broker (an eager run cannot wait, so it stops at the first failure); after that, or on a permanent error,
    the error stays on the server row (Server admin) until a later run succeeds."""
    try:
        return str(usage.update_server_usage(server_id=server_id, run_date=date.fromisoformat(run_date)))
    except ModuleError as exc:
        if not exc.permanent and not self.request.is_eager and self.request.retries < SERVER_RETRIES:
            raise self.retry(exc=exc, countdown=300 * 2 ** self.request.retries) from exc
        return f"failed: {exc.message}"
