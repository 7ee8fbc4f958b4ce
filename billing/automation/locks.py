"""One automation pass at a time, and the daily pass once per business date.

The pass lock is a lease with a time limit, so a worker that dies never blocks automation for good:
- with a shared cache (Redis, when REDIS_URL is set): SET NX with an expiry, released by its holder only;
- otherwise a database row (a JobRun row named "automation.pass_lock"), taken with one conditional UPDATE:
  free, or its lease expired.
The lock keeps passes from doing the same work twice; correctness does not depend on it: each service is still
claimed under its row lock and re-checked (engine.act_on).

The daily claim is a JobRun row ("automation.daily_claim") whose summary holds the last business date the daily
pass started for: a conditional UPDATE moves it to today once, so two beat ticks (or two beat processes) never
both start today's daily pass. No new table is needed.
"""
import uuid
from datetime import timedelta

from django.core.cache import cache, caches
from django.core.cache.backends.redis import RedisCache
from django.db.models import Q
from django.utils import timezone

from portal.models import JobRun

LOCK_KEY = "billing.automation.pass_lock"
LOCK_ROW = "automation.pass_lock"
DAILY_CLAIM_ROW = "automation.daily_claim"
LEASE = timedelta(hours=2)


def shared_cache():
    """Whether the default cache is shared between processes and machines (Redis)."""
    return isinstance(caches["default"], RedisCache)


def acquire_pass_lock(lease=LEASE):
    """A token when this caller now holds the pass lock, None when another pass holds it."""
    token = uuid.uuid4().hex
    if shared_cache():
        return token if cache.add(LOCK_KEY, token, timeout=int(lease.total_seconds())) else None
    now = timezone.now()
    JobRun.ensure(LOCK_ROW, status=JobRun.Status.SUCCESS)
    free = Q(status__in=[JobRun.Status.SUCCESS, JobRun.Status.FAILED]) | Q(last_started_at__lt=now - lease)
    taken = JobRun.objects.filter(free, name=LOCK_ROW).update(
        status=JobRun.Status.RUNNING, last_started_at=now, last_summary=token
    )
    return token if taken else None


def release_pass_lock(token):
    if shared_cache():
        if cache.get(LOCK_KEY) == token:
            cache.delete(LOCK_KEY)
        return
    JobRun.objects.filter(name=LOCK_ROW, status=JobRun.Status.RUNNING, last_summary=token).update(
        status=JobRun.Status.SUCCESS, last_finished_at=timezone.now()
    )


def pass_running():
    if shared_cache():
        return cache.get(LOCK_KEY) is not None
    return JobRun.objects.filter(
        name=LOCK_ROW, status=JobRun.Status.RUNNING, last_started_at__gte=timezone.now() - LEASE
    ).exists()


def claim_daily(day):
    """True for exactly one caller per business date `day`."""
    JobRun.ensure(DAILY_CLAIM_ROW, status=JobRun.Status.SUCCESS)
    # ISO dates compare as strings; "" (never) is before every date.
    return bool(
        JobRun.objects.filter(name=DAILY_CLAIM_ROW, last_summary__lt=day.isoformat()).update(
            last_summary=day.isoformat(), last_started_at=timezone.now()
        )
    )


def unclaim_daily(day, previous):
    """Give today's claim back (the pass could not start), so the next tick tries again."""
    JobRun.objects.filter(name=DAILY_CLAIM_ROW, last_summary=day.isoformat()).update(last_summary=previous)


def last_daily_date():
    """The ISO business date of the last daily pass started, or ""."""
    return JobRun.objects.filter(name=DAILY_CLAIM_ROW).values_list("last_summary", flat=True).first() or ""

