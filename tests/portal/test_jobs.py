from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from celery.schedules import crontab
from django.conf import settings

from portal.celery import app
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
    try:
        # 13:30 UTC in winter is 08:30 in Toronto: the 09:00 run is due in 30 minutes, not in 19.5 hours.
        last_run = datetime(2026, 11, 20, 9, 0, tzinfo=toronto)
        now = datetime(2026, 11, 21, 13, 30, tzinfo=ZoneInfo("UTC"))
        daily_nine.nowfun = lambda: now
        remaining = daily_nine.remaining_estimate(last_run)
        assert remaining.total_seconds() == 30 * 60
    finally:
        app.conf.timezone = settings.BUSINESS_TIME_ZONE
