"""The Celery app the automation benchmark's workers run: the portal's own app (same tasks, same settings from
the environment), plus two benchmark knobs read from the environment:

- BENCH_CALL_THREADS: AUTOMATION_CALL_THREADS (provider calls at once per worker process; default 16);
- BENCH_LIFECYCLE_ROW_LOCK=1: measure the change proposed for provisioning.lifecycle (see docs/benchmarks.md):
  lock only the service row. Today `_transition` runs `Service.objects.select_for_update().select_related(
  "product", "product__server_group", "server")`, and on MariaDB/MySQL a locking read locks the joined rows
  too, so every lifecycle action on services of the same product or server waits for the one in progress
  (whose provider call is inside the lock). The patch below is for measuring only; the product code is unchanged.

    celery -A bench.automation_worker worker -c 1
"""
import os

from celery.signals import worker_process_init

from portal.celery import app  # noqa: F401 - the app this module exposes to `celery -A`

if os.environ.get("BENCH_CALL_THREADS"):
    from django.conf import settings

    settings.AUTOMATION_CALL_THREADS = int(os.environ["BENCH_CALL_THREADS"])


@worker_process_init.connect
def _lifecycle_row_lock(**kwargs):
    if os.environ.get("BENCH_LIFECYCLE_ROW_LOCK") != "1":
        return
    from django.db.models import QuerySet

    from billing.models import Service

    original_get = QuerySet.get

    def get(self, *args, **kwargs):
        if self.model is Service and self.query.select_for_update and self.query.select_related:
            # Lock the service row alone, then read it with its product and server without locking those.
            list(Service.objects.select_for_update().filter(*args, **kwargs).values_list("pk", flat=True))
            unlocked = self._chain()
            unlocked.query.select_for_update = False
            return original_get(unlocked, *args, **kwargs)
        return original_get(self, *args, **kwargs)

    QuerySet.get = get
