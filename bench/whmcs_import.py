"""WHMCS import benchmark (issue 18): a WHMCS-shaped MariaDB database of 10,000 clients (each with a login),
40,000 services, 200,000 invoices (half taxed: 120,000 tax lines) with 400,000 items and 150,000 transactions, plus
credit history and two tax rules, built with bulk INSERTs (tests/whmcs_import/schema.sql), then imported by `whmcs_import.importer.run_import` into a fresh
portal database on MariaDB. Prints the time of the import (and per step), the rows written and the process's
peak memory (resource.getrusage maxrss); optionally times a second run (nothing changed: the re-run path).

    .venv/bin/python bench/whmcs_import.py [--clients 10000] [--rerun]
        [--source-url mysql://root@127.0.0.1:3306/whmcs_importer_bench]
        [--database-url mysql://root@127.0.0.1:3306/portal_importer_bench]
"""
import argparse
import os
import random
import resource
import sys
import time
from datetime import date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.voip_common import setup_django  # noqa: E402
from tests.whmcs_import.builder import create_database, insert  # noqa: E402

Z = "0000-00-00"
# Half the invoices are taxed (both items): HST 13%, and every tenth one also a 1% level 2 on the same base.
INVOICE_TAX = [
    {"tax": "0.00", "tax2": "0.00", "total": "20.00", "taxrate": "0", "taxrate2": "0"},
    {"tax": "2.60", "tax2": "0.00", "total": "22.60", "taxrate": "13.000", "taxrate2": "0"},
    {"tax": "2.60", "tax2": "0.20", "total": "22.80", "taxrate": "13.000", "taxrate2": "1.000"},
]


def _taxed(invoice):
    """0: untaxed, 1: level 1 only, 2: both levels."""
    return 0 if invoice % 2 else (2 if invoice % 10 == 0 else 1)


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=10_000, help="Services ×4, invoices ×20, items ×40, "
                        "transactions ×15 of this.")
    parser.add_argument("--source-url", default="mysql://root@127.0.0.1:3306/whmcs_importer_bench")
    parser.add_argument("--database-url", default="mysql://root@127.0.0.1:3306/portal_importer_bench")
    parser.add_argument("--rerun", action="store_true", help="Also time a second import (nothing changed).")
    parser.add_argument("--reuse-source", action="store_true", help="Keep the source database of an earlier run.")
    return parser.parse_args()


