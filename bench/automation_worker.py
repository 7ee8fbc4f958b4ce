"""The Celery app the automation benchmark's workers run: the portal's own app (same tasks, same settings from
the environment), plus one benchmark knob read from the environment:

- BENCH_CALL_THREADS: AUTOMATION_CALL_THREADS (provider calls at once per worker process; default 16).

    celery -A bench.automation_worker worker -c 1
"""
import os

from config.celery import app  # noqa: F401 - the app this module exposes to `celery -A`

if os.environ.get("BENCH_CALL_THREADS"):
    from django.conf import settings

    settings.AUTOMATION_CALL_THREADS = int(os.environ["BENCH_CALL_THREADS"])
