"""Fault injection, run 3 (hardening issue, item 9): MariaDB killed (SIGKILL, crash recovery at the restart)
during invoice generation, then generation run again. The job must fail cleanly or resume: no partial invoice,
no period billed twice.

A private MariaDB (own data directory, --port), never the shared server. --clients clients with --per-client due
services each. `generate_invoices` runs in a child process; once --kill-at of the invoices exist, the server gets
SIGKILL; the child must end with a database error. The server is started again and generation run again in a
new child. Checked: every invoice's subtotal and total equal the sum of its lines and it has lines; each due
service has exactly one line for its period (no duplicate period key); one invoice per client; each service's
next invoice date moved exactly one cycle; invoice numbers unique.

    .venv/bin/python bench/faults/mariadb_restart.py [--clients 6000] [--per-client 3] [--kill-at 0.3]
        [--port 3317]
"""
import argparse
import subprocess
import sys
import time
from datetime import date
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent.parent))

from bench.faults.common import ROOT, PrivateMariaDB, setup_django  # noqa: E402

RUN_DATE = date(2026, 11, 20)
DUE = date(2026, 12, 1)
NEXT = date(2027, 1, 1)
CHILD = """
import django
django.setup()
from datetime import date
from billing import emails
from billing.services.generation import generate_invoices
emails._dispatch = lambda ids: None  # no broker in this run: the EmailLog rows are still written
print(generate_invoices(date=date.fromisoformat({run_date!r})).summary, flush=True)
"""


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=6000)
    parser.add_argument("--per-client", type=int, default=3)
    parser.add_argument("--kill-at", type=float, default=0.3)
    parser.add_argument("--port", type=int, default=3317)
    return parser.parse_args()


def build(clients, per_client):
    from billing.models import AutomationSettings, Product, ProductGroup, Service
    from portal.models import Client

    settings = AutomationSettings.load()
    settings.invoice_days_before_due = 14
    settings.save()
    product = Product.objects.create(group=ProductGroup.objects.create(name="Mail"), name="Mail", type="mail")
    made = Client.objects.bulk_create(
        [Client(first_name="F", last_name=f"Ault{n}", email=f"c{n}@faults.example", country="CA")
         for n in range(clients)], batch_size=5000)
    Service.objects.bulk_create(
        [Service(client=client, product=product, domain=f"d{n}-{k}.example", status="active",
                 recurring_amount=Decimal("12.00") + k, registration_date=date(2025, 12, 1), next_due_date=DUE,
                 next_invoice_date=DUE) for n, client in enumerate(made) for k in range(per_client)],
        batch_size=5000)


def invoice_count():
    """Counted on a fresh connection each time: the server may be gone."""
    from django.db import connection

    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT COUNT(*) FROM billing_invoice")
            return cursor.fetchone()[0]
    except Exception:  # noqa: BLE001 - the server is down: the caller decides
        connection.close()
        return None


def generate(env_note):
    return subprocess.Popen([sys.executable, "-c", CHILD.format(run_date=RUN_DATE.isoformat())], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def check(clients, per_client):
    from django.db.models import Count, Q, Sum

    from billing.models import Invoice, InvoiceItem, Service

    problems = []
    invoices = Invoice.objects.annotate(lines=Count("items"), line_sum=Sum("items__amount"))
    for number, subtotal, total, lines, line_sum in invoices.values_list("number", "subtotal", "total", "lines",
                                                                          "line_sum"):
        if not lines or subtotal != line_sum or total != line_sum:
            problems.append(f"invoice {number}: {lines} lines summing {line_sum}, subtotal {subtotal}, total {total}")
    per_client_count = Invoice.objects.values("client_id").annotate(n=Count("pk")).filter(n__gt=1).count()
    if per_client_count:
        problems.append(f"{per_client_count} clients have more than one invoice")
    if Invoice.objects.count() != clients:
        problems.append(f"{Invoice.objects.count()} invoices for {clients} clients")
    service_lines = InvoiceItem.objects.filter(kind=InvoiceItem.Kind.SERVICE)
    twice = service_lines.values("service_id", "period_start").annotate(n=Count("pk")).filter(n__gt=1).count()
    if twice:
        problems.append(f"{twice} service periods billed more than once")
    if service_lines.count() != clients * per_client:
        problems.append(f"{service_lines.count()} service lines for {clients * per_client} due services")
    moved = Service.objects.filter(~Q(next_invoice_date=NEXT)).count()
    if moved:
        problems.append(f"{moved} services' next invoice date is not {NEXT}")
    if Invoice.objects.values("number").distinct().count() != Invoice.objects.count():
        problems.append("duplicate invoice numbers")
    if problems:
        raise AssertionError("\n".join(problems[:30]))
    return Invoice.objects.count(), service_lines.count()


def main():
    args = parse_args()
    server = PrivateMariaDB(args.port).start()
    try:
        setup_django(server.url("portal_faults"), "")
        build(args.clients, args.per_client)
        from django.db import connection

        connection.close()
        child = generate("first")
        target = int(args.clients * args.kill_at)
        while (count := invoice_count()) is not None and count < target and child.poll() is None:
            time.sleep(0.02)
        if child.poll() is not None:
            raise SystemExit(f"Generation ended before the kill ({count} invoices): {child.communicate()}")
        server.kill()
        out, err = child.communicate(timeout=120)
        last_error = (err.strip().splitlines() or ["(none)"])[-1]
        print(f"MariaDB killed with {count} of {args.clients} invoices written; generation exited "
              f"{child.returncode}: {last_error[:200]}")
        assert child.returncode != 0, "generation claimed success although its server died"
        server.start()
        connection.close()
        survived = invoice_count()
        print(f"after crash recovery: {survived} invoices committed before the kill survived")
        child = generate("again")
        out, err = child.communicate(timeout=600)
        assert child.returncode == 0, err[-2000:]
        print(f"generation run again: {out.strip()}")
        invoices, lines = check(args.clients, args.per_client)
        print(f"mariadb restart during invoice generation: {args.clients * args.per_client} due services over "
              f"{args.clients} clients, 1 server crash with {count} invoices written; {invoices} invoices and "
              f"{lines} service lines checked: every total equals its lines, no period billed twice, no partial "
              f"invoice")
    finally:
        server.remove()


if __name__ == "__main__":
    main()
