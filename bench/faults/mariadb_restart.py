"""Fault injection, run 3 (hardening issue, item 9): MariaDB killed (SIGKILL, crash recovery at the restart)
during invoice generation and during a CDR import, then each job run again. The job must fail cleanly or
resume: no partial invoice, no period billed twice, no call charged twice or lost.

A private MariaDB (own data directory, --port), never the shared server. --clients clients with --per-client due
services each. `generate_invoices` runs in a child process; once --kill-at of the invoices exist, the server gets
SIGKILL; the child must end with a database error. The server is started again and generation run again in a
new child. Checked: every invoice's subtotal and total equal the sum of its lines and it has lines; each due
service has exactly one line for its period (no duplicate period key); one invoice per client; each service's
next invoice date moved exactly one cycle; invoice numbers unique.

Then --cdrs calls of --voip-services prepaid VoIP services in one portal-format file, imported through the real
upload pipeline (`process_upload`) in a child process; once --kill-at of them are stored the server gets SIGKILL.
After the restart the import is still "running" (its worker died with the server): the stale-import sweeper
settles it (charges what it stored), and the same file is uploaded again (the calls already stored are skipped).
Checked: every call of the file stored once; per service, the ledger's CDR charges equal the sum of its rated
calls' costs; one ledger entry per import and service.

    .venv/bin/python bench/faults/mariadb_restart.py [--clients 6000] [--per-client 3] [--kill-at 0.3]
        [--port 3317]
"""
import argparse
import subprocess
import sys
import time
from datetime import date, timedelta
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
    parser.add_argument("--cdrs", type=int, default=60_000)
    parser.add_argument("--voip-services", type=int, default=300)
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


def row_count(table):
    """The rows of `table`, or None when the server is gone (the connection is then closed: the next call
    connects afresh)."""
    from django.db import connection

    try:
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT COUNT(*) FROM {table}")
            return cursor.fetchone()[0]
    except Exception:  # noqa: BLE001 - the server is down: the caller decides
        connection.close()
        return None


def generate():
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


def build_voip(path, services, cdrs):
    """A 2,000-prefix deck, `services` prepaid VoIP services (one DID each) and a file of `cdrs` calls."""
    import random
    from datetime import UTC, datetime, timedelta

    from bench.rate_cdrs import generate_deck, number_pool
    from billing.models import Product, ProductGroup, Service
    from portal.activity import Actor
    from portal.models import Client
    from provisioning.telephony.text import OPEN_INPUT
    from voip.models import CdrSource, RatePackage, VoipProduct
    from voip.services.decks import import_deck

    rng = random.Random(9)
    area_codes, countries = generate_deck(path.with_suffix(".deck"), 2000, rng)
    package = RatePackage.objects.create(name="Faults deck")
    with open(path.with_suffix(".deck"), **OPEN_INPUT) as lines:
        assert import_deck(package=package, lines=lines, replace=True, skip_bad_rows=False,
                           actor=Actor.system("faults")).ok
    product = Product.objects.create(group=ProductGroup.objects.create(name="VoIP"), name="VoIP", type="voip",
                                     module="", module_options={"default_region": "US", "local_npa": ["212"]})
    VoipProduct.objects.create(product=product, rate_package=package)
    clients = Client.objects.bulk_create([Client(first_name="V", last_name=f"Oip{n}", email=f"v{n}@faults.example",
                                                 country="US") for n in range(services)])
    dids = [f"1646{n // 10000 + 200:03d}{n % 10000:04d}" for n in range(services)]
    Service.objects.bulk_create([
        Service(client=c, product=product, domain=f"t{n}.faults.example", status="active", next_invoice_date=NEXT,
                module_data={"tenant": f"t{n}.faults.example", "dids": [did]})
        for n, (c, did) in enumerate(zip(clients, dids))])
    pool = number_pool(5000, area_codes, countries, rng)
    start = datetime(2026, 11, 1, tzinfo=UTC)
    with open(path, "w", encoding="utf-8") as out:
        out.write("id,direction,caller,callee,answer_time,billsec,disposition\n")
        for i in range(cdrs):
            moment = (start + timedelta(seconds=i * 3)).strftime("%Y-%m-%dT%H:%M:%SZ")
            billsec = min(int(rng.expovariate(1 / 180)) + 1, 14_400)
            out.write(f'c{i},outbound,{rng.choice(dids)},"{rng.choice(pool)}",{moment},{billsec},ANSWERED\n')
    return CdrSource.objects.create(name="Faults", kind=CdrSource.Kind.FILE)


IMPORT_CHILD = """
import django
django.setup()
from voip.services.uploads import process_upload
result = process_upload(import_id={import_id})
print(result.status, result.message, flush=True)
"""


