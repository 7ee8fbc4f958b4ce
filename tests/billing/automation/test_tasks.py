"""Scheduling: the daily pass starts once per business date at the configured time in the business time zone;
the every-run pass follows the override cron mode; one pass at a time; the fanned-out path (batches, the counter
that ends the pass) run eagerly here, with real workers in the benchmark."""
from datetime import datetime, time, timedelta

import pytest
from django.utils import timezone

from billing.automation import locks, passes, tasks
from billing.automation.jobs import PERIODIC_JOBS
from portal.jobs import all_jobs, beat_schedule
from portal.models import JobRun
from tests.billing.automation.conftest import RUN, S, fake_calls, overdue_service

pytestmark = pytest.mark.django_db


@pytest.fixture
def clock(monkeypatch):
    """clock(aware datetime): what timezone.now() answers from then on."""

    def set_now(moment):
        monkeypatch.setattr(timezone, "now", lambda: moment)

    return set_now


def at(day, hour, minute=0, zone=None):
    return timezone.make_aware(datetime.combine(day, time(hour, minute)), zone)


def test_the_jobs_are_in_the_beat_schedule_and_on_the_dashboard():
    names = {job.name for job in all_jobs()}
    assert {"automation_daily", "automation_every_run"} <= names
    schedule = beat_schedule()
    assert schedule["automation_daily"]["task"] == "billing.automation.tasks.automation_daily"
    assert {job.task for job in PERIODIC_JOBS} <= set(tasks.automation_daily.app.tasks)


def test_the_daily_pass_waits_for_its_time_then_runs_once_per_business_date(automation, clock, settings):
    settings.TIME_ZONE = "America/Toronto"
    automation(daily_run_time=time(9, 0))
    day = RUN
    service = overdue_service(days=5)
    clock(at(day, 8, 55))
    assert "not yet" in tasks.automation_daily()
    assert service.__class__.objects.get(pk=service.pk).status == S.ACTIVE

    clock(at(day, 9, 0))
    assert "suspend" in tasks.automation_daily().lower()
    assert fake_calls("suspend") == [service.domain]
    assert locks.last_daily_date() == "2026-03-10"
    run = JobRun.objects.get(name="automation_daily")
    assert run.status == JobRun.Status.SUCCESS and "1 done" in run.last_summary

    clock(at(day, 9, 5))
    assert "has run" in tasks.automation_daily()
    assert not locks.pass_running()


def test_the_daily_time_is_read_in_the_business_time_zone(automation, clock, settings):
    """09:00 in Auckland is 20:00 UTC the day before: the pass runs then, for the Auckland date."""
    settings.TIME_ZONE = "Pacific/Auckland"
    automation(daily_run_time=time(9, 0))
    utc = timezone.get_fixed_timezone(0)
    clock(datetime(2026, 3, 9, 19, 55, tzinfo=utc))
    assert "not yet" in tasks.automation_daily()
    clock(datetime(2026, 3, 9, 20, 0, tzinfo=utc))
    tasks.automation_daily()
    assert locks.last_daily_date() == "2026-03-10"


def test_a_run_time_after_the_last_tick_of_the_day_runs_just_after_midnight_for_its_date(automation, clock):
    automation(daily_run_time=time(23, 58))
    clock(at(RUN, 23, 55))
    assert "not yet" in tasks.automation_daily()
    clock(at(RUN + timedelta(days=1), 0, 0))
    tasks.automation_daily()
    assert locks.last_daily_date() == RUN.isoformat()
    clock(at(RUN + timedelta(days=1), 9, 0))  # long after: the new day's pass waits for 23:58 again
    assert "not yet" in tasks.automation_daily()


def test_a_first_start_in_the_morning_waits_for_the_run_time(automation, clock):
    automation(daily_run_time=time(9, 0))
    clock(at(RUN, 8, 0))
    assert "not yet" in tasks.automation_daily() and locks.last_daily_date() == ""


