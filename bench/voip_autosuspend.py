"""VoIP autosuspend benchmark (issue 7): the five-minute sweep (`voip.services.autosuspend.run_sweep`) over
100,000 VoIP clients, each with one VoIP service, on MariaDB.

Data (bulk inserts): 100,000 clients with one active VoIP service each on a module whose calls take 50 ms
(bench/voip_bench_module.py); credits spread from 0.01 to 50.00; 5,000 clients with an unpaid invoice their
credit covers, 2,000 with an unpaid add-funds invoice (not a debt), 1,000 with "VoIP Suspended: No" and 500
with "Has VoIP Service" off (gated). Then 100 clients fall to zero credit, 100 owe more than their credit,
and 100 already suspended for VoIP credit have topped up: the first sweep suspends 200 services and
unsuspends 100 (provider calls on the thread pool), and the following sweeps find nothing to change — the
steady state every five minutes. Median of 3 steady sweeps; the sweep with changes is reported beside it.

    .venv/bin/python bench/voip_autosuspend.py [--clients 100000] [--runs 3] [--latency-ms 50]
        [--database-url mysql://root@127.0.0.1:3306/voipsweepbench]    # "sqlite": a temporary SQLite file
"""
import argparse
import random
import statistics
import sys
import time
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.voip_common import setup_django  # noqa: E402


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--latency-ms", type=float, default=50)
    parser.add_argument("--database-url", default="mysql://root@127.0.0.1:3306/voipsweepbench")
    return parser.parse_args()


ARGS = parse_args()
setup_django("bench-voip-sweep-", ARGS.database_url, PROVISIONING_MODULES="bench.voip_bench_module.BenchPbxModule",
             BENCH_PROVIDER_LATENCY_MS=str(ARGS.latency_ms))

from django.db import connection  # noqa: E402
from django.db.models import F  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils import timezone  # noqa: E402

from billing.models import Invoice, Product, ProductGroup, Service  # noqa: E402
from portal.models import Client  # noqa: E402
from voip.services import autosuspend  # noqa: E402

CHANGES = 100


def build(rng):
    count = ARGS.clients
    V = Client.VoipSuspended
    clients = Client.objects.bulk_create([
        Client(first_name="B", last_name=f"Ench{n}", email=f"c{n}@bench.example", country="CA",
               credit_balance=Decimal(rng.randint(1, 5000)) / 100, has_voip_service=n % 200 != 0,
               voip_suspended=V.NO if n % 100 == 1 else V.NONE)
        for n in range(count)
    ], batch_size=2000)
    group = ProductGroup.objects.create(name="VoIP")
    product = Product.objects.create(group=group, name="VoIP PBX", type=Product.Type.VOIP, module="benchpbx",
                                     module_options={"auto_suspend_mode": "gateway"})
    Service.objects.bulk_create([
        Service(client=client, product=product, domain=f"t{n}.bench.example", status=Service.Status.ACTIVE)
        for n, client in enumerate(clients)
    ], batch_size=2000)
    today = timezone.localdate()
    invoices = []
    for client in rng.sample(clients, min(5000, len(clients) // 4)):
        owed = min(client.credit_balance, Decimal("5.00"))
        invoices.append(Invoice(client=client, status=Invoice.Status.UNPAID, due_date=today, total=owed, subtotal=owed))
    for client in rng.sample(clients, min(2000, len(clients) // 10)):
        invoices.append(Invoice(client=client, kind=Invoice.Kind.ADD_FUNDS, status=Invoice.Status.UNPAID,
                                due_date=today, total=Decimal("100.00"), subtotal=Decimal("100.00")))
    Invoice.objects.bulk_create(invoices, batch_size=2000)
    return [client.pk for client in clients if client.has_voip_service and client.voip_suspended == V.NONE]


def make_changes(eligible, rng):
    """100 fall to zero, 100 owe more than their credit, 100 suspended for credit have topped up."""
    chosen = rng.sample(eligible, 3 * CHANGES)
    zero, owing, topped = chosen[:CHANGES], chosen[CHANGES:2 * CHANGES], chosen[2 * CHANGES:]
    Client.objects.filter(pk__in=zero).update(credit_balance=Decimal("0"))
    Invoice.objects.bulk_create([
        Invoice(client_id=pk, status=Invoice.Status.UNPAID, due_date=timezone.localdate(), total=Decimal("99.00"),
                subtotal=Decimal("99.00")) for pk in owing
    ])
    Client.objects.filter(pk__in=owing).update(credit_balance=Decimal("1.00"))
    Service.objects.filter(client_id__in=topped).update(
        status=Service.Status.SUSPENDED, suspend_reason=Service.SuspendReason.VOIP_CREDIT, suspend_mode="gateway",
        suspended_at=timezone.now(),
    )
    Client.objects.filter(pk__in=topped).update(credit_balance=F("credit_balance") + Decimal("10.00"))
    Invoice.objects.filter(client_id__in=topped, status=Invoice.Status.UNPAID).update(status=Invoice.Status.PAID)


def sweep():
    started = time.perf_counter()
    with CaptureQueriesContext(connection) as queries:
        result = autosuspend.run_sweep()
    return time.perf_counter() - started, result, len(queries)


def main():
    rng = random.Random(11)
    started = time.perf_counter()
    eligible = build(rng)
    print(f"Built {ARGS.clients:,} VoIP clients and services, {Invoice.objects.count():,} invoices in "
          f"{time.perf_counter() - started:.1f} s ({connection.vendor}).")
    elapsed, result, _ = sweep()
    print(f"first sweep on the fresh data: {elapsed:.2f} s ({result})")
    make_changes(eligible, rng)
    elapsed, result, queries = sweep()
    threads = autosuspend.call_threads()
    print(f"sweep with changes: {elapsed:.2f} s — {result}; {ARGS.latency_ms:g} ms per provider call, {threads} "
          f"thread(s); {queries} queries in this thread")
    assert (len(result.suspended), len(result.unsuspended), result.failed) == (2 * CHANGES, CHANGES, []), result
    timings = []
    for run in range(ARGS.runs):
        elapsed, result, queries = sweep()
        assert not result.suspended and not result.unsuspended, result
        timings.append(elapsed)
        print(f"steady sweep {run + 1}: {elapsed:.3f} s, {queries} queries")
    print(f"Median of {ARGS.runs} steady sweeps over {ARGS.clients:,} VoIP clients: {statistics.median(timings):.3f} s "
          f"({connection.vendor}).")


if __name__ == "__main__":
    main()
