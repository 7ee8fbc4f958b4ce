"""Automatic charging benchmark (issue 15): 10,000 due invoices, each client with a saved card, charged by the
real periodic run (`payments.services.charge_due_invoices`: the set-based selection, the claims, the Stripe calls
on PAYMENT_CHARGE_THREADS threads through the stripe library within PAYMENT_RATE_LIMIT calls a second, every payment
recorded through billing in batches) against the Stripe simulator answering each call after 200 ms. One after the
other that would be 10,000 × 0.2 s ≈ 33 minutes. The simulator stands for a live-mode account (a live key, test
mode off), so the live-mode limit applies; the bench counts the PaymentIntent calls the simulator receives in each
second and prints the busiest second.

Each run starts from the same data (attempts, payments, audit and e-mail rows removed, invoices unpaid again, the
simulator's charges and idempotency keys forgotten); the figure is the median of the runs (3 by default). Data
is built with bulk inserts into a database of its own: a SQLite file in a temporary directory by default, or
MariaDB with `--database-url mysql://root@127.0.0.1:3306/chargebench` (or DATABASE_URL; created and emptied).
The hand-off of e-mails to Celery is stubbed (the e-mail rows are still written).

    .venv/bin/python bench/auto_charge.py [--invoices 10000] [--latency-ms 200] [--threads 32] [--rate 90] [--runs 3]
"""
import argparse
import os
import statistics
import sys
import time
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--invoices", type=int, default=10_000)
    parser.add_argument("--latency-ms", type=float, default=200)
    parser.add_argument("--threads", type=int, default=0, help="Default: PAYMENT_CHARGE_THREADS (32).")
    parser.add_argument("--rate", type=float, default=0, help="Calls a second. Default: PAYMENT_RATE_LIMIT (90).")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL", ""),
                        help="Default: DATABASE_URL if set, else SQLite in a temporary directory.")
    return parser.parse_args()


ARGS = parse_args()
from bench.voip_common import setup_django  # noqa: E402  (the one settings + migrate for the benches)

setup_django("bench-charge-", ARGS.database_url)

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils import timezone  # noqa: E402

from billing import emails  # noqa: E402
from billing.models import CreditLedgerEntry, EmailLog, Invoice, Payment  # noqa: E402
from payments import services  # noqa: E402
from payments.gateways.stripe.simulator import StripeSimulator  # noqa: E402
from payments.models import ChargeAttempt, GatewaySettings, PaymentMethod  # noqa: E402
from payments.ratelimit import RateLimiter  # noqa: E402
from portal.models import ActivityLog, Client  # noqa: E402

API_KEY = "sk_live_bench"


def build(sim, n):
    """n clients, each with one saved card at the simulator and one unpaid invoice due yesterday."""
    row = GatewaySettings(gateway="stripe", enabled=True, display_name="Card", test_mode=False,
                          options={"api_base": sim.url})
    row.set_secret_values({"secret_key": API_KEY, "webhook_secret": "whsec_bench"})
    row.save()
    clients = Client.objects.bulk_create(
        [Client(company_name=f"Bench Company {i}", first_name="B", last_name=f"Ench{i}", email=f"c{i}@bench.example",
                country="DE", currency="EUR") for i in range(n)], batch_size=1000)
    methods = []
    for client in clients:
        customer, method = sim.attach_card("4242424242424242")
        methods.append(PaymentMethod(client=client, gateway="stripe", customer_id=customer, method_id=method,
                                     brand="visa", last4="4242", exp_month=12, exp_year=2029, is_default=True))
    PaymentMethod.objects.bulk_create(methods, batch_size=1000)
    due = timezone.localdate() - timedelta(days=1)
    Invoice.objects.bulk_create([
        Invoice(client=c, number=f"BENCH-{i:06d}", currency="EUR", due_date=due,
                subtotal=Decimal(500 + i % 40000) / 100, total=Decimal(500 + i % 40000) / 100)
        for i, c in enumerate(clients)], batch_size=1000)