def build_source(url, clients):
    rng = random.Random(18)
    connection = create_database(url)
    started = time.monotonic()
    insert(connection, "tblcurrencies", [{"id": 1, "code": "USD", "default": 1}, {"id": 2, "code": "CAD", "default": 0}])
    insert(connection, "tblconfiguration", [{"setting": "AutoSuspension", "value": "on"},
                                            {"setting": "AutoSuspensionDays", "value": "5"}])
    insert(connection, "tblproductgroups", [{"id": 1, "name": "Email", "hidden": 0, "order": 1}])
    insert(connection, "tblproducts", [
        {"id": pid, "type": "hostingaccount", "gid": 1, "name": f"Mail {pid}", "paytype": "recurring",
         "autosetup": "payment", "servertype": "smartermail", "servergroup": 0, "configoption7": str(10 * pid),
         "hidden": 0} for pid in range(1, 6)])
    insert(connection, "tblpricing", [
        {"type": "product", "currency": 1, "relid": pid, "msetupfee": 0, "qsetupfee": 0, "ssetupfee": 0,
         "asetupfee": 0, "bsetupfee": 0, "tsetupfee": 0, "monthly": 5 * pid, "quarterly": -1, "semiannually": -1,
         "annually": 50 * pid, "biennially": -1, "triennially": -1} for pid in range(1, 6)])
    insert(connection, "tblclients", [
        {"id": c, "firstname": f"First{c}", "lastname": f"Last{c}", "companyname": f"Company {c}" if c % 3 else "",
         "email": f"client{c}@example.com", "address1": f"{c} Main Street", "city": "Toronto", "state": "ON",
         "postcode": "M5V 2T6", "country": "CA", "phonenumber": "+1.4165550100", "currency": 1 + (c % 10 == 0),
         "credit": "10.00" if c % 4 == 0 else "0.00", "taxexempt": int(c % 7 == 0), "groupid": 0,
         "datecreated": date(2015, 1, 1) + timedelta(days=c % 3000), "notes": "", "status": "Active",
         "language": ""} for c in range(1, clients + 1)])
    insert(connection, "tblusers", [
        {"id": c, "first_name": f"First{c}", "last_name": f"Last{c}", "email": f"client{c}@example.com",
         "password": "$2y$10$" + "abcdefghijklmnopqrstuv"[c % 22] * 53} for c in range(1, clients + 1)])
    insert(connection, "tblusers_clients", [{"auth_user_id": c, "client_id": c, "owner": 1}
                                            for c in range(1, clients + 1)])
    services = clients * 4
    insert(connection, "tblhosting", [
        {"id": s, "userid": 1 + (s - 1) // 4, "orderid": 0, "packageid": 1 + s % 5, "server": 0,
         "regdate": date(2018, 1, 1) + timedelta(days=s % 2000), "domain": f"domain{s}.example",
         "paymentmethod": "paypal", "firstpaymentamount": "5.00", "amount": "5.00", "billingcycle": "Monthly",
         "nextduedate": date(2026, 12, 1) + timedelta(days=s % 28), "nextinvoicedate": Z, "domainstatus":
         ("Active", "Active", "Active", "Suspended", "Terminated")[s % 5], "username": f"user{s}", "password": "",
         "notes": "", "suspendreason": "Overdue on Payment" if s % 5 == 3 else "", "diskusage": s % 5000,
         "disklimit": 10240} for s in range(1, services + 1)])
    invoices = clients * 20
    insert(connection, "tbltax", [{"level": 1, "name": "HST", "state": "ON", "country": "CA", "taxrate": "13.000"},
                                  {"level": 2, "name": "Levy", "state": "ON", "country": "CA", "taxrate": "1.000"}])
    insert(connection, "tblinvoices", [
        {"id": i, "userid": 1 + (i - 1) // 20, "invoicenum": "", "date": date(2020, 1, 1) + timedelta(days=i % 2000),
         "duedate": date(2020, 1, 8) + timedelta(days=i % 2000), "datepaid": datetime(2020, 1, 5) if i % 4 else Z,
         "subtotal": "20.00", "credit": "0.00", **INVOICE_TAX[_taxed(i)], "status": "Paid" if i % 4 else "Unpaid",
         "paymentmethod": "paypal", "notes": ""}
        for i in range(1, invoices + 1)])
    insert(connection, "tblinvoiceitems", [
        {"invoiceid": 1 + (n - 1) // 2, "userid": 1 + (n - 1) // 40, "type": "Hosting",
         "relid": 1 + ((n - 1) // 40) * 4 + rng.randrange(4), "description": f"Hosting item {n}", "amount": "10.00",
         "taxed": int(_taxed(1 + (n - 1) // 2) > 0), "duedate": Z, "paymentmethod": "paypal", "notes": ""}
        for n in range(1, invoices * 2 + 1)])
    transactions = clients * 15
    paid_invoices = [i for i in range(1, invoices + 1) if i % 4][:transactions]
    insert(connection, "tblaccounts", [
        {"userid": 1 + (i - 1) // 20, "currency": 0, "gateway": "paypal", "date": datetime(2020, 1, 5, 12),
         "description": "Invoice Payment", "amountin": "20.00", "fees": "0.88", "amountout": "0.00", "rate": "1",
         "transid": f"PP-{i}", "invoiceid": i, "refundid": 0} for i in paid_invoices])
    insert(connection, "tblcredit", [{"clientid": c, "date": date(2024, 1, 1), "description": "Manual credit",
                                      "amount": "10.00", "relid": 0} for c in range(4, clients + 1, 4)])
    connection.close()
    return time.monotonic() - started, {"clients": clients, "services": services, "invoices": invoices,
                                        "items": invoices * 2, "transactions": len(paid_invoices)}


def _cpu_seconds():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def main():
    args = parse_args()
    if args.reuse_source:
        build_seconds, sizes = 0.0, {"clients": args.clients}
    else:
        build_seconds, sizes = build_source(args.source_url, args.clients)
    print(f"source built in {build_seconds:.1f}s: " + ", ".join(f"{n:,} {what}" for what, n in sizes.items()))
    setup_django("whmcs-import-bench-", args.database_url)
    from whmcs_import.importer import run_import
    from whmcs_import.writer import Progress

    runs = [("import", False)] + ([("re-run", True)] if args.rerun else [])
    for label, _ in runs:
        started, cpu = time.monotonic(), _cpu_seconds()
        report = run_import(database_url=args.source_url, progress=Progress())
        seconds, cpu = time.monotonic() - started, _cpu_seconds() - cpu
        written = sum(c["created"] + c["updated"] for c in report.counts.values())
        print(f"{label}: {seconds:.1f}s ({cpu:.1f}s of CPU in this process; load average "
              f"{os.getloadavg()[0]:.1f}), {written:,} rows created or updated, {len(report.differences)} total "
              f"difference(s)")
        print("  steps: " + ", ".join(f"{step} {s:.1f}s" for step, s in report.seconds.items() if s >= 0.5))
    print(f"peak memory (maxrss): {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


if __name__ == "__main__":
    main()
