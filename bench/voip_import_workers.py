"""CDR imports on 2 and on 4 worker processes (issue 20, docs/scaling.md): several uploaded files imported at once
by real Celery workers that consume a queue of their own (CELERY_TASK_ROUTES sends voip.tasks.import_upload to
"voip-import"), over Redis, into MariaDB — the pipeline of bench/voip_import.py (parse, match, rate, insert,
debit), as a portal with separate import workers runs it.

Data (deterministic): a 36,000-prefix deck, 1,000 VoIP services, and `--files` portal-format files of `--cdrs`
calls each, every file its own source (so the imports do not wait on one another's unique keys). For each worker
count the files are uploaded at once and the time runs until every import is done.

    .venv/bin/python bench/voip_import_workers.py [--files 4] [--cdrs 50000] [--workers 2 4]
        [--database-url mysql://root@127.0.0.1:3306/portal_load_cdr] [--redis-url redis://127.0.0.1:6379/12]
"""
import argparse
import json
import os
import random
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.voip_common import build_voip_services, setup_django  # noqa: E402

QUEUE = "voip-import"
ROUTES = json.dumps({"voip.tasks.import_upload": {"queue": QUEUE}})


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=4)
    parser.add_argument("--cdrs", type=int, default=50_000, help="calls per file")
    parser.add_argument("--services", type=int, default=1_000)
    parser.add_argument("--prefixes", type=int, default=36_000)
    parser.add_argument("--workers", type=int, nargs="+", default=[2, 4])
    parser.add_argument("--database-url", default="mysql://root@127.0.0.1:3306/portal_load_cdr")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/12")
    return parser.parse_args()


ARGS = parse_args()
ENVIRONMENT = {"CELERY_BROKER_URL": ARGS.redis_url, "REDIS_URL": ARGS.redis_url, "CELERY_TASK_ROUTES": ROUTES}
OUT = setup_django("bench-voip-workers-", ARGS.database_url, **ENVIRONMENT)

from django.core.files.uploadedfile import SimpleUploadedFile  # noqa: E402

from config.celery import app  # noqa: E402
from voip.models import Cdr, CdrImport, CdrSource  # noqa: E402
from voip.services.uploads import upload_cdr_file  # noqa: E402


def build(rng):
    return build_voip_services(OUT / "deck.csv", prefixes=ARGS.prefixes, services=ARGS.services, rng=rng)


def write_file(path, dids, pool, rng):
    start = datetime(2026, 11, 1, tzinfo=UTC)
    with open(path, "w", encoding="utf-8") as out:
        out.write("id,direction,caller,callee,answer_time,billsec,disposition\n")
        for i in range(ARGS.cdrs):
            did, other = rng.choice(dids), rng.choice(pool)
            caller, callee, direction = (other, did, "inbound") if rng.random() < 0.15 else (did, other, "outbound")
            moment = (start + timedelta(seconds=i * 3)).strftime("%Y-%m-%dT%H:%M:%SZ")
            out.write(f'c{i},{direction},{caller},"{callee}",{moment},{rng.randrange(1, 900)},ANSWERED\n')


def start_workers(count):
    environment = {**os.environ, **ENVIRONMENT}
    workers = [subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "config", "worker", "-Q", QUEUE, "-c", "1", "-n", f"import{n}@%h",
         "-l", "WARNING", "--without-mingle", "--without-gossip"], cwd=Path(__file__).resolve().parent.parent,
        env=environment) for n in range(count)]
    deadline = time.monotonic() + 120
    while len(app.control.ping(timeout=1.0) or []) < count:
        if time.monotonic() > deadline:
            raise SystemExit("the workers did not answer within two minutes")
    return workers


def run(workers, files, run_number):
    processes = start_workers(workers)
    try:
        started = time.perf_counter()
        imports = []
        for n, path in enumerate(files):
            source = CdrSource.objects.create(name=f"Run {run_number} file {n}", kind=CdrSource.Kind.FILE)
            upload = SimpleUploadedFile(path.name, path.read_bytes())
            imports.append(upload_cdr_file(source=source, uploaded_file=upload, file_format="portal").pk)
        waiting = CdrImport.objects.filter(pk__in=imports).exclude(status__in=["done", "failed"])
        while waiting.exists():
            time.sleep(0.2)
        elapsed = time.perf_counter() - started
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=60)
    done = CdrImport.objects.filter(pk__in=imports)
    assert all(row.status == "done" for row in done), [(row.pk, row.status, row.errors[:2]) for row in done]
    inserted = sum(row.inserted for row in done)
    return elapsed, inserted


def main():
    rng = random.Random(7)
    started = time.perf_counter()
    dids, pool = build(rng)
    files = []
    for n in range(ARGS.files):
        files.append(OUT / f"cdrs-{n}.csv")
        write_file(files[-1], dids, pool, rng)
    print(f"Built {ARGS.services:,} services, a {ARGS.prefixes:,}-prefix deck and {ARGS.files} files of "
          f"{ARGS.cdrs:,} calls in {time.perf_counter() - started:.0f} s; load average {os.getloadavg()[0]:.1f}",
          flush=True)
    app.control.purge()
    for run_number, workers in enumerate(ARGS.workers):
        load = os.getloadavg()[0]
        elapsed, inserted = run(workers, files, run_number)
        print(f"{workers} worker processes (queue {QUEUE}): {ARGS.files} imports of {ARGS.cdrs:,} calls in "
              f"{elapsed:.1f} s = {inserted / elapsed:,.0f} CDRs/s ({inserted:,} stored; load average "
              f"{load:.1f} before, {os.getloadavg()[0]:.1f} after)", flush=True)
    print(f"{Cdr.objects.count():,} calls stored in all.")


if __name__ == "__main__":
    main()
