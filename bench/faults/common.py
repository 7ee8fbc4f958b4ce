"""What the fault-injection runs share: private servers they may stop and start (a Redis on its own port, a
MariaDB with its own data directory), the portal set up on them, overdue services on the SmarterMail simulator,
real Celery workers, and the exactly-once check of an automation pass.

The shared MariaDB (3306) and Redis (6379) of the machine are never stopped: only servers started here are.
"""
import base64
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
BATCH = 2000


class PrivateRedis:
    """A throwaway redis-server on `port` (no persistence); stop() and start() again simulate an outage."""

    def __init__(self, port):
        self.port, self.process = port, None

    @property
    def url(self):
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self):
        self.process = subprocess.Popen(["redis-server", "--port", str(self.port), "--save", "", "--appendonly", "no"],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _wait_for_port(self.port)
        return self

    def stop(self):
        if self.process is not None:
            self.process.kill()
            self.process.wait()
            self.process = None


class PrivateMariaDB:
    """A throwaway MariaDB server with its own data directory and port (root without a password)."""

    def __init__(self, port):
        self.port, self.process = port, None
        self.datadir = tempfile.mkdtemp(prefix="faults-mysql-")
        self.socket = f"{self.datadir}.sock"
        subprocess.run(["mariadb-install-db", "--no-defaults", f"--datadir={self.datadir}", "--user=root",
                        "--auth-root-authentication-method=normal", "--skip-test-db"],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def url(self, name):
        return f"mysql://root@127.0.0.1:{self.port}/{name}"

    def start(self):
        self.process = subprocess.Popen(
            ["/usr/sbin/mariadbd", "--no-defaults", f"--datadir={self.datadir}", f"--port={self.port}",
             f"--socket={self.socket}", "--bind-address=127.0.0.1", "--user=root", "--skip-grant-tables",
             "--innodb-buffer-pool-size=256M", "--max-connections=200"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _wait_for_port(self.port, timeout=60)
        return self

    def kill(self):
        """The server dies (SIGKILL: no clean shutdown, as a crash); start() brings it back with crash recovery."""
        if self.process is not None:
            self.process.kill()
            self.process.wait()
            self.process = None

    def remove(self):
        self.kill()
        shutil.rmtree(self.datadir, ignore_errors=True)
        Path(self.socket).unlink(missing_ok=True)


def pass_arguments(parser, *, database_url, redis_port):
    """The arguments the runs with a daily pass over real workers share (worker_kill.py, redis_outage.py)."""
    parser.add_argument("--services", type=int, default=3000)
    parser.add_argument("--latency-ms", type=float, default=100)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--database-url", default=database_url)
    parser.add_argument("--redis-port", type=int, default=redis_port)
    return parser


def _wait_for_port(port, timeout=20):
    import socket

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise SystemExit(f"Nothing answers on port {port} after {timeout} s.")


def setup_django(database_url, redis_url):
    """Point the portal at the run's servers (before django.setup) and create its database afresh."""
    os.environ.update({
        "PORTAL_VAR_DIR": tempfile.mkdtemp(prefix="faults-var-"), "DJANGO_SETTINGS_MODULE": "config.settings",
        "LOG_LEVEL": "ERROR", "DATABASE_URL": database_url, "REDIS_URL": redis_url,
        "CELERY_TASK_ALWAYS_EAGER": "0",
        "FIELD_ENCRYPTION_KEY": base64.urlsafe_b64encode(b"faults-benchmark-only-key-32byte").decode(),
        "SECRET_KEY": "faults-benchmark-only-secret-key",
    })
    import django

    django.setup()
    from django.core.management import call_command

    from bench.voip_common import recreate_mysql_database

    recreate_mysql_database(database_url)
    call_command("migrate", verbosity=0)


class FaultRun:
    """An automation fault run: `with FaultRun(...) as run:` starts the private Redis and the simulator, sets the
    portal up on `database_url`; leaving stops every process it started."""

    def __init__(self, *, database_url, redis_port, latency_ms):
        self.database_url, self.latency_ms = database_url, latency_ms
        self.redis = PrivateRedis(redis_port)
        self.workers, self.simulator, self.domains = [], None, []
        self.log_dir = tempfile.mkdtemp(prefix="faults-logs-")

    def __enter__(self):
        self.redis.start()
        setup_django(self.database_url, self.redis.url)
        from provisioning.modules.smartermail.simulator import TransitionRecordingSimulator

        self.simulator = TransitionRecordingSimulator(latency_ms=self.latency_ms).start()
        return self

    def __exit__(self, *exc):
        for worker in self.workers:
            self.kill_worker(worker)
        if self.simulator is not None:
            self.simulator.stop()
        self.redis.stop()

    # --- data ------------------------------------------------------------------------------------------------

    def build(self, count):
        """`count` Active SmarterMail services, each 10 days past its next due date with an unpaid invoice due
        then; suspension after 5 days, the e-mail on, termination off."""
        from django.utils import timezone

        from billing.models import AutomationSettings, Invoice, InvoiceItem, Product, ProductGroup, Service
        from portal.models import Client
        from provisioning.models import Server

        sim, today = self.simulator, timezone.localdate()
        due = today - timedelta(days=10)
        server = Server.objects.create(name="sim", module="smartermail", hostname="127.0.0.1", port=sim.port,
                                       use_tls=False, username=sim.admin_username, password=sim.admin_password,
                                       settings={"read_timeout": 30})
        product = Product.objects.create(group=ProductGroup.objects.create(name="Mail"), name="Mail",
                                         type=Product.Type.MAIL, module="smartermail")
        AutomationSettings.objects.update_or_create(singleton=True, defaults=dict(
            suspension_enabled=True, suspend_days=5, send_suspension_email=True, termination_enabled=False,
            override_cron_mode="daily", daily_run_time="00:00", client_status_update="off"))
        clients = Client.objects.bulk_create(
            [Client(first_name="F", last_name=f"Ault{n}", email=f"c{n}@faults.example", country="CA")
             for n in range(count)], batch_size=BATCH)
        self.domains = [f"f{n:06d}.example" for n in range(count)]
        Service.objects.bulk_create(
            [Service(client=c, product=product, domain=d, status=Service.Status.ACTIVE, server=server,
                     username=f"admin@{d}", recurring_amount=Decimal("10.00"), next_due_date=due,
                     next_invoice_date=due) for c, d in zip(clients, self.domains)], batch_size=BATCH)
        Invoice.objects.bulk_create(
            [Invoice(client=c, number=f"F-{n:07d}", date=due, due_date=due, status=Invoice.Status.UNPAID,
                     subtotal=Decimal("10.00"), total=Decimal("10.00")) for n, c in enumerate(clients)],
            batch_size=BATCH)
        invoices = dict(Invoice.objects.values_list("client_id", "pk"))
        InvoiceItem.objects.bulk_create(
            [InvoiceItem(invoice_id=invoices[client_id], service_id=pk, kind=InvoiceItem.Kind.SERVICE,
                         description="Mail", amount=Decimal("10.00"), period_start=due,
                         period_end=due + timedelta(days=29), period_key=f"service:{pk}:{due}")
             for pk, client_id in Service.objects.values_list("pk", "client_id")], batch_size=BATCH)
        sim.seed({"domains": [{"name": d, "admin_password": "Fault-pass-1", "is_enabled": True}
                              for d in self.domains]})

    # --- workers ---------------------------------------------------------------------------------------------

    def start_worker(self, name, threads=8):
        env = {**os.environ, "BENCH_CALL_THREADS": str(threads)}
        log = open(Path(self.log_dir) / f"{name}.log", "w")
        worker = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "bench.faults.worker", "worker", "-c", "1", "-P", "prefork",
             "-n", f"{name}@%h", "--without-gossip", "--without-mingle", "-l", "WARNING"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        self.workers.append(worker)
        from config.celery import app

        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if any(name in reply for answer in app.control.ping(timeout=1) or [] for reply in answer):
                return worker
        raise SystemExit(f"Worker {name} did not answer within 60 s; see {self.log_dir}.")

    def kill_worker(self, worker):
        """SIGKILL to the worker's whole process group (the main process and its pool child)."""
        if worker.poll() is None:
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait()

    # --- the pass --------------------------------------------------------------------------------------------

    def send_daily_pass(self):
        from billing.automation import tasks

        tasks.automation_daily.delay()

    def suspended(self):
        from billing.models import Service

        return Service.objects.filter(status=Service.Status.SUSPENDED).count()

    def wait_for_suspended(self, count, timeout=300):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            done = self.suspended()
            if done >= count:
                return done
            time.sleep(0.05)
        raise SystemExit(f"Fewer than {count} services suspended after {timeout} s.")

    def wait_for_pass_end(self, timeout):
        """Seconds until the fanned-out pass released its lock (its last batch counted)."""
        from billing.automation import locks

        started = time.monotonic()
        while time.monotonic() - started < timeout:
            if not locks.pass_running():
                return time.monotonic() - started
            time.sleep(0.2)
        raise SystemExit(f"The pass still holds its lock after {timeout} s; worker logs in {self.log_dir}.")

    def daily_summary(self):
        from billing.automation import passes
        from portal.models import JobRun

        return JobRun.objects.filter(name=passes.JOB_DAILY).values_list("last_summary", flat=True).first()

    def run_pass_in_process(self):
        from django.utils import timezone

        from billing.automation import engine

        return engine.run_automation(date=timezone.localdate()).summary

    # --- the check -------------------------------------------------------------------------------------------

    def check_exactly_once(self):
        """Every service suspended once: at the provider (one state change), in the portal (status, one
        successful module call, one "done" decision, one e-mail). Raises AssertionError listing what differs."""
        from billing import emails
        from billing.models import EmailLog, Service
        from portal.models import ActivityLog
        from provisioning.models import ModuleCall

        sim = self.simulator
        pks = dict(Service.objects.values_list("domain", "pk"))
        problems = []
        changes = {d: sim.transitions.get(d, []) for d in self.domains}
        problems += [f"{d}: provider changes {c}" for d, c in changes.items() if c != ["disabled"]]
        with sim.lock:
            provider = {name: domain.is_enabled for name, domain in sim.domains.items()}
        portal = dict(Service.objects.values_list("domain", "status"))
        problems += [f"{d}: portal {portal[d]}, provider enabled={provider.get(d)}" for d in self.domains
                     if portal[d] != Service.Status.SUSPENDED or provider.get(d) is not False]
        expected = Counter(pks.values())
        calls = Counter(ModuleCall.objects.filter(action="suspend", success=True).values_list("service_id", flat=True))
        decisions = Counter(int(pk) for pk in ActivityLog.objects.filter(
            action="automation.suspend", data__outcome="done").values_list("target_id", flat=True))
        mails = Counter(EmailLog.objects.filter(template_name=emails.SERVICE_SUSPENDED)
                        .values_list("service_id", flat=True))
        for label, counted in (("successful module calls", calls), ("audit decisions", decisions),
                               ("e-mails", mails)):
            problems += [f"service {pk}: {counted[pk]} {label}" for pk in expected if counted[pk] != 1]
            problems += [f"service {pk}: {label} for a service not due" for pk in counted if pk not in expected]
        failed = ModuleCall.objects.filter(action="suspend", success=False).count()
        if problems:
            raise AssertionError(f"{len(problems)} problem(s):\n" + "\n".join(problems[:30]))
        return {"provider_calls": sim.calls_to("domain-settings"), "checked": len(self.domains),
                "failed_calls": failed, "outcome": "each service suspended exactly once, nothing lost"}
