"""Periodic work: one registry drives both Celery beat and the staff dashboard's automation status.

Each app lists its jobs in `<app>/jobs.py` as PERIODIC_JOBS; `all_jobs()` collects them. Beat reads the crontabs in the business time zone (CELERY_TIMEZONE).
A task wraps its body in `track_job(name)`, which records start, finish, duration and error in JobRun; the
dashboard calls a job late when its last success is older than `late_after`, or when it never ran.
"""
import time
from contextlib import contextmanager
from importlib import import_module
from dataclasses import dataclass
from datetime import timedelta

from celery.schedules import crontab
from django.db.models import F
from django.utils import timezone

from portal.models import JobRun


@dataclass(frozen=True)
class PeriodicJob:
    name: str
    label: str
    task: str
    schedule: crontab
    late_after: timedelta
    description: str = ""

    @property
    def late_after_label(self):
        minutes = int(self.late_after.total_seconds() // 60)
        return f"{minutes // 60} hours" if minutes >= 120 and minutes % 60 == 0 else f"{minutes} minutes"


PERIODIC_JOBS = [
    PeriodicJob(
        name="heartbeat",
        label="Scheduler heartbeat",
        task="portal.tasks.heartbeat",
        schedule=crontab(minute="*/5"),
        late_after=timedelta(minutes=15),
        description="Proves that Celery beat and a worker are running.",
    ),
]


APPS_WITH_JOBS = ("billing", "billing.automation", "provisioning", "voip")


def all_jobs():
    """The portal's jobs and those of each app that has a jobs module."""
    jobs = list(PERIODIC_JOBS)
    for app in APPS_WITH_JOBS:
        try:
            module = import_module(f"{app}.jobs")
        except ModuleNotFoundError as exc:
            if exc.name != f"{app}.jobs":
                raise
            continue
        jobs.extend(module.PERIODIC_JOBS)
    return jobs


def beat_schedule():
    return {job.name: {"task": job.task, "schedule": job.schedule} for job in all_jobs()}


@contextmanager
def track_job(name):
    """Record one run of a periodic job in JobRun. Safe under concurrency: every write is a single UPDATE."""
    started = timezone.now()
    clock = time.monotonic()
    JobRun.ensure(name, status=JobRun.Status.RUNNING)
    JobRun.objects.filter(name=name).update(
        status=JobRun.Status.RUNNING, last_started_at=started, run_count=F("run_count") + 1
    )
    summary = {}
    try:
        yield summary
    except Exception as exc:
        JobRun.objects.filter(name=name).update(
            status=JobRun.Status.FAILED,
            last_finished_at=timezone.now(),
            last_duration_ms=int((time.monotonic() - clock) * 1000),
            last_error=f"{type(exc).__name__}: {exc}"[:2000],
        )
        raise
    finished = timezone.now()
    JobRun.objects.filter(name=name).update(
        status=JobRun.Status.SUCCESS,
        last_finished_at=finished,
        last_success_at=finished,
        last_duration_ms=int((time.monotonic() - clock) * 1000),
        last_error="",
        last_summary=summary.get("summary", "")[:255],
    )


@dataclass(frozen=True)
class JobStatus:
    job: PeriodicJob
    run: JobRun | None
    late: bool
    failed: bool

    @property
    def state_label(self):
        if self.run is None:
            return "Never ran"
        if self.failed:
            return "Last run failed"
        if self.late:
            return "Late"
        return "OK"


def job_statuses(now=None):
    """The status of every registered job, with one query."""
    now = now or timezone.now()
    jobs = all_jobs()
    runs = {run.name: run for run in JobRun.objects.filter(name__in=[job.name for job in jobs])}
    statuses = []
    for job in jobs:
        run = runs.get(job.name)
        last_ok = run.last_success_at if run else None
        statuses.append(
            JobStatus(
                job=job,
                run=run,
                late=last_ok is None or now - last_ok > job.late_after,
                failed=bool(run and run.status == JobRun.Status.FAILED),
            )
        )
    return statuses
