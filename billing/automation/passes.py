"""The automation passes: when they start, how they fan out, how they are counted and finished (the Celery tasks
in tasks.py are thin calls into this module; the work on each service is in engine.py).

Beat sends two ticks every five minutes (billing/automation/jobs.py), read in the business time zone:
- `automation_daily` starts the daily pass once per business date, at the first tick at or after
  AutomationSettings.daily_run_time (claimed with a conditional UPDATE, so two ticks or two beat processes never
  both start it; a tick that finds another pass running tries again five minutes later);
- `automation_every_run` runs the override pass when the override cron mode is "every run".

Only one pass runs at a time (locks.acquire_pass_lock). A pass plans on one worker, then:
- with a shared cache (Redis) it fans the service actions out in batches (the `automation_batch` task, which
  calls `run_batch`) that any worker on any machine takes; each batch runs its provider calls on a thread pool.
  The batch that completes the pass (a Redis counter) runs the daily pass's client status update, records the
  totals and releases the lock;
- without one (the embedded SQLite mode) it does the work itself, in the same steps.
"""
from collections import Counter
from datetime import date as date_type, datetime, timedelta

from django.conf import settings as django_settings
from django.core.cache import cache
from django.utils import timezone

from billing.automation import engine, locks
from billing.models import AutomationSettings
from portal.jobs import track_job
from portal.models import JobRun

JOB_DAILY = "automation_daily"
JOB_EVERY_RUN = "automation_every_run"
JOBS = {engine.DAILY: JOB_DAILY, engine.EVERY_RUN: JOB_EVERY_RUN}
DEFAULT_BATCH_SIZE = 100
TICK_GRACE = timedelta(minutes=15)
COUNTER_TTL = int(locks.LEASE.total_seconds())


def daily_pass(*, send_batch):
    """Start the daily pass when its time has come and it has not run yet (beat's tick, every five minutes).
    `send_batch(**batch)` queues one batch when the pass fans out. Returns the tick's summary."""
    run_time = AutomationSettings.load().daily_run_time
    day = due_daily_date(timezone.localtime(), run_time)
    if day is None:
        return f"Daily pass at {run_time:%H:%M}; not yet."
    previous = locks.last_daily_date()
    if previous >= day.isoformat():
        return f"The daily pass for {day} has run."
    token = locks.acquire_pass_lock()
    if token is None:
        return "Another automation pass is running; the next tick tries again."
    if not locks.claim_daily(day):
        locks.release_pass_lock(token)
        return f"The daily pass for {day} has run."
    try:
        return start_pass(token, date=day, mode=engine.DAILY, send_batch=send_batch)
    except BaseException:
        locks.unclaim_daily(day, previous)
        raise


def due_daily_date(now, run_time):
    """The business date whose daily pass is due at `now` (local time), or None before today's run time. A run
    time after the day's last tick (23:56–23:59) is served by the first tick after midnight, for its own date."""
    today = now.date()
    if now.time() >= run_time:
        return today
    yesterday = today - timedelta(days=1)
    if now - timezone.make_aware(datetime.combine(yesterday, run_time)) <= TICK_GRACE:
        return yesterday
    return None


def every_run_pass(*, send_batch):
    """The pass for overrides in "every run" mode (seed 001's "Cron" setting), at each tick."""
    if AutomationSettings.load().override_cron_mode != engine.EVERY_RUN:
        with track_job(JOB_EVERY_RUN) as summary:
            summary["summary"] = "Overrides are processed daily (Override cron mode): nothing to do."
        return summary["summary"]
    token = locks.acquire_pass_lock()
    if token is None:
        return "Another automation pass is running; the next tick tries again."
    return start_pass(token, date=timezone.localdate(), mode=engine.EVERY_RUN, send_batch=send_batch)


def fan_out():
    configured = getattr(django_settings, "AUTOMATION_FAN_OUT", None)
    if configured is not None:
        return configured
    return locks.shared_cache() and not django_settings.CELERY_TASK_ALWAYS_EAGER


