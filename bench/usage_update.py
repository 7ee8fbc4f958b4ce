"""Usage update benchmark (issue 5): 10,000 mail domains on 4 SmarterMail simulators answering with 50 ms of
latency per call, read and written by the real code path (`provisioning.usage.update_server_usage`: one HTTP
call per server through the module's client, bulk writes, one history row per service and day).

The 4 servers are updated in parallel, one thread each, as 4 Celery worker threads would take the 4
per-server tasks (`--sequential` runs them one after the other, as a single worker would). Each run is a new
business day (new history rows) with changed sizes; the figure is the median of 3 runs. Data is built with
bulk inserts into a database of its own: a SQLite file in a temporary directory by default, or MariaDB with
`--database-url mysql://root@127.0.0.1:3306/usagebench` (the database is created and emptied).

    .venv/bin/python bench/usage_update.py [--domains 10000] [--servers 4] [--latency-ms 50] [--runs 3]
"""
import argparse
import os
import random
import statistics
import sys
import tempfile
import threading
import time
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--domains", type=int, default=10_000)
    parser.add_argument("--servers", type=int, default=4)
    parser.add_argument("--latency-ms", type=float, default=50)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--sequential", action="store_true", help="One server after the other (one worker).")
    parser.add_argument("--database-url", default="", help="Default: SQLite in a temporary directory.")
    return parser.parse_args()


ARGS = parse_args()
os.environ["PORTAL_VAR_DIR"] = tempfile.mkdtemp(prefix="bench-usage-")
os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
os.environ["LOG_LEVEL"] = "WARNING"
if ARGS.database_url:
    os.environ["DATABASE_URL"] = ARGS.database_url
else:
    os.environ.pop("DATABASE_URL", None)

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection, connections  # noqa: E402

from bench.voip_common import recreate_mysql_database  # noqa: E402
from billing.models import Product, ProductGroup, Service  # noqa: E402
from portal.models import Client  # noqa: E402
from provisioning.models import Server, UsageSample  # noqa: E402
from provisioning.modules.smartermail.client import forget_tokens  # noqa: E402
from provisioning.modules.smartermail.simulator import MB, SmarterMailSimulator  # noqa: E402
from provisioning.usage import update_server_usage  # noqa: E402

FIRST_DAY = date(2026, 11, 20)


def build(simulators):
    """4 servers (one per simulator), 10,000 live services spread over them, the domains on the simulators."""
    group = ProductGroup.objects.create(name="Mail")
    product = Product.objects.create(group=group, name="Mail Pro", type=Product.Type.MAIL, module="smartermail")
    clients = Client.objects.bulk_create(
        [Client(company_name=f"Client {n}", first_name="B", last_name=f"Ench{n}", email=f"c{n}@bench.example",
                country="CA") for n in range(ARGS.domains // 4)], batch_size=1000,
    )
    servers = [
        Server.objects.create(name=f"sim{n}", module="smartermail", hostname="127.0.0.1", port=sim.port, use_tls=False,
                              username=sim.admin_username, password=sim.admin_password, settings={"read_timeout": 60})
        for n, sim in enumerate(simulators)
    ]
    rng = random.Random(5)
    services, seeds = [], [[] for _ in simulators]
    for n in range(ARGS.domains):
        domain = f"domain{n:05d}.example"
        slot = n % len(servers)
        status = Service.Status.SUSPENDED if n % 20 == 0 else Service.Status.ACTIVE
        services.append(Service(client=clients[n % len(clients)], product=product, domain=domain, status=status,
                                server=servers[slot], username=f"admin@{domain}"))
        seeds[slot].append({"name": domain, "admin_password": "bench-pass-1", "size": rng.randrange(0, 20_000) * MB})
    Service.objects.bulk_create(services, batch_size=1000)
    for simulator, rows in zip(simulators, seeds):
        simulator.seed({"domains": rows})
    return servers


def grow(simulators, rng):
    for simulator in simulators:
        with simulator.lock:
            for domain in simulator.domains.values():
                domain.size += rng.randrange(0, 50) * MB


def run_once(servers, day):
    """Update every server's usage, in parallel threads (or one after the other); returns the wall time."""
    errors = []

    def update(server):
        try:
            update_server_usage(server_id=server.pk, run_date=day)
        except Exception as exc:  # noqa: BLE001 - reported after the run
            errors.append(exc)
        finally:
            connections.close_all()

    started = time.perf_counter()
    if ARGS.sequential:
        for server in servers:
            update(server)
    else:
        threads = [threading.Thread(target=update, args=(server,)) for server in servers]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    elapsed = time.perf_counter() - started
    if errors:
        raise SystemExit(f"A server failed: {errors[0]!r}")
    return elapsed


def main():
    if ARGS.database_url.startswith("mysql"):
        recreate_mysql_database(ARGS.database_url)
    call_command("migrate", verbosity=0)
    simulators = [SmarterMailSimulator(latency_ms=ARGS.latency_ms).start() for _ in range(ARGS.servers)]
    try:
        started = time.perf_counter()
        servers = build(simulators)
        print(f"Built {ARGS.domains:,} services on {ARGS.servers} simulated servers in "
              f"{time.perf_counter() - started:.1f} s ({connection.vendor}).")
        rng = random.Random(7)
        timings = []
        for run in range(ARGS.runs):
            forget_tokens()  # each run logs in again, as a fresh worker would
            grow(simulators, rng)
            timings.append(run_once(servers, FIRST_DAY + timedelta(days=run)))
            print(f"run {run + 1}: {timings[-1]:.2f} s")
        updated = Service.objects.filter(usage_updated_at__isnull=False).count()
        samples = UsageSample.objects.count()
        provider_calls = sum(sim.calls_to("settings/sysadmin/domains") for sim in simulators)
        assert updated == ARGS.domains and samples == ARGS.domains * ARGS.runs, (updated, samples)
        mode = "one after the other" if ARGS.sequential else "in parallel (one thread per server)"
        print(f"Median of {ARGS.runs}: {statistics.median(timings):.2f} s for {ARGS.domains:,} domains on "
              f"{ARGS.servers} servers, {ARGS.latency_ms:g} ms per call, servers {mode}, {connection.vendor}; "
              f"{provider_calls} usage calls in all ({provider_calls // ARGS.runs} per run), {samples:,} history rows.")
    finally:
        for simulator in simulators:
            simulator.stop()


if __name__ == "__main__":
    main()
