"""The load test's runner (issue 20): starts gunicorn as production runs it (PORTAL_ENV=production, MariaDB,
Redis as cache, whitenoise's manifest of static files), then runs locust headless for a fixed time at each user
count and writes, per endpoint, p50/p95/p99 and requests/s, with the machine's load average beside them.

    .venv/bin/python bench/load/run.py [--users 10 25 50] [--run-time 60] [--web-workers 3]
        [--database-url mysql://root@127.0.0.1:3306/portal_load] [--redis-url redis://127.0.0.1:6379/12]

The data comes from bench/load/build_data.py (same database, its fixture and secrets in bench/load/var/).
Results: bench/load/var/results-<users>.csv (locust's own) and results.md (the tables for docs/benchmarks.md).
"""
import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import psutil  # comes with locust

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
VAR = HERE / "var"
BIN = Path(sys.executable).parent
TARGET_P95_MS = 100


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, nargs="+", default=[10, 25, 50])
    parser.add_argument("--run-time", type=int, default=60, help="seconds of each run")
    parser.add_argument("--web-workers", type=int, default=3, help="gunicorn worker processes (WEB_CONCURRENCY)")
    parser.add_argument("--web-threads", type=int, default=1,
                        help="threads per gunicorn worker: 1 runs sync workers, as the Dockerfile does; more, gthread")
    parser.add_argument("--warm-up", type=int, default=20, metavar="SECONDS",
                        help="a first, unrecorded run at the first user count: each web process's first requests "
                        "(URL patterns, templates, connections) are not what a running server serves")
    parser.add_argument("--port", type=int, default=8077)
    parser.add_argument("--database-url", default="mysql://root@127.0.0.1:3306/portal_load")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/12")
    parser.add_argument("--label", default="", help="a name for this series in results.md")
    return parser.parse_args()


def production_environment(args):
    """The settings production reads (README's table), pointed at the load database; the sessions in the
    fixture were made with these secrets."""
    var_dir = tempfile.mkdtemp(prefix="bench-load-web-")
    return {
        **os.environ, **json.loads((VAR / "secrets.json").read_text()),
        "PORTAL_ENV": "production", "DATABASE_URL": args.database_url, "REDIS_URL": args.redis_url,
        "ALLOWED_HOSTS": "127.0.0.1,localhost", "EMAIL_URL": "consolemail://", "SECURE_SSL_REDIRECT": "false",
        "PORTAL_VAR_DIR": var_dir, "STATIC_ROOT": str(VAR / "static"), "LOG_LEVEL": "WARNING",
    }


def start_gunicorn(args, environment):
    if not (VAR / "static" / "staticfiles.json").exists():  # whitenoise's manifest, made once (a minute)
        subprocess.run([str(BIN / "python"), "manage.py", "collectstatic", "--no-input", "-v0"], cwd=ROOT,
                       env=environment, check=True)
    web = subprocess.Popen(
        [str(BIN / "gunicorn"), "config.wsgi:application", "--bind", f"127.0.0.1:{args.port}",
         "--workers", str(args.web_workers), "--worker-class", "gthread" if args.web_threads > 1 else "sync",
         "--threads", str(args.web_threads), "--timeout", "60", "--error-logfile", str(VAR / "gunicorn.log")],
        cwd=ROOT, env=environment,
    )
    for _ in range(120):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{args.port}/healthz", timeout=2)
            return web
        except OSError:
            time.sleep(0.5)
    web.terminate()
    raise SystemExit("gunicorn did not answer /healthz within a minute; see bench/load/var/gunicorn.log")


def web_cpu_seconds(web):
    """CPU time (user + system) of gunicorn's worker processes so far: the load test's machine is shared, so
    the web tier's CPU per request is the figure that does not depend on what else runs."""
    return sum(sum(child.cpu_times()[:2]) for child in psutil.Process(web.pid).children())


def run_locust(args, users, web, run_time=None, prefix=None):
    prefix = prefix or VAR / f"results-{users}"
    load_before = os.getloadavg()[0]
    cpu_before = web_cpu_seconds(web)
    subprocess.run(
        [str(BIN / "locust"), "-f", str(HERE / "locustfile.py"), "--headless", "--users", str(users),
         "--spawn-rate", str(users), "--run-time", f"{run_time or args.run_time}s", "--host", f"http://127.0.0.1:{args.port}",
         "--csv", str(prefix), "--only-summary", "--reset-stats", "--loglevel", "WARNING"],
        cwd=ROOT, check=False,
    )
    cpu = web_cpu_seconds(web) - cpu_before
    return read_stats(Path(f"{prefix}_stats.csv")), load_before, os.getloadavg(), cpu


def read_stats(path):
    rows = []
    with open(path, newline="") as lines:
        for row in csv.DictReader(lines):
            rows.append({"name": row["Name"], "requests": int(row["Request Count"]),
                         "failures": int(row["Failure Count"]), "p50": float(row["50%"] or 0),
                         "p95": float(row["95%"] or 0), "p99": float(row["99%"] or 0),
                         "rps": float(row["Requests/s"] or 0)})
    return rows


def table(users, rows, load_before, load_after, run_time, cpu):
    served = sum(row["requests"] for row in rows if row["name"] != "Aggregated")
    per_request = f"{cpu / served * 1000:.0f} ms" if served else "-"
    lines = [f"### {users} users, {run_time} s (load average 1 min: {load_before:.2f} before, "
             f"{load_after[0]:.2f} at the end; 5 min {load_after[1]:.2f}); gunicorn workers' CPU "
             f"{cpu:.1f} s = {per_request} a request", "",
             "| endpoint | requests | failures | p50 ms | p95 ms | p99 ms | requests/s |", "|---|---:|---:|---:|---:|---:|---:|"]
    for row in sorted(rows, key=lambda row: (row["name"] == "Aggregated", -row["p95"])):
        flag = " ⚠" if row["p95"] > TARGET_P95_MS else ""
        lines.append(f"| {row['name']}{flag} | {row['requests']:,} | {row['failures']:,} | {row['p50']:.0f} | "
                     f"{row['p95']:.0f} | {row['p99']:.0f} | {row['rps']:.1f} |")
    return "\n".join(lines)


def main():
    args = parse_args()
    fixture = json.loads((VAR / "fixture.json").read_text())
    environment = production_environment(args)
    web = start_gunicorn(args, environment)
    sections = [f"## {args.label or 'Load test'}: data {fixture['sizes']}, {args.web_workers} gunicorn workers × "
                f"{args.web_threads} threads, "
                f"{os.cpu_count()} CPUs, after a {args.warm_up} s warm-up"]
    try:
        if args.warm_up:
            run_locust(args, args.users[0], web, run_time=args.warm_up, prefix=VAR / "warm-up")
        for users in args.users:
            rows, load_before, load_after, cpu = run_locust(args, users, web)
            sections.append(table(users, rows, load_before, load_after, args.run_time, cpu))
            print(sections[-1], flush=True)
    finally:
        web.terminate()
        web.wait(timeout=30)
    out = VAR / "results.md"
    with open(out, "a") as results:
        results.write("\n\n".join(sections) + "\n\n")
    print(f"Appended to {out}")


if __name__ == "__main__":
    main()
