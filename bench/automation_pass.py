"""Automation pass benchmark (issue 4): 100,000 services of which 5% are overdue, on MariaDB, against the
SmarterMail simulator answering every call after 50 ms, with 2 real Celery worker processes on Redis.

It measures
- the selection: `plan_automation(date=…)` (the dry run: cancellations, suspensions, terminations and the
  client status update) and its query count, and the two service selections alone;
- the whole daily pass as beat starts it: `billing.automation.tasks.automation_daily` sent to the workers; one
  plans and sends batches of 100 services; both workers claim and suspend them (16 provider calls at once per
  worker), queue the e-mails and write the audit; the last batch runs the client status update. The wall time is
  from sending the task to the pass's end (its JobRun row written by the last batch).
Each figure is the median of `--runs` runs; between runs the suspended services are set back (Active, domains
enabled again on the simulator) and the logs emptied.

    .venv/bin/python bench/automation_pass.py [--services 100000] [--overdue-percent 5] [--latency-ms 50]
        [--workers 2] [--runs 3] [--database-url mysql://root@127.0.0.1:3306/benchauto]
        [--redis-url redis://127.0.0.1:6379/14] [--threads 16] [--reuse] [--profile DIR] [--queue automation]

Each pass also reports the CPU the worker processes (and MariaDB) spent on it, per action, read from /proc, and
the load average when it ended. `--profile DIR` samples the workers with py-spy (on-CPU samples only; py-spy on
PATH or in $PY_SPY) during each pass and prints the functions that took most of their CPU.

The database named in --database-url is dropped and created (unless --reuse keeps the data of an earlier run);
the Redis database is flushed.
"""
import argparse
import base64
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--services", type=int, default=100_000)
    parser.add_argument("--overdue-percent", type=float, default=5)
    parser.add_argument("--latency-ms", type=float, default=50)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--database-url", default="mysql://root@127.0.0.1:3306/benchauto")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/14")
    parser.add_argument("--threads", type=int, default=16, help="Provider calls at once per worker process.")
    parser.add_argument("--reuse", action="store_true", help="Keep the database built by an earlier run.")
    parser.add_argument("--queue", default="", help="Route the automation's tasks to this queue (CELERY_TASK_ROUTES) "
                        "and start the workers on it alone (-Q), as docs/scaling.md deploys them.")
    parser.add_argument("--profile", metavar="DIR", help="Sample the workers with py-spy; raw stacks go to DIR.")
    return parser.parse_args()


ARGS = parse_args()
VAR_DIR = tempfile.mkdtemp(prefix="bench-automation-")
ENV = {
    "PORTAL_VAR_DIR": VAR_DIR, "DJANGO_SETTINGS_MODULE": "config.settings", "LOG_LEVEL": "WARNING",
    "DATABASE_URL": ARGS.database_url, "REDIS_URL": ARGS.redis_url, "CELERY_TASK_ALWAYS_EAGER": "0",
    # Fixed keys, so that --reuse can read the server password stored by an earlier run.
    "FIELD_ENCRYPTION_KEY": base64.urlsafe_b64encode(b"automation-benchmark-only-key-32").decode(),
    "SECRET_KEY": "automation-benchmark-only-secret-key",
    **({"CELERY_TASK_ROUTES": json.dumps({"billing.automation.tasks.*": {"queue": ARGS.queue}})} if ARGS.queue else {}),
    "CONN_MAX_AGE": "60",  # as production runs (config/settings.py): a worker keeps its connection between batches
}
os.environ.update(ENV)

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils import timezone  # noqa: E402

from bench.voip_common import recreate_mysql_database  # noqa: E402
from billing.automation import engine, locks, passes, selection, tasks  # noqa: E402
from billing.automation.rules import Rules  # noqa: E402
from billing.models import (  # noqa: E402
    AutomationSettings,
    EmailLog,
    Invoice,
    InvoiceItem,
    OverwriteRule,
    Product,
    ProductGroup,
    Service,
)
from config.celery import app  # noqa: E402
from portal.models import ActivityLog, Client, JobRun  # noqa: E402
from provisioning.models import ModuleCall, Server  # noqa: E402
from provisioning.modules.smartermail.simulator import SmarterMailSimulator  # noqa: E402

BATCH = 5000


