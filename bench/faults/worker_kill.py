"""Fault injection, run 2 (hardening issue, item 9): a Celery worker killed with SIGKILL in the middle of the
daily automation pass, then the pass run again. Nothing may be lost and nothing done twice.

MariaDB (a database of its own on the server in --database-url), a private Redis started on --redis-port (broker,
cache and pass lock), the SmarterMail simulator (--latency-ms per call) and --workers real Celery worker
processes. All --services services are overdue. Once --kill-at of them are suspended, one worker's whole process
group gets SIGKILL (its batch dies mid-way, provider calls in flight); a replacement worker starts. The killed
batch comes back to a worker when the broker's visibility timeout expires (acks_late), and the pass ends. Then
the pass is run again in this process (engine.run_automation, as `manage.py run_automation` does). Checked per
domain: the simulator's state changes (exactly one "disabled"), one successful module call, one audit decision
"done", one suspension e-mail; the provider's state equals the portal's.

    .venv/bin/python bench/faults/worker_kill.py [--services 3000] [--latency-ms 100] [--workers 2] [--kill-at 0.3]
        [--database-url mysql://root@127.0.0.1:3306/portal_faults_kill] [--redis-port 6390]
"""
import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent.parent))

from bench.faults.common import FaultRun, pass_arguments  # noqa: E402


def parse_args():
    parser = pass_arguments(argparse.ArgumentParser(description=__doc__.split("\n\n")[0]),
                            database_url="mysql://root@127.0.0.1:3306/portal_faults_kill", redis_port=6390)
    parser.add_argument("--kill-at", type=float, default=0.3, help="Share of the services suspended at the kill.")
    return parser.parse_args()


def main():
    args = parse_args()
    with FaultRun(database_url=args.database_url, redis_port=args.redis_port, latency_ms=args.latency_ms) as run:
        run.build(args.services)
        workers = [run.start_worker(f"w{n}") for n in range(args.workers)]
        run.send_daily_pass()
        suspended_at_kill = run.wait_for_suspended(int(args.services * args.kill_at))
        run.kill_worker(workers[0])
        print(f"SIGKILL to worker w0 (process group) with {suspended_at_kill} of {args.services} suspended")
        run.start_worker("w-replacement")
        seconds = run.wait_for_pass_end(timeout=300)
        print(f"the pass ended {seconds:.0f} s after the kill: {run.daily_summary()}")
        again = run.run_pass_in_process()
        print(f"the pass run again: {again}")
        figures = run.check_exactly_once()
        print(f"worker kill: {args.services} services, {figures['provider_calls']} provider calls, 1 worker killed "
              f"with {suspended_at_kill} suspended, {figures['checked']} services checked "
              f"(state changes, module calls, audit, e-mails): {figures['outcome']}")


if __name__ == "__main__":
    main()
