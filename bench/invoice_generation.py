"""Invoice generation benchmark (issue 3): 100,000 services of which 10,000 are due, on MariaDB.

Builds the data with bulk inserts into its own database (default mysql://root@127.0.0.1:3306/billingbench, or
$BENCH_DATABASE_URL), then times `billing.services.generation.generate_invoices(date=…)` and counts its
queries, median of 3 runs (the data is reset between runs). Two more data sets, half the services with the same
number due and the same services with half as many due, show that the number of queries depends on the due
clients (a fixed number per batch of 500), not on the number of services. E-mail dispatch to Celery is stubbed (the EmailLog rows are still written): the
benchmark measures billing, not the broker.

    .venv/bin/python bench/invoice_generation.py [--services 100000] [--due 10000] [--runs 3]
"""
import argparse
import os
import statistics
import sys
import tempfile
import time
from datetime import date
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ["DATABASE_URL"] = os.environ.get("BENCH_DATABASE_URL", "mysql://root@127.0.0.1:3306/billingbench")
os.environ.setdefault("PORTAL_VAR_DIR", tempfile.mkdtemp(prefix="bench-invoices-"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("LOG_LEVEL", "WARNING")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402

from billing import emails  # noqa: E402
from billing.models import (  # noqa: E402
    AutomationSettings,
    CreditLedgerEntry,
    EmailLog,
    Invoice,
    InvoiceItem,
    NumberSequence,
    Product,
    ProductGroup,
    Service,
)
from billing.services.generation import generate_invoices  # noqa: E402
from portal.models import ActivityLog, Client  # noqa: E402

RUN_DATE = date(2026, 11, 20)
DUE = date(2026, 12, 1)
LATER = date(2027, 6, 1)
SERVICES_PER_CLIENT = 4


def create_database():
    import MySQLdb

    settings = connection.settings_dict
    conn = MySQLdb.connect(host=settings["HOST"] or "127.0.0.1", port=int(settings["PORT"] or 3306),
                           user=settings["USER"], passwd=settings["PASSWORD"] or "")
    conn.cursor().execute(f"CREATE DATABASE IF NOT EXISTS `{settings['NAME']}` CHARACTER SET utf8mb4")
    conn.close()


def build(services, due):
    """`services` services over services/4 clients; `due` of them (spread over the clients) due on DUE."""
    for model in (EmailLog, ActivityLog, CreditLedgerEntry, InvoiceItem, Invoice, Service, Client, Product, ProductGroup):
        model.objects.all().delete()
    settings = AutomationSettings.load()
    settings.invoice_days_before_due = 14
    settings.save()
    group = ProductGroup.objects.create(name="Bench")
    products = [
        Product.objects.create(group=group, name="Mail Basic", type="mail"),
        Product.objects.create(
            group=group, name="Mail Tranches", type="mail",
            module_options={"disk_tranche_size_gb": "5", "disk_tranche_price": "2.50", "disk_included_gb": "10"},
        ),
    ]
    client_count = services // SERVICES_PER_CLIENT
    Client.objects.bulk_create(
        [Client(first_name="Bench", last_name=f"Client{n}", email=f"bench{n}@example.com", country="CA")
         for n in range(client_count)],
        batch_size=5000,
    )
    client_ids = list(Client.objects.order_by("pk").values_list("pk", flat=True))
    step = services // due  # every step-th service is due: the due ones are spread over many clients
    rows = []
    for n in range(services):
        is_due = n % step == 0 and n // step < due
        pointer = DUE if is_due else LATER
        rows.append(Service(
            client_id=client_ids[n // SERVICES_PER_CLIENT], product=products[(n // SERVICES_PER_CLIENT) % 2], domain=f"d{n}.example",
            status="active", recurring_amount=Decimal("12.00"), registration_date=date(2025, pointer.month, 1),
            next_due_date=pointer, next_invoice_date=pointer, disk_usage_mb=Decimal(n % 30_000),
        ))
        if len(rows) == 10_000:
            Service.objects.bulk_create(rows)
            rows = []
    Service.objects.bulk_create(rows)


def reset_run():
    """Undo one generation run: delete what it wrote, move the due services' pointer back."""
    for model in (EmailLog, ActivityLog, CreditLedgerEntry, InvoiceItem, Invoice):
        model.objects.all().delete()
    Service.objects.filter(next_invoice_date=date(2027, 1, 1)).update(next_invoice_date=DUE)
    NumberSequence.objects.filter(name="invoice").update(next_value=1)


class QueryCounter:
    def __init__(self):
        self.count = 0

    def __call__(self, execute, sql, params, many, context):
        self.count += 1
        return execute(sql, params, many, context)


def measure():
    counter = QueryCounter()
    with connection.execute_wrapper(counter):
        started = time.perf_counter()
        result = generate_invoices(date=RUN_DATE)
        elapsed = time.perf_counter() - started
    return elapsed, counter.count, result


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--services", type=int, default=100_000)
    parser.add_argument("--due", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--no-variants", action="store_true",
                        help="Only the main scenario (not half the services, not half the due ones).")
    args = parser.parse_args()
    emails._dispatch = lambda ids: None  # no broker: the EmailLog rows are still written
    create_database()
    call_command("migrate", verbosity=0)
    print(f"database: {connection.vendor} {connection.settings_dict['NAME']}, cores: {os.cpu_count()}")

    scenarios = [(args.services, args.due, args.runs), (args.services // 2, args.due, 1), (args.services, args.due // 2, 1)]
    if args.no_variants:
        scenarios = scenarios[:1]
    for total, due, runs in scenarios:
        started = time.perf_counter()
        build(total, due)
        print(f"\n{total:,} services ({due:,} due) over {total // SERVICES_PER_CLIENT:,} clients built in "
              f"{time.perf_counter() - started:.1f} s")
        timings = []
        for run in range(runs):
            reset_run()
            elapsed, queries, result = measure()
            timings.append((elapsed, queries))
            print(f"  run {run + 1}: {elapsed:.2f} s, {queries} queries — {result.summary}")
        median = statistics.median(t for t, _ in timings)
        print(f"  median: {median:.2f} s; queries: {sorted({q for _, q in timings})}; "
              f"invoices {Invoice.objects.count():,}, lines {InvoiceItem.objects.count():,}")
        again_elapsed, again_queries, again = measure()
        print(f"  second run on the same day: {again_elapsed:.2f} s, {again_queries} queries — {again.summary}")


if __name__ == "__main__":
    main()