def build(simulator, today):
    """25,000 clients with 4 services each on one SmarterMail server; 5% overdue (5–25 days past the next due
    date, an unpaid invoice due then); the rest paid up (a paid invoice each, next due date ahead). Ten products
    in three groups, one with an override (2 days). Global: suspend after 5 days, terminate after 30."""
    rng = random.Random(4)
    server = Server.objects.create(name="sim", module="smartermail", hostname="127.0.0.1", port=simulator.port,
                                   use_tls=False, username=simulator.admin_username, password=simulator.admin_password,
                                   settings={"read_timeout": 60})
    groups = [ProductGroup.objects.create(name=f"Group {n}") for n in range(3)]
    products = [Product.objects.create(group=groups[n % 3], name=f"Mail {n}", type=Product.Type.MAIL,
                                       module="smartermail") for n in range(10)]
    OverwriteRule.objects.create(product=products[0], overwrite_suspension=True, suspend_days=2)
    AutomationSettings.objects.update_or_create(singleton=True, defaults=dict(
        suspension_enabled=True, suspend_days=5, send_suspension_email=True, termination_enabled=True,
        terminate_days=30, override_type="product", override_cron_mode="daily", daily_run_time="00:00",
        client_status_update="products"))
    clients = Client.objects.bulk_create(
        [Client(company_name=f"Client {n}", first_name="B", last_name=f"Ench{n}", email=f"c{n}@bench.example",
                country="CA") for n in range(ARGS.services // 4)], batch_size=BATCH)
    overdue_every = round(100 / ARGS.overdue_percent)
    services = []
    for n in range(ARGS.services):
        overdue = n % overdue_every == 0
        due = today - timedelta(days=rng.randint(5, 25)) if overdue else today + timedelta(days=rng.randint(1, 30))
        domain = f"d{n:06d}.example"
        services.append(Service(client=clients[n % len(clients)], product=products[n % 10], domain=domain,
                                status=Service.Status.ACTIVE, server=server, username=f"admin@{domain}",
                                recurring_amount=Decimal("10.00"), next_due_date=due, next_invoice_date=due))
    for start in range(0, len(services), BATCH):
        Service.objects.bulk_create(services[start:start + BATCH])
    services = list(Service.objects.order_by("pk").values_list("pk", "client_id", "next_due_date", "domain"))
    invoices, lines = [], []
    for n, (pk, client_id, due, _) in enumerate(services):
        overdue = due < today
        period = due if overdue else due - timedelta(days=30)
        invoices.append(Invoice(client_id=client_id, number=f"B-{n:07d}", date=period - timedelta(days=14),
                                due_date=period, status=Invoice.Status.UNPAID if overdue else Invoice.Status.PAID,
                                subtotal=Decimal("10.00"), total=Decimal("10.00"),
                                amount_paid=Decimal("0.00" if overdue else "10.00")))
    for start in range(0, len(invoices), BATCH):
        Invoice.objects.bulk_create(invoices[start:start + BATCH])
    invoice_ids = dict(Invoice.objects.values_list("number", "pk"))
    for n, (pk, _, due, _) in enumerate(services):
        period = due if due < today else due - timedelta(days=30)
        lines.append(InvoiceItem(invoice_id=invoice_ids[f"B-{n:07d}"], service_id=pk, kind=InvoiceItem.Kind.SERVICE,
                                 description="Mail hosting", amount=Decimal("10.00"), period_start=period,
                                 period_end=period + timedelta(days=29), period_key=f"service:{pk}:{period}"))
    for start in range(0, len(lines), BATCH):
        InvoiceItem.objects.bulk_create(lines[start:start + BATCH])


def overdue_domains(today):
    return list(Service.objects.filter(next_due_date__lt=today).values_list("domain", flat=True))


def reset(simulator, today):
    """Back to the state before a pass: overdue services Active, their domains enabled, logs emptied."""
    Service.objects.filter(next_due_date__lt=today).update(
        status=Service.Status.ACTIVE, suspend_reason="", suspend_mode="", suspended_at=None)
    simulator.seed({"domains": [{"name": d, "admin_password": "bench-pass-1", "is_enabled": True}
                                for d in overdue_domains(today)]})
    for model in (EmailLog, ModuleCall, ActivityLog):
        model.objects.all().delete()
    JobRun.objects.filter(name=locks.DAILY_CLAIM_ROW).update(last_summary="")
    JobRun.objects.filter(name=passes.JOB_DAILY).delete()
    with simulator.lock:
        simulator.calls.clear()


def measure_selection(today):
    rules = Rules.load()
    started = time.perf_counter()
    with CaptureQueriesContext(connection) as services_ctx:
        rows = [list(selection.due_services(rules, action, today).values_list("pk", flat=True))
                for action in (engine.SUSPEND, engine.TERMINATE)]
    services_time = time.perf_counter() - started
    started = time.perf_counter()
    with CaptureQueriesContext(connection) as plan_ctx:
        plan = engine.plan_automation(date=today)
    plan_time = time.perf_counter() - started
    return services_time, len(services_ctx), sum(map(len, rows)), plan_time, len(plan_ctx), plan


def start_workers(log_dir):
    env = {**os.environ, **ENV, "BENCH_CALL_THREADS": str(ARGS.threads)}
    workers = []
    for n in range(ARGS.workers):
        log = open(Path(log_dir) / f"worker{n}.log", "w")
        workers.append(subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "bench.automation_worker", "worker", "-c", "1", "-P", "prefork",
             "-n", f"bench{n}@%h", "--without-gossip", "--without-mingle", "-l", "WARNING",
             *(["-Q", ARGS.queue] if ARGS.queue else [])],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT))
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if len(app.control.ping(timeout=1) or []) >= ARGS.workers:
            return workers
    stop_workers(workers)
    raise SystemExit(f"The Celery workers did not answer within 60 s; see {log_dir}.")


def stop_workers(workers):
    for worker in workers:
        worker.terminate()
    for worker in workers:
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            worker.kill()


def process_cpu(pid):
    """CPU seconds (user + system) of a process and all its descendants, from /proc."""
    tick = os.sysconf("SC_CLK_TCK")
    total, todo = 0.0, [pid]
    while todo:
        current = todo.pop()
        try:
            fields = Path(f"/proc/{current}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / tick
            for task in Path(f"/proc/{current}/task").iterdir():
                todo += [int(child) for child in (task / "children").read_text().split()]
        except (FileNotFoundError, ProcessLookupError):
            continue
    return total


def mariadb_pid():
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip() in ("mariadbd", "mysqld"):
                    return int(entry.name)
            except OSError:
                continue
    return None


def start_profilers(workers, run):
    """py-spy on each worker (and its pool child), on-CPU samples only, raw collapsed stacks."""
    py_spy = os.environ.get("PY_SPY", "py-spy")
    Path(ARGS.profile).mkdir(parents=True, exist_ok=True)
    return [subprocess.Popen([py_spy, "record", "--pid", str(worker.pid), "--subprocesses", "--threads",
                              "--rate", "250", "--format", "raw", "--nonblocking",
                              "-o", str(Path(ARGS.profile) / f"run{run}-worker{n}.txt")],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            for n, worker in enumerate(workers)]


def stop_profilers(profilers):
    import signal

    for profiler in profilers:
        profiler.send_signal(signal.SIGINT)
    for profiler in profilers:
        profiler.wait(timeout=60)


def print_profile(run, top=25):
    """The functions with most on-CPU samples, inclusive (anywhere on the stack) and self (on top)."""
    from collections import Counter

    inclusive, own, total = Counter(), Counter(), 0
    for path in Path(ARGS.profile).glob(f"run{run}-worker*.txt"):
        for line in path.read_text().splitlines():
            stack, _, count = line.rpartition(" ")
            if not stack:
                continue
            count = int(count)
            frames = [f.split(" (")[0] + " (" + f.split(" (")[1].split(":")[0].replace(str(ROOT) + "/", "") + ")"
                      if " (" in f else f for f in stack.split(";")[1:]]  # the first frame is the thread
            total += count
            for frame in set(frames):
                inclusive[frame] += count
            if frames:
                own[frames[-1]] += count
    print(f"profile of run {run + 1}: {total} on-CPU samples")
    for title, counts in (("inclusive", inclusive), ("self", own)):
        print(f"  top {top} {title}:")
        for frame, count in counts.most_common(top):
            print(f"    {100 * count / max(total, 1):5.1f}%  {frame}")


def run_pass(today, expected):
    """Send the daily tick to the workers; wait for the pass to end. Returns (wall seconds, JobRun row)."""
    started_wall = timezone.now()
    started = time.perf_counter()
    tasks.automation_daily.delay()
    deadline = started + 1800
    while time.perf_counter() < deadline:
        run = JobRun.objects.filter(name=passes.JOB_DAILY, last_finished_at__gte=started_wall).first()
        if run is not None and run.status == JobRun.Status.SUCCESS and not locks.pass_running():
            elapsed = time.perf_counter() - started
            run.refresh_from_db()  # the last batch wrote its totals just before it released the lock
            break
        if run is not None and run.status == JobRun.Status.FAILED:
            raise SystemExit(f"The pass failed: {run.last_error}")
        time.sleep(0.1)
    else:
        raise SystemExit("The pass did not finish within 30 minutes.")
    suspended = Service.objects.filter(status=Service.Status.SUSPENDED).count()
    assert suspended == expected, (suspended, expected, run.last_summary)
    app.control.purge()  # the e-mail sending tasks queued behind the batches: not part of the pass
    return elapsed, run


def main():
    import redis

    redis.Redis.from_url(ARGS.redis_url).flushdb()
    today = timezone.localdate()
    simulator = SmarterMailSimulator(latency_ms=ARGS.latency_ms).start()
    log_dir = tempfile.mkdtemp(prefix="bench-automation-logs-")
    try:
        if not ARGS.reuse:
            recreate_mysql_database(ARGS.database_url)
            call_command("migrate", verbosity=0)
            started = time.perf_counter()
            build(simulator, today)
            print(f"Built {ARGS.services:,} services ({ARGS.overdue_percent:g}% overdue) in "
                  f"{time.perf_counter() - started:.0f} s on {connection.vendor} {connection.mysql_server_info}.")
        else:
            Server.objects.filter(name="sim").update(port=simulator.port)
        expected = len(overdue_domains(today))
        workers = start_workers(log_dir)
        database = mariadb_pid()
        selections, plans, passes, cpus = [], [], [], []
        try:
            for run in range(ARGS.runs):
                reset(simulator, today)
                services_time, services_queries, due, plan_time, plan_queries, plan = measure_selection(today)
                selections.append(services_time)
                plans.append(plan_time)
                print(f"run {run + 1}: selection {services_time:.2f} s ({services_queries} queries, {due:,} due); "
                      f"full plan {plan_time:.2f} s ({plan_queries} queries): {plan.summary}")
                profilers = start_profilers(workers, run) if ARGS.profile else []
                cpu_before = sum(process_cpu(w.pid) for w in workers)
                db_before = process_cpu(database) if database else 0.0
                elapsed, job = run_pass(today, expected)
                cpu = sum(process_cpu(w.pid) for w in workers) - cpu_before
                db_cpu = (process_cpu(database) - db_before) if database else 0.0
                load = os.getloadavg()
                # The ModuleCall rows, one per provider call (the simulator's own log keeps only its last 10,000).
                calls = ModuleCall.objects.filter(action="suspend").count()
                passes.append(elapsed)
                cpus.append(cpu)
                print(f"run {run + 1}: workers' CPU {cpu:.1f} s = {1000 * cpu / max(expected, 1):.2f} ms per action; "
                      f"MariaDB CPU {db_cpu:.1f} s = {1000 * db_cpu / max(expected, 1):.2f} ms per action; "
                      f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
                if profilers:
                    stop_profilers(profilers)
                    print_profile(run)
                print(f"run {run + 1}: whole pass {elapsed:.1f} s (JobRun {job.last_duration_ms / 1000:.1f} s from "
                      f"the first batch's plan to the last batch): {job.last_summary}; {calls:,} provider calls; "
                      f"{EmailLog.objects.count():,} e-mails queued")
        finally:
            stop_workers(workers)
        print(f"Median of {ARGS.runs}: selection {statistics.median(selections):.2f} s ({services_queries} queries); "
              f"full dry-run plan {statistics.median(plans):.2f} s ({plan_queries} queries); whole pass "
              f"{statistics.median(passes):.1f} s for {expected:,} suspensions of {ARGS.services:,} services, "
              f"{ARGS.latency_ms:g} ms per call, {ARGS.workers} workers x {ARGS.threads} threads; workers' CPU "
              f"{1000 * statistics.median(cpus) / max(expected, 1):.2f} ms per action (median).")
    finally:
        simulator.stop()


if __name__ == "__main__":
    main()