def test_a_tick_that_finds_a_pass_running_leaves_the_day_unclaimed(automation, clock):
    automation(daily_run_time=time(0, 0))
    clock(at(RUN, 9))
    token = locks.acquire_pass_lock()
    assert "Another automation pass is running" in tasks.automation_daily()
    assert locks.last_daily_date() == ""
    locks.release_pass_lock(token)
    tasks.automation_daily()
    assert locks.last_daily_date() == "2026-03-10"


def test_the_day_is_claimed_once_even_by_two_callers():
    day = RUN
    assert [locks.claim_daily(day), locks.claim_daily(day)] == [True, False]
    assert locks.claim_daily(day + timedelta(days=1)) is True


def test_a_failing_pass_gives_the_day_back_and_releases_the_lock(automation, clock, monkeypatch):
    automation(daily_run_time=time(0, 0))
    clock(at(RUN, 9))

    def boom(**kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(passes.engine, "plan_automation", boom)
    with pytest.raises(RuntimeError):
        tasks.automation_daily()
    assert locks.last_daily_date() == "" and not locks.pass_running()
    assert JobRun.objects.get(name="automation_daily").status == JobRun.Status.FAILED


def test_the_pass_lock_is_a_lease(clock):
    now = timezone.now()
    clock(now)
    token = locks.acquire_pass_lock()
    assert token and locks.acquire_pass_lock() is None
    clock(now + locks.LEASE + timedelta(seconds=1))  # its holder died: the lease ran out
    assert locks.acquire_pass_lock() is not None
    locks.release_pass_lock(token)  # the old holder cannot release the new one's lock
    assert locks.pass_running()


def test_a_redis_cache_is_shared_and_a_local_one_is_not(settings):
    assert not locks.shared_cache()
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                                   "LOCATION": "redis://127.0.0.1:1/0"}}  # never connected to here
    assert locks.shared_cache()


def test_the_cache_lock_when_the_cache_is_shared(monkeypatch):
    monkeypatch.setattr(locks, "shared_cache", lambda: True)
    token = locks.acquire_pass_lock()
    assert token and locks.acquire_pass_lock() is None and locks.pass_running()
    locks.release_pass_lock("someone else")
    assert locks.pass_running()
    locks.release_pass_lock(token)
    assert not locks.pass_running()


def test_the_every_run_tick(automation):
    automation(override_cron_mode="daily")
    assert "nothing to do" in tasks.automation_every_run()
    assert JobRun.objects.get(name="automation_every_run").status == JobRun.Status.SUCCESS
    automation(override_cron_mode="every_run")
    assert "every_run" in tasks.automation_every_run()


def test_the_fanned_out_pass_runs_batches_and_the_last_one_finishes_it(automation, settings, clock):
    settings.AUTOMATION_FAN_OUT = True
    settings.AUTOMATION_BATCH_SIZE = 2
    automation(daily_run_time=time(0, 0), client_status_update="products")
    services = [overdue_service(days=5) for _ in range(5)]
    clock(at(RUN, 9))
    summary = tasks.automation_daily()
    assert "in 3 batch(es)" in summary
    assert sorted(fake_calls("suspend")) == sorted(s.domain for s in services)
    run = JobRun.objects.get(name="automation_daily")
    assert run.last_summary.startswith("2026-03-10 (daily): 5 done, 0 failed")
    assert not locks.pass_running()


def test_a_redelivered_batch_is_counted_once(automation, settings):
    from django.core.cache import cache

    token = "t" * 32
    passes._start_counters(token, date=RUN, mode="daily", batches=2)
    tasks.automation_batch(token=token, number=0, run_date="2026-03-10", mode="daily", items=[])
    tasks.automation_batch(token=token, number=0, run_date="2026-03-10", mode="daily", items=[])
    assert cache.get(passes._key(token, "pending")) == 1
    tasks.automation_batch(token=token, number=1, run_date="2026-03-10", mode="daily", items=[])
    assert passes.pass_finished(token)
