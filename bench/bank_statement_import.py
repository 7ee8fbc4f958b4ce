"""Bank statement import benchmark (issue 15, bank transfer): a 10,000-line camt.053 statement against 10,000
unpaid invoices, through the real code path (`payments.bank.matching.import_file`): parse the XML, find the lines
already imported, match set-based (RF reference, else amount and payer name), store the statement and its lines,
record each matched payment through billing's `payment_record` (invoice paid, due dates, audit, e-mail row).

The statement's lines: 70 % carry the invoice's RF reference in the structured field, 20 % typed into the free
text ("Payment rf71 2345 inv …"), 5 % only the exact amount and the client's name, 5 % match nothing (left for
staff). Each run starts from the same data (payments, lines, ledger, audit and e-mail rows removed, invoices
unpaid again) and times the whole import, and, separately, its parts; then the same file again (all duplicates:
nothing recorded). Figures are medians of --runs runs. E-mail dispatch to Celery is stubbed (the EmailLog rows
are still written).

    .venv/bin/python bench/bank_statement_import.py [--lines 10000] [--runs 3] [--database-url mysql://…]
"""
import argparse
import gc
import random
import statistics
import sys
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lines", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--database-url", default="", help="Default: SQLite in a temporary directory.")
    return parser.parse_args()


ARGS = parse_args()
from bench.voip_common import setup_django  # noqa: E402  (the one settings + migrate for the benches)

setup_django("bench-bank-", ARGS.database_url)

from django.contrib.auth import get_user_model  # noqa: E402
from django.db import connection  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from billing import emails  # noqa: E402
from billing.models import CreditLedgerEntry, EmailLog, Invoice, Payment  # noqa: E402
from billing.payment_reference import invoice_reference_display, rf_reference  # noqa: E402
from payments.bank.camt053 import parse_camt053  # noqa: E402
from payments.bank.matching import import_file, known_references, match_lines  # noqa: E402
from payments.models import BankStatement, StatementLine  # noqa: E402
from portal.activity import Actor  # noqa: E402
from portal.models import ActivityLog, Client  # noqa: E402
from tests.payments.camt import camt053  # noqa: E402


def build(n):
    clients = Client.objects.bulk_create(
        [Client(company_name=f"Bench Company {i}", first_name="B", last_name=f"Ench{i}", email=f"c{i}@bench.example",
                country="DE", currency="EUR") for i in range(n)], batch_size=1000)
    rng = random.Random(15)
    invoices = Invoice.objects.bulk_create([
        Invoice(client=c, number=f"BENCH-{i:06d}", currency="EUR", due_date="2026-12-01",
                subtotal=Decimal(rng.randint(500, 50000)) / 100, total=Decimal(rng.randint(500, 50000)) / 100)
        for i, c in enumerate(clients)], batch_size=1000)
    for inv in invoices:  # bulk_create gives no totals back as Decimals with two places
        inv.total = inv.total.quantize(Decimal("0.01"))
    Invoice.objects.bulk_update(invoices, ["total"], batch_size=1000)
    entries = []
    for i, (client, inv) in enumerate(zip(clients, invoices)):
        kind = i % 20
        entry = {"ref": f"BANK{i:08d}", "amount": f"{inv.total:.2f}", "ntry_ref": str(i + 1)}
        if kind < 14:
            entry.update(strd=rf_reference(inv.pk), name=f"Payer {i}")
        elif kind < 18:
            entry.update(ustrd=f"Payment {invoice_reference_display(inv).lower()} inv {inv.number}", name=f"Payer {i}")
        elif kind == 18:
            entry.update(name=client.company_name.upper(), ustrd="hosting")
        else:
            entry.update(name=f"Stranger {i}", ustrd="donation", amount="1.23")
        entries.append(entry)
    return camt053(entries, statement_id="BENCH-STMT")


def reset():
    for model in (StatementLine, BankStatement, CreditLedgerEntry, EmailLog, ActivityLog, Payment):
        model.objects.all().delete()
    Invoice.objects.update(status=Invoice.Status.UNPAID, amount_paid=0, paid_at=None)
    Client.objects.update(credit_balance=0)


def main():
    emails._dispatch = lambda ids: None  # no broker: the EmailLog rows are still written
    staff = get_user_model().objects.create_user("bench-staff", is_staff=True)
    actor = Actor.staff(staff)
    started = time.perf_counter()
    data = build(ARGS.lines)
    print(f"built {ARGS.lines} invoices and a camt.053 of {len(data) / 1e6:.1f} MB in {time.perf_counter() - started:.1f} s")
    timings = {"parse": [], "match": [], "import": [], "again": []}
    queries = {}
    for run in range(ARGS.runs):
        parsed = decisions = statement = again = None  # each run starts with what a fresh request holds
        reset()
        gc.collect()
        t = time.perf_counter()
        parsed = parse_camt053(data)
        timings["parse"].append(time.perf_counter() - t)
        t = time.perf_counter()
        with CaptureQueriesContext(connection) as match_queries:
            known_references(line.entry_reference for line in parsed.lines)
            decisions = match_lines(parsed.lines)
        timings["match"].append(time.perf_counter() - t)
        queries["match"] = len(match_queries)
        t = time.perf_counter()
        statement = import_file(data=data, format="camt053", actor=actor, filename="bench.xml")
        timings["import"].append(time.perf_counter() - t)
        t = time.perf_counter()
        again = import_file(data=data, format="camt053", actor=actor, filename="bench.xml")
        timings["again"].append(time.perf_counter() - t)
        print(f"run {run + 1}: parse {timings['parse'][-1]:.2f} s, match {timings['match'][-1]:.2f} s, "
              f"whole import {timings['import'][-1]:.2f} s ({statement.paid_count} paid, {statement.unmatched_count} "
              f"unmatched, {len(statement.errors)} errors), again {timings['again'][-1]:.2f} s "
              f"({again.duplicate_count} duplicates, {again.line_count} new)")
    matched = sum(1 for d in decisions if d.invoice)
    assert Payment.objects.count() == matched == statement.paid_count
    print(f"\nmedian of {ARGS.runs} runs, {ARGS.lines} lines on {connection.vendor}:")
    for name, values in timings.items():
        print(f"  {name:7s} {statistics.median(values):6.2f} s")
    print(f"  matching queries: {queries['match']} (for {len(parsed.lines)} lines); payments recorded: {matched}")
    reasons = StatementLine.objects.filter(statement=statement, state="unmatched").values_list("reason", flat=True)
    print(f"  unmatched: {len(reasons)} ({sorted(set(reasons))})")

if __name__ == "__main__":
    main()