def reset(sim):
    for model in (ChargeAttempt, CreditLedgerEntry, EmailLog, ActivityLog, Payment):
        model.objects.all().delete()
    Invoice.objects.update(status=Invoice.Status.UNPAID, amount_paid=0, paid_at=None)
    with sim.lock:
        sim.intents, sim.charges, sim.balance_transactions, sim.idempotent = {}, {}, {}, {}
        sim.outbox, sim.calls = [], []


def count_charge_calls(sim):
    """Keep the time each call may start (its slot in the rate limit, as the limiter gave it) and the time the
    simulator receives each charge (it still answers every one). Returns (sent, received)."""
    sent, received, handle, acquire = [], [], sim.handle, RateLimiter.acquire

    def counted(request):
        if request.path.startswith("/v1/payment_intents"):
            received.append(time.monotonic())
        return handle(request)

    def timed_acquire(self):
        start = acquire(self)
        sent.append(start)
        return start

    sim.handle, RateLimiter.acquire = counted, timed_acquire
    return sent, received


def busiest_second(stamps):
    """The most calls that arrived within any one second."""
    stamps, most, first = sorted(stamps), 0, 0
    for last, stamp in enumerate(stamps):
        while stamp - stamps[first] >= 1:
            first += 1
        most = max(most, last - first + 1)
    return most


def main():
    emails._dispatch = lambda ids: None  # no broker: the EmailLog rows are still written
    threads = services.charge_threads(ARGS.threads or None)
    if ARGS.rate:
        settings.PAYMENT_RATE_LIMIT = ARGS.rate
    rate = settings.PAYMENT_RATE_LIMIT
    sim = StripeSimulator(api_key=API_KEY, webhook_secret="whsec_bench").start()
    try:
        started = time.perf_counter()
        build(sim, ARGS.invoices)
        print(f"built {ARGS.invoices:,} clients with a saved card and a due invoice in "
              f"{time.perf_counter() - started:.1f} s ({connection.vendor})", flush=True)
        with CaptureQueriesContext(connection) as selection:
            selected = len(list(services.due_for_charge(timezone.now())))
        print(f"selection: {selected:,} invoices in {len(selection)} queries", flush=True)
        sim.latency_ms = ARGS.latency_ms
        sent, received = count_charge_calls(sim)
        timings = []
        for run in range(ARGS.runs):
            reset(sim)
            sent.clear()
            received.clear()
            t = time.perf_counter()
            counts = services.charge_due_invoices(threads=threads)
            timings.append(time.perf_counter() - t)
            paid = Invoice.objects.filter(status=Invoice.Status.PAID).count()
            calls = sim.calls_to("/v1/payment_intents")
            print(f"run {run + 1}: {timings[-1]:.1f} s  {counts}  paid {paid:,}  Stripe calls {calls:,}  "
                  f"intents {len(sim.intents):,}  busiest second: {busiest_second(sent)} sent, "
                  f"{busiest_second(received)} received (limit {rate:g}/s)", flush=True)
            assert counts == {"succeeded": ARGS.invoices} and paid == ARGS.invoices, counts
            assert calls == len(sim.intents) == ARGS.invoices  # one call per invoice, each charged once
            assert Payment.objects.count() == ARGS.invoices
        floor = max(ARGS.invoices * ARGS.latency_ms / 1000 / threads, ARGS.invoices / rate)
        print(f"Median of {ARGS.runs}: {statistics.median(timings):.1f} s for {ARGS.invoices:,} invoices, "
              f"{ARGS.latency_ms:g} ms per call, {threads} call threads, {rate:g} calls/s (calls alone: "
              f"{floor:.1f} s; one after "
              f"the other: {ARGS.invoices * ARGS.latency_ms / 1000 / 60:.1f} min), {connection.vendor}; "
              f"runs: {', '.join(f'{t:.1f}' for t in timings)} s")
    finally:
        sim.stop()


if __name__ == "__main__":
    main()
