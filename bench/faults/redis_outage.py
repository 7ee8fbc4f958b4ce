"""Fault injection, run 4 (hardening issue, item 9): Redis (broker, cache, the pass lock and counters) gone in
the middle of the daily automation pass, then back, empty (no persistence: the worst case, every queued batch
and the lock are lost). The pass must not run twice when Redis comes back, and nothing may be done twice.

MariaDB (a database of its own on --database-url's server), a private Redis on --redis-port, the SmarterMail
simulator, --workers real Celery workers. Once --outage-at of the services are suspended, Redis is killed for
--outage-seconds, then started again. Beat's tick (automation_daily) is then sent --ticks times: each must answer
that today's daily pass has run (the claim is a database row, not Redis). The services the lost batches did
not reach are then done by running the pass by hand (engine.run_automation, as `manage.py run_automation`), and
every service is checked: one state change at the provider, one successful module call, one audit decision
"done", one e-mail.

    .venv/bin/python bench/faults/redis_outage.py [--services 3000] [--latency-ms 100] [--workers 2]
        [--outage-at 0.3] [--outage-seconds 10] [--ticks 3]
        [--database-url mysql://root@127.0.0.1:3306/portal_faults_redis] [--redis-port 6391]
"""
import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent.parent))

from bench.faults.common import FaultRun, pass_arguments  # noqa: E402


def parse_args():
    parser = pass_arguments(argparse.ArgumentParser(description=__doc__.split("\n\n")[0]),
                            database_url="mysql://root@127.0.0.1:3306/portal_faults_redis", redis_port=6391)
    parser.add_argument("--outage-at", type=float, default=0.3)
    parser.add_argument("--outage-seconds", type=float, default=10)
    parser.add_argument("--ticks", type=int, default=3)
    return parser.parse_args()


def main():
    args = parse_args()
    with FaultRun(database_url=args.database_url, redis_port=args.redis_port, latency_ms=args.latency_ms) as run:
        from billing.automation import locks, passes, tasks
        from portal.models import JobRun

        run.build(args.services)
        for n in range(args.workers):
            run.start_worker(f"w{n}")
        run.send_daily_pass()
        at_outage = run.wait_for_suspended(int(args.services * args.outage_at))
        run.redis.stop()
        print(f"Redis killed with {at_outage} of {args.services} suspended")
        time.sleep(args.outage_seconds)
        during = run.suspended()
        run.redis.start()
        print(f"Redis back after {args.outage_seconds:g} s, empty ({during} suspended meanwhile by the batches "
              f"in flight)")
        time.sleep(10)  # the workers reconnect; the batches in flight end
        settled = run.suspended()
        answers = []
        for _ in range(args.ticks):  # the task's body, as a worker runs it for beat (no result backend to wait on)
            answers.append(tasks.automation_daily())
        started = [a for a in answers if "has run" not in a]
        print(f"{args.ticks} beat ticks after the outage: {answers[0]!r}"
              + (f"; STARTED AGAIN: {started}" if started else ""))
        assert not started, "The daily pass ran twice."
        assert locks.last_daily_date() == str(run_date()), locks.last_daily_date()
        job = JobRun.objects.filter(name=passes.JOB_DAILY).values_list("status", "last_summary").first()
        print(f"after the outage {settled} of {args.services} suspended; the lost batches left "
              f"{args.services - settled}; daily JobRun: {job}")
        again = run.run_pass_in_process()
        print(f"the pass run by hand: {again}")
        figures = run.check_exactly_once()
        print(f"redis outage: {args.services} services, {figures['provider_calls']} provider calls, Redis down "
              f"{args.outage_seconds:g} s with {at_outage} suspended, {args.ticks} ticks refused, "
              f"{figures['checked']} services checked: {figures['outcome']}")


def run_date():
    from django.utils import timezone

    return timezone.localdate()


if __name__ == "__main__":
    main()
