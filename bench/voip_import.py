"""CDR import benchmark (issue 7): import + rate + debit into MariaDB through the real pipeline
(`voip.services.uploads.process_upload`: read the file, parse, match each call to its service, rate it with
the product's deck, bulk-insert with the unique (source, external id), one ledger entry per service).

Data (deterministic): a 36,000-prefix deck from bench/rate_cdrs.py's generator loaded into a rate package,
1,000 clients with one VoIP service each (tenant and DID in module_data), and a portal-format file of
200,000 CDRs: 85 % outbound from a service's DID to numbers of bench/rate_cdrs.py's pool (7-, 10-, 11-digit,
+1 and international forms), 15 % inbound to a service's DID, 12 % unanswered. Each run imports the file into
a new source (every call is new); the median of 3 is reported, then the same file again into the first source
(every call a duplicate: nothing stored, nothing charged).

    .venv/bin/python bench/voip_import.py [--cdrs 200000] [--services 1000] [--prefixes 36000] [--runs 3]
        [--database-url mysql://root@127.0.0.1:3306/voipbench]     # default; "sqlite" for a temporary SQLite file
"""
import argparse
import random
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.voip_common import build_voip_services, setup_django  # noqa: E402


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cdrs", type=int, default=200_000)
    parser.add_argument("--services", type=int, default=1_000)
    parser.add_argument("--prefixes", type=int, default=36_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--database-url", default="mysql://root@127.0.0.1:3306/voipbench")
    parser.add_argument("--profile", action="store_true", help="profile one import (cProfile) instead of timing")
    return parser.parse_args()


ARGS = parse_args()
OUT = setup_django("bench-voip-import-", ARGS.database_url)

from django.core.files.uploadedfile import SimpleUploadedFile  # noqa: E402
from django.db import connection  # noqa: E402
from django.db.models import Sum  # noqa: E402

from billing.models import CreditLedgerEntry  # noqa: E402
from voip.models import Cdr, CdrSource  # noqa: E402
from voip.money import exact_sum  # noqa: E402
from voip.services.uploads import process_upload, upload_cdr_file  # noqa: E402

SEED = 7


def build(rng):
    return build_voip_services(OUT / "deck.csv", prefixes=ARGS.prefixes, services=ARGS.services, rng=rng)


def generate_cdrs(path, dids, pool, rng):
    start = datetime(2026, 11, 1, tzinfo=UTC)
    with open(path, "w", encoding="utf-8") as out:
        out.write("id,direction,caller,callee,answer_time,billsec,disposition\n")
        for i in range(ARGS.cdrs):
            moment = (start + timedelta(seconds=i * 3)).strftime("%Y-%m-%dT%H:%M:%SZ")
            did = rng.choice(dids)
            if rng.random() < 0.15:
                direction, caller, callee = "inbound", rng.choice(pool), did
            else:
                direction, caller, callee = "outbound", did, rng.choice(pool)
            if rng.random() < 0.12:
                out.write(f"c{i},{direction},{caller},{callee},,0,NO ANSWER\n")
            else:
                billsec = min(int(rng.expovariate(1 / 180)) + 1, 14_400)
                out.write(f'c{i},{direction},{caller},"{callee}",{moment},{billsec},ANSWERED\n')


def import_file(source, path):
    upload = SimpleUploadedFile("bench.csv", path.read_bytes())
    cdr_import = upload_cdr_file(source=source, uploaded_file=upload, file_format="portal")
    started, cpu = time.perf_counter(), time.process_time()
    result = process_upload(import_id=cdr_import.pk)
    return time.perf_counter() - started, time.process_time() - cpu, result


def main():
    rng = random.Random(SEED)
    started = time.perf_counter()
    dids, pool = build(rng)
    path = OUT / "cdrs.csv"
    generate_cdrs(path, dids, pool, rng)
    print(f"Built {ARGS.services:,} VoIP services, a {ARGS.prefixes:,}-prefix deck and {ARGS.cdrs:,} CDRs "
          f"({path.stat().st_size / 1e6:.0f} MB) in {time.perf_counter() - started:.1f} s ({connection.vendor}).")
    if ARGS.profile:
        profile_one_import(path)
        return
    timings, sources = [], []
    for run in range(ARGS.runs):
        source = CdrSource.objects.create(name=f"Bench {run}", kind=CdrSource.Kind.FILE)
        sources.append(source)
        elapsed, cpu, result = import_file(source, path)
        timings.append(elapsed)
        print(f"run {run + 1}: {elapsed:.2f} s ({cpu:.2f} s CPU in this process), {ARGS.cdrs / elapsed:,.0f} CDRs/s"
              f" — inserted {result.inserted:,}, "
              f"rated {result.rated:,}, unrated {result.unrated:,}, ignored {result.ignored:,}, invalid "
              f"{result.invalid:,}, unmatched {result.unmatched:,}, charged {result.charged}")
    entries = CreditLedgerEntry.objects.filter(kind=CreditLedgerEntry.Kind.CDR_CHARGES)
    charged = -exact_sum(entries.aggregate(total=Sum("amount"))["total"])
    stored = exact_sum(Cdr.objects.filter(status="rated").aggregate(total=Sum("cost"))["total"])
    assert charged == stored, (charged, stored)
    median = statistics.median(timings)
    print(f"Median of {ARGS.runs}: {median:.2f} s for {ARGS.cdrs:,} CDRs = {ARGS.cdrs / median:,.0f} CDRs/s "
          f"(import + rate + debit, {connection.vendor}); {entries.count():,} ledger entries, charged total "
          f"{charged} = sum of the stored costs.")
    elapsed, cpu, result = import_file(sources[0], path)
    assert result.inserted == 0 and result.charged == 0, (result.inserted, result.charged)
    print(f"The same file again into the first source: {elapsed:.2f} s ({cpu:.2f} s CPU), "
          f"{ARGS.cdrs / elapsed:,.0f} CDRs/s, "
          f"{result.duplicates:,} duplicates, nothing stored, nothing charged.")


def profile_one_import(path):
    import cProfile
    import pstats

    source = CdrSource.objects.create(name="Bench profile", kind=CdrSource.Kind.FILE)
    profiler = cProfile.Profile()
    profiler.enable()
    import_file(source, path)
    profiler.disable()
    stats = pstats.Stats(profiler).sort_stats("tottime")
    stats.print_stats(25)
    stats.print_callers("execute")


if __name__ == "__main__":
    main()