def start_pass(token, *, date, mode, send_batch):
    """Run (or start, when fanning out) the pass whose lock `token` holds; the lock is released when it ends.
    Fanning out, each batch is handed to `send_batch(token=, number=, run_date=, mode=, items=)` (the tasks
    module queues automation_batch)."""
    job = JOBS[mode]
    actor = engine.automation_actor()
    batches = []
    try:
        with track_job(job) as summary:
            if not fan_out():
                summary["summary"] = engine.run_automation(date=date, mode=mode, actor=actor).summary
            else:
                plan = engine.plan_automation(date=date, mode=mode, dry_run=False)
                if mode == engine.DAILY:
                    engine.run_cancellations(plan, date=date, actor=actor)
                items = [row.work_item() for row in plan.service_rows(engine.SUSPEND, engine.TERMINATE)]
                size = getattr(django_settings, "AUTOMATION_BATCH_SIZE", DEFAULT_BATCH_SIZE)
                batches = [items[i : i + size] for i in range(0, len(items), size)]
                if batches:
                    _start_counters(token, date=date, mode=mode, batches=len(batches))
                    summary["summary"] = (
                        f"{plan.summary}: {len(items)} action(s) sent to the workers in {len(batches)} batch(es)"
                    )
                else:
                    if mode == engine.DAILY:
                        engine.finish_daily(plan, date=date, actor=actor)
                    summary["summary"] = plan.summary
    except BaseException:
        locks.release_pass_lock(token)
        raise
    if not batches:
        locks.release_pass_lock(token)
        return summary["summary"]
    # Sent after track_job recorded the start, so the batch that ends the pass has the last word in JobRun.
    for number, batch in enumerate(batches):
        send_batch(token=token, number=number, run_date=date.isoformat(), mode=mode, items=batch)
    return summary["summary"]


def run_batch(*, token, number, run_date, mode, items):
    """Claim and act on one batch of services (provider calls on a thread pool) and count it; the batch that
    completes the pass finishes it. Safe to run twice: a service already handled is skipped by its claim, and a
    redelivered batch is counted once."""
    day = date_type.fromisoformat(run_date)
    results = engine.execute(items, date=day, actor=engine.automation_actor(), mode=mode)
    if not cache.add(_key(token, f"batch:{number}"), 1, timeout=COUNTER_TTL):
        return "Batch already counted (a redelivery)."
    for outcome, count in Counter(outcome for outcome, _ in results).items():
        cache.incr(_key(token, outcome), count)
    if cache.decr(_key(token, "pending")) == 0:
        finish_pass(token)
    return f"{len(items)} service(s)"


def _key(token, name):
    return f"billing.automation:{token}:{name}"


def _start_counters(token, *, date, mode, batches):
    started = timezone.now()
    values = {_key(token, o): 0 for o in (engine.DONE, engine.FAILED, engine.SKIPPED)}
    values[_key(token, "pending")] = batches
    values[_key(token, "meta")] = {"date": date.isoformat(), "mode": mode, "started": started.isoformat()}
    cache.set_many(values, timeout=COUNTER_TTL)


def finish_pass(token):
    """The last batch of a fanned-out pass: client status update (daily), totals in JobRun, lock released."""
    meta = cache.get(_key(token, "meta"))
    try:
        day = date_type.fromisoformat(meta["date"])
        changes = []
        if meta["mode"] == engine.DAILY:
            changes = engine.finish_daily(None, date=day, actor=engine.automation_actor())
        counts = cache.get_many([_key(token, o) for o in (engine.DONE, engine.FAILED, engine.SKIPPED)])
        done, failed, skipped = (counts.get(_key(token, o), 0) for o in (engine.DONE, engine.FAILED, engine.SKIPPED))
        now = timezone.now()
        started = datetime.fromisoformat(meta["started"])
        JobRun.objects.filter(name=JOBS[meta["mode"]]).update(
            status=JobRun.Status.SUCCESS, last_finished_at=now, last_success_at=now,
            last_duration_ms=int((now - started).total_seconds() * 1000),
            last_summary=(f"{day} ({meta['mode']}): {done} done, {failed} failed (retried next run), "
                          f"{skipped} skipped; {len(changes)} client status change(s)")[:255],
        )
    finally:
        locks.release_pass_lock(token)
        cache.delete_many([_key(token, n) for n in ("pending", "meta", engine.DONE, engine.FAILED, engine.SKIPPED)])


def pass_finished(token):
    """For callers that wait on a fanned-out pass (the benchmark): its counters are gone once it ended."""
    return cache.get(_key(token, "pending")) is None
