"""What each load-test endpoint asks of the database (issue 20), one request at a time on the load data: the
number of queries, their time, the request's time and the slowest statement — where a slow page's time goes,
without the noise of the load test. Full-table COUNT(*)s are marked.

    .venv/bin/python bench/load/queries.py [--database-url mysql://root@127.0.0.1:3306/portal_load] [--explain]
"""
import argparse
import cProfile
import io
import json
import os
import pstats
import re
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default="mysql://root@127.0.0.1:3306/portal_load")
    parser.add_argument("--explain", action="store_true", help="EXPLAIN the slowest statement of each endpoint")
    parser.add_argument("--only", default="", help="endpoints whose name contains this")
    parser.add_argument("--profile", type=int, default=0, metavar="N",
                        help="also profile each endpoint (cProfile, 5 requests) and print its N costliest functions")
    return parser.parse_args()


ARGS = parse_args()
os.environ.update(DATABASE_URL=ARGS.database_url, ALLOWED_HOSTS="testserver", DJANGO_SETTINGS_MODULE="config.settings", LOG_LEVEL="ERROR",
                  **json.loads((HERE / "var" / "secrets.json").read_text()))
import django  # noqa: E402

django.setup()
from django.contrib.auth.models import User  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

FIXTURE = json.loads((HERE / "var" / "fixture.json").read_text())
FULL_COUNT = re.compile(r"SELECT COUNT\(\*\) AS `__count` FROM `\w+`\s*$")


def endpoints():
    plain, big = FIXTURE["plain"][0], FIXTURE["voip_big"][0]
    voip = f"/services/{big['voip_service']}"
    month = "start=2026-11-01&end=2026-11-30"
    client = ("client", plain["client"])
    return [
        ("client: dashboard", client, "/"),
        ("client: services", client, "/services/"),
        ("client: invoices", client, "/invoices/"),
        ("client: invoice PDF", client, f"/invoices/{plain['invoices'][0]}/pdf/"),
        ("voip big: dashboard", ("client", big["client"]), "/"),
        ("voip big: calls, 30 days", ("client", big["client"]), f"{voip}/calls/"),
        ("voip big: calls, filtered", ("client", big["client"]), f"{voip}/calls/?{month}&direction=inbound&number=1212"),
        ("voip big: calls, page 5", ("client", big["client"]), f"{voip}/calls/?{month}&page=5"),
        ("voip big: month CSV", ("client", big["client"]), f"{voip}/calls.csv?{month}"),
        ("staff: services", ("staff",), "/admin/billing/service/"),
        ("staff: services, search", ("staff",), "/admin/billing/service/?q=client12345"),
        ("staff: services, filtered", ("staff",), "/admin/billing/service/?status__exact=suspended&product__type__exact=mail"),
        ("staff: service page", ("staff",), f"/admin/billing/service/{FIXTURE['services'][3]}/change/"),
        ("staff: invoices", ("staff",), "/admin/billing/invoice/"),
        ("staff: invoices, unpaid", ("staff",), "/admin/billing/invoice/?status__exact=unpaid"),
        ("staff: invoices, search", ("staff",), "/admin/billing/invoice/?q=LOAD-0123456"),
        ("staff: clients", ("staff",), "/admin/portal/client/"),
        ("staff: clients, search", ("staff",), "/admin/portal/client/?q=Last12345"),
        ("staff: call records", ("staff",), "/admin/voip/cdr/"),
        ("staff: call records, filtered", ("staff",), "/admin/voip/cdr/?direction__exact=inbound&status__exact=rated"),
        ("staff: call records, search", ("staff",), "/admin/voip/cdr/?q=c123456"),
        ("staff: audit log", ("staff",), "/admin/portal/activitylog/"),
        ("staff: audit log, filtered", ("staff",), "/admin/portal/activitylog/?action__exact=service.suspend"),
        ("staff: audit log, one client", ("staff",), f"/admin/portal/activitylog/?q={FIXTURE['clients'][5]}"),
        ("REST clients", ("api",), "/api/v1/clients/?limit=50&offset=10000"),
        ("REST services", ("api",), "/api/v1/services/?limit=50&offset=2500"),
        ("REST invoices", ("api",), "/api/v1/invoices/?limit=50&offset=2500"),
        ("REST call records", ("api",), "/api/v1/cdrs/?limit=100&offset=1000"),
        ("REST activity", ("api",), "/api/v1/activity/?limit=100"),
        ("api.php GetClients", ("whmcs", {"action": "GetClients", "limitstart": 10000, "limitnum": 25}), ""),
        ("api.php GetClientsProducts", ("whmcs", {"action": "GetClientsProducts", "clientid": FIXTURE["clients"][5]}), ""),
        ("api.php GetInvoices", ("whmcs", {"action": "GetInvoices", "limitstart": 2500, "limitnum": 25, "status": "Unpaid"}), ""),
    ]


def request(who, path):
    browser = Client()
    kind = who[0]
    if kind == "client":
        browser.force_login(User.objects.get(client_user__client_id=who[1]))
    elif kind == "staff":
        browser.force_login(User.objects.get(username="loadstaff"))
    if kind == "api":
        return lambda: browser.get(path, HTTP_AUTHORIZATION=f"Bearer {FIXTURE['api_identifier']}.{FIXTURE['api_secret']}")
    if kind == "whmcs":
        data = {"identifier": FIXTURE["api_identifier"], "secret": FIXTURE["api_secret"], "responsetype": "json", **who[1]}
        return lambda: browser.post("/includes/api.php", data)
    return lambda: browser.get(path)


def print_profile(fetch, top):
    """Where a request's Python time goes: cumulative time per function over 5 requests."""
    profile = cProfile.Profile()
    profile.runcall(lambda: [fetch() for _ in range(5)])
    out = io.StringIO()
    pstats.Stats(profile, stream=out).sort_stats("cumulative").print_stats(top)
    print("\n".join("      " + line for line in out.getvalue().splitlines() if line.strip()))


def main():
    print(f"{'endpoint':34} {'status':>6} {'queries':>7} {'SQL ms':>8} {'total ms':>8}  slowest statement")
    for name, who, path in endpoints():
        if ARGS.only and ARGS.only not in name:
            continue
        fetch = request(who, path)
        fetch()  # warm: caches, the first connection
        with CaptureQueriesContext(connection) as queries:
            started = time.perf_counter()
            response = fetch()
            if response.streaming:
                b"".join(response.streaming_content)
            elapsed = (time.perf_counter() - started) * 1000
        sql_ms = sum(float(query["time"]) for query in queries.captured_queries) * 1000
        slowest = max(queries.captured_queries, key=lambda query: float(query["time"]), default={"sql": "", "time": 0})
        full_counts = sum(bool(FULL_COUNT.match(query["sql"])) for query in queries.captured_queries)
        note = f" [{full_counts} full-table COUNT(*)]" if full_counts else ""
        print(f"{name:34} {response.status_code:>6} {len(queries):>7} {sql_ms:>8.1f} {elapsed:>8.1f}  "
              f"{float(slowest['time']) * 1000:.1f} ms: {slowest['sql'][:220]}{note}", flush=True)
        if ARGS.profile:
            print_profile(fetch, ARGS.profile)
        if ARGS.explain and slowest["sql"]:
            with connection.cursor() as cursor:
                cursor.execute("EXPLAIN " + slowest["sql"])
                for row in cursor.fetchall():
                    print("      ", row)


if __name__ == "__main__":
    main()