def upload(source, path):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from voip.services.uploads import upload_cdr_file

    cdr_import = upload_cdr_file(source=source, uploaded_file=SimpleUploadedFile("faults.csv", path.read_bytes()),
                                 file_format="portal")
    return cdr_import, subprocess.Popen([sys.executable, "-c", IMPORT_CHILD.format(import_id=cdr_import.pk)],
                                        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def cdr_import_crash(server, args):
    import tempfile

    from django.db import connection
    from django.utils import timezone

    from voip.models import CdrImport
    from voip.services.imports import settle_stale_imports, stale_after

    path = Path(tempfile.mkdtemp(prefix="faults-cdrs-")) / "cdrs.csv"
    source = build_voip(path, args.voip_services, args.cdrs)
    first, child = upload(source, path)
    target = int(args.cdrs * args.kill_at)
    while (count := row_count("voip_cdr")) is not None and count < target and child.poll() is None:
        time.sleep(0.02)
    if child.poll() is not None:
        raise SystemExit(f"The import ended before the kill ({count} calls): {child.communicate()}")
    server.kill()
    out, err = child.communicate(timeout=120)
    print(f"MariaDB killed with {count} of {args.cdrs} calls stored; the import exited {child.returncode}: "
          f"{((err or out).strip().splitlines() or ['(none)'])[-1][:200]}")
    server.start()
    connection.close()
    first.refresh_from_db()
    stored = row_count("voip_cdr")
    settled = settle_stale_imports(now=timezone.now() + stale_after() + timedelta(minutes=1))
    first.refresh_from_db()
    print(f"after crash recovery: {stored} calls stored, import #{first.pk} {first.status}; the sweeper settled "
          f"{settled}: charged {first.charged}")
    second, child = upload(source, path)
    out, err = child.communicate(timeout=900)
    assert child.returncode == 0, err[-2000:]
    second.refresh_from_db()
    print(f"the same file uploaded again: {second.status}, {second.inserted} inserted, {second.duplicates} "
          f"duplicates, charged {second.charged}")
    checked = check_cdrs(args.cdrs)
    print(f"mariadb restart during a CDR import: {args.cdrs} calls of {args.voip_services} services, 1 server crash "
          f"with {count} stored; {checked} calls and {args.voip_services} service ledgers checked: every call stored "
          f"once and charged once (ledger = sum of the rated calls per service), "
          f"{CdrImport.objects.count()} imports")


def check_cdrs(cdrs):
    from django.db.models import Count, Sum

    from billing.models import CreditLedgerEntry
    from voip.models import Cdr
    from voip.money import exact_sum

    problems = []
    if Cdr.objects.count() != cdrs or Cdr.objects.values("external_id").distinct().count() != cdrs:
        problems.append(f"{Cdr.objects.count()} calls stored for {cdrs} in the file")
    costs = {row["service_id"]: exact_sum(row["total"]) for row in Cdr.objects.filter(status="rated")
             .values("service_id").annotate(total=Sum("cost"))}
    entries = CreditLedgerEntry.objects.filter(kind=CreditLedgerEntry.Kind.CDR_CHARGES)
    charged = {row["service_id"]: -exact_sum(row["total"]) for row in entries.values("service_id")
               .annotate(total=Sum("amount"))}
    problems += [f"service {pk}: calls cost {cost}, charged {charged.get(pk)}" for pk, cost in costs.items()
                 if cost and charged.get(pk) != cost]
    keys = entries.values("idempotency_key").annotate(n=Count("pk")).filter(n__gt=1).count()
    if keys:
        problems.append(f"{keys} ledger keys used twice")
    if problems:
        raise AssertionError("\n".join(problems[:30]))
    return Cdr.objects.count()


def main():
    args = parse_args()
    server = PrivateMariaDB(args.port).start()
    try:
        setup_django(server.url("portal_faults"), "")
        build(args.clients, args.per_client)
        from django.db import connection

        connection.close()
        child = generate()
        target = int(args.clients * args.kill_at)
        while (count := row_count("billing_invoice")) is not None and count < target and child.poll() is None:
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
        survived = row_count("billing_invoice")
        print(f"after crash recovery: {survived} invoices committed before the kill survived")
        child = generate()
        out, err = child.communicate(timeout=600)
        assert child.returncode == 0, err[-2000:]
        print(f"generation run again: {out.strip()}")
        invoices, lines = check(args.clients, args.per_client)
        print(f"mariadb restart during invoice generation: {args.clients * args.per_client} due services over "
              f"{args.clients} clients, 1 server crash with {count} invoices written; {invoices} invoices and "
              f"{lines} service lines checked: every total equals its lines, no period billed twice, no partial "
              f"invoice")
        cdr_import_crash(server, args)
    finally:
        server.remove()


if __name__ == "__main__":
    main()
