from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from celery.schedules import crontab
from django.conf import settings

from config.celery import app
from portal.jobs import all_jobs, beat_schedule, track_job
from portal.models import JobRun
from portal.tasks import heartbeat

pytestmark = pytest.mark.django_db


def test_heartbeat_records_a_successful_run_each_time():
    heartbeat.delay()
    heartbeat.delay()
    run = JobRun.objects.get(name="heartbeat")
    assert (run.status, run.run_count, run.last_error) == ("success", 2, "")
    assert run.last_success_at == run.last_finished_at
    assert run.last_summary == "Scheduler and worker alive"


def test_a_failing_job_is_recorded_with_its_error_and_the_error_propagates():
    with pytest.raises(RuntimeError):
        with track_job("demo-job"):
            raise RuntimeError("provider down")
    run = JobRun.objects.get(name="demo-job")
    assert (run.status, run.last_success_at, run.last_error) == ("failed", None, "RuntimeError: provider down")


def test_beat_schedule_is_built_from_the_job_registry():
    app.finalize()
    assert app.conf.beat_schedule.keys() == beat_schedule().keys() == {job.name for job in all_jobs()}
    assert beat_schedule()["heartbeat"]["task"] == "portal.tasks.heartbeat"


def test_beat_reads_crontabs_in_the_business_time_zone_not_the_servers():
    assert app.conf.timezone == settings.BUSINESS_TIME_ZONE == settings.TIME_ZONE
    toronto = ZoneInfo("America/Toronto")
    daily_nine = crontab(hour=9, minute=0, app=app)
    app.conf.timezone = "America/Toronto"
    app.__dict__.pop("timezone", None)  # Celery caches app.timezone once anything (the dashboard) has read it
    try:
        # 13:30 UTC in winter is 08:30 in Toronto: the 09:00 run is due in 30 minutes, not in 19.5 hours.
        last_run = datetime(2026, 11, 20, 9, 0, tzinfo=toronto)
        now = datetime(2026, 11, 21, 13, 30, tzinfo=ZoneInfo("UTC"))
        daily_nine.nowfun = lambda: now
        remaining = daily_nine.remaining_estimate(last_run)
        assert remaining.total_seconds() == 30 * 60
    finally:
        app.conf.timezone = settings.BUSINESS_TIME_ZONE
        app.__dict__.pop("timezone", None)


def _insert_lost_to_a_deadlock(winner_committed):
    """get_or_create as it fails for the loser of InnoDB's deadlock over JobRun.name's unique index."""
    from django.db import OperationalError

    def get_or_create(**kwargs):
        if winner_committed:
            JobRun.objects.create(name=kwargs["name"], **kwargs["defaults"])
        raise OperationalError(1213, "Deadlock found when trying to get lock; try restarting transaction")

    return get_or_create


@pytest.mark.django_db(transaction=True)  # autocommit: the deadlock rolled back only the insert itself
def test_a_job_row_insert_lost_to_a_deadlock_reads_the_winners_row(monkeypatch):
    monkeypatch.setattr(JobRun.objects, "get_or_create", _insert_lost_to_a_deadlock(winner_committed=True))
    with track_job("raced-job"):
        pass
    run = JobRun.objects.get(name="raced-job")
    assert (run.status, run.run_count) == ("success", 1)


@pytest.mark.django_db(transaction=True)
def test_a_deadlock_with_no_row_to_read_is_raised(monkeypatch):
    from django.db import OperationalError

    monkeypatch.setattr(JobRun.objects, "get_or_create", _insert_lost_to_a_deadlock(winner_committed=False))
    with pytest.raises(OperationalError):
        JobRun.ensure("raced-job", status=JobRun.Status.RUNNING)
    assert not JobRun.objects.exists()


def test_a_deadlock_inside_a_larger_transaction_is_raised_for_it_to_retry_whole(monkeypatch):
    from django.db import OperationalError

    monkeypatch.setattr(JobRun.objects, "get_or_create", _insert_lost_to_a_deadlock(winner_committed=True))
    with pytest.raises(OperationalError):
        JobRun.ensure("raced-job", status=JobRun.Status.RUNNING)
