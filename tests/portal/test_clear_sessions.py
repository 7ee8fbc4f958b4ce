"""The daily job that removes expired sign-in sessions (portal.tasks.clear_expired_sessions): on several web
hosts nothing else deletes them, and Django's `clearsessions` is a command someone must schedule."""
from datetime import timedelta

import pytest
from django.contrib.sessions.backends.db import SessionStore
from django.contrib.sessions.models import Session
from django.utils import timezone

from portal.jobs import all_jobs, beat_schedule
from portal.models import JobRun
from portal.tasks import clear_expired_sessions, delete_expired_sessions

pytestmark = pytest.mark.django_db


def session(expires_in):
    store = SessionStore()
    store["who"] = "x"
    store.create()
    Session.objects.filter(pk=store.session_key).update(expire_date=timezone.now() + expires_in)
    return store.session_key


def test_expired_sessions_go_in_batches_and_live_ones_stay():
    expired = [session(timedelta(minutes=-1)) for _ in range(5)]
    live = [session(timedelta(hours=1)) for _ in range(2)]
    assert delete_expired_sessions(batch=2) == 5
    assert set(Session.objects.values_list("pk", flat=True)) == set(live)
    assert not Session.objects.filter(pk__in=expired).exists()


def test_the_daily_task_records_its_run():
    session(timedelta(days=-1))
    clear_expired_sessions.delay()
    run = JobRun.objects.get(name="sessions_clear")
    assert (run.status, run.last_summary) == ("success", "1 expired session(s) removed")
    assert Session.objects.count() == 0


def test_beat_sends_it_once_a_day():
    job = next(job for job in all_jobs() if job.name == "sessions_clear")
    assert beat_schedule()["sessions_clear"]["task"] == "portal.tasks.clear_expired_sessions"
    assert (job.schedule.hour, job.schedule.minute) == ({3}, {30})
