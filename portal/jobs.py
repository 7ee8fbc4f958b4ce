"""Periodic work: one registry drives both Celery beat and the staff dashboard's automation status.

Each app lists its jobs in `<app>/jobs.py` as PERIODIC_JOBS; `all_jobs()` collects them. Beat reads the crontabs in the business time zone (CELERY_TIMEZONE).
A task wraps its body in `track_job(name)`, which records start, finish, duration and error in JobRun; the
dashboard calls a job late when its last success is older than `late_after`.

A job that has not run yet is not an alarm until it should have: Celery beat records its start (a JobRun row
named BEAT_STARTED_ROW, written on the beat_init signal), and the job's first run is the first time its schedule
fires after that start. Before then it is "Not due yet"; it turns red ("Never ran") only once that first due time
is more than `first_run_grace` past, or when no scheduler start was ever recorded.
"""
import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from importlib import import_module

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
    # When the job first does its work after `moment` (beat's start), if not at its schedule's next tick: a job
    # that ticks often but works once a day at a configured time (the daily automation pass) says so here.
    first_run: Callable[[datetime], datetime] | None = None
    grace: timedelta | None = None  # see first_run_grace; set it when the schedule's tick is not the job's period

    @property
    def late_after_label(self):
        return duration_label(self.late_after)

    def next_tick(self, moment):
        """The first time the beat schedule fires strictly after `moment` (crontabs in the business time zone)."""
        start, delta, _now = self.schedule.remaining_delta(moment)
        return start + delta

    def first_run_after(self, moment):
        return self.first_run(moment) if self.first_run else self.next_tick(moment)

    def first_run_grace(self, first_due):
        """How long after its first due time a job that has never run is called late: the same slack a job that
        has run gets (its late_after window less one schedule interval), at least MIN_GRACE."""
        if self.grace is not None:
            return self.grace
        interval = self.next_tick(first_due) - first_due
        return max(self.late_after - interval, MIN_GRACE)


MIN_GRACE = timedelta(minutes=5)
BEAT_STARTED_ROW = "scheduler.beat_started"


def duration_label(delta):
    minutes = int(delta.total_seconds() // 60)
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
    PeriodicJob(
        name="sessions_clear",
        label="Expired sign-ins removed",
        task="portal.tasks.clear_expired_sessions",
        schedule=crontab(minute=30, hour=3),
        late_after=timedelta(hours=26),
        description="Deletes sign-in sessions past their expiry (what manage.py clearsessions does), in batches. "
                    "Beat sends it once a day, so one worker does it however many hosts run the portal.",
    ),
]


APPS_WITH_JOBS = ("billing", "billing.automation", "provisioning", "voip", "payments")


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


def record_beat_start(now=None):
    """Called on Celery's beat_init signal (portal.celery): jobs that have not run yet count from here."""
    now = now or timezone.now()
    JobRun.ensure(BEAT_STARTED_ROW, status=JobRun.Status.SUCCESS)
    JobRun.objects.filter(name=BEAT_STARTED_ROW).update(
        status=JobRun.Status.SUCCESS, last_started_at=now, last_finished_at=now, last_success_at=now,
        run_count=F("run_count") + 1, last_summary="Celery beat started",
    )


def beat_started_at():
    return JobRun.objects.filter(name=BEAT_STARTED_ROW).values_list("last_started_at", flat=True).first()


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


class State:
    OK = "ok"
    NOT_DUE = "not_due"  # never ran, and its first due time (after beat's start) is ahead or within its grace
    NEVER_RAN = "never_ran"  # never ran although it should have, or no scheduler start was ever recorded
    RUNNING = "running"  # its first run has started and not finished yet
    LATE = "late"
    FAILED = "failed"


def local_time_label(moment, now):
    """HH:MM when `moment` falls on today's date (business time zone), else YYYY-MM-DD HH:MM."""
    local, today = timezone.localtime(moment), timezone.localtime(now).date()
    return f"{local:%H:%M}" if local.date() == today else f"{local:%Y-%m-%d %H:%M}"


@dataclass(frozen=True)
class JobStatus:
    job: PeriodicJob
    run: JobRun | None
    state: str
    first_due: datetime | None = None  # jobs that never ran, when beat's start is known
    now: datetime | None = None

    @property
    def late(self):
        return self.state in (State.LATE, State.NEVER_RAN)

    @property
    def failed(self):
        return self.state == State.FAILED

    @property
    def alarm(self):
        return self.state in (State.LATE, State.NEVER_RAN, State.FAILED)

    @property
    def state_label(self):
        if self.state == State.NOT_DUE:
            if self.first_due > self.now:
                return f"Not due yet — first run at {local_time_label(self.first_due, self.now)}"
            return f"Starting — first run was due at {local_time_label(self.first_due, self.now)}"
        return {State.OK: "OK", State.RUNNING: "First run in progress", State.NEVER_RAN: "Never ran", State.LATE: "Late",
                State.FAILED: "Last run failed"}[self.state]

    @property
    def hint(self):
        """What staff should do about an alarm, or ""."""
        check = "check that the Celery worker and beat are running."
        if self.state == State.NEVER_RAN:
            if self.first_due is None:
                return f"No start of Celery beat has been recorded: {check}"
            return f"Its first run was due at {local_time_label(self.first_due, self.now)} and has not happened: {check}"
        if self.state == State.LATE:
            return f"Periodic work has not completed within {self.job.late_after_label}: {check}"
        return ""


def job_state(job, run, now, beat_started):
    """(state, first due time) of one job."""
    if run is not None and run.status == JobRun.Status.FAILED:
        return State.FAILED, None
    if run is not None and run.last_success_at is not None:
        return (State.LATE if now - run.last_success_at > job.late_after else State.OK), None
    if run is not None:  # started but never succeeded: running its first run, or killed during it
        return (State.LATE if now - run.last_started_at > job.late_after else State.RUNNING), None
    if beat_started is None:
        return State.NEVER_RAN, None
    first_due = job.first_run_after(beat_started)
    if now > first_due + job.first_run_grace(first_due):
        return State.NEVER_RAN, first_due
    return State.NOT_DUE, first_due


def job_statuses(now=None):
    """The status of every registered job, with two queries (more only for jobs that never ran and compute their
    first run from settings, such as the daily automation pass)."""
    now = now or timezone.now()
    jobs = all_jobs()
    names = [job.name for job in jobs] + [BEAT_STARTED_ROW]
    runs = {run.name: run for run in JobRun.objects.filter(name__in=names)}
    beat = runs.get(BEAT_STARTED_ROW)
    beat_started = beat.last_started_at if beat else None
    statuses = []
    for job in jobs:
        run = runs.get(job.name)
        state, first_due = job_state(job, run, now, beat_started)
        statuses.append(JobStatus(job=job, run=run, state=state, first_due=first_due, now=now))
    return statuses
