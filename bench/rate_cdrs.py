"""Offline rating benchmark (issue 7): a 36,000-prefix deck and 1,000,000 CDRs, generated deterministically into
a temporary directory, rated in-process (voip.rating.offline.rate_file) and through `manage.py rate_cdrs`, on
one core (the process is pinned to CPU 0), median of 3 runs. Also: deck load time, dict-vs-trie prefix
lookups, and (with --distinct, or alone with --distinct-only) the worst case where every dialled number is
different, also median of --runs runs.

    .venv/bin/python bench/rate_cdrs.py [--cdrs 1000000] [--prefixes 36000] [--runs 3] [--profile] [--distinct]
                                        [--distinct-only] [--no-command]
"""
import argparse
import cProfile
import csv
import io
import os
import pstats
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import phonenumbers  # noqa: E402
from phonenumbers import PhoneNumber  # noqa: E402

from provisioning.telephony.numbers import Normaliser  # noqa: E402
from provisioning.telephony.text import OPEN_INPUT, OPEN_OUTPUT  # noqa: E402
from voip.cdr_formats import PortalParser  # noqa: E402
from voip.rating import Rater  # noqa: E402
from voip.rating.deck_file import read_deck  # noqa: E402
from voip.rating.offline import rate_file  # noqa: E402

SEED = 20240115
LOCAL_NPA = "212"
DIDS = [f"1212555{n:04d}" for n in range(1000, 1200)]  # the client's own numbers, for inbound calls
INCREMENTS = [(1, 1), (6, 6), (30, 6), (60, 60), (60, 1)]


def nanp_area_codes():
    """Area codes phonenumbers accepts (probed with one subscriber number each)."""
    return [str(npa) for npa in range(201, 990)
            if phonenumbers.is_valid_number(PhoneNumber(country_code=1, national_number=int(f"{npa}2345678")))]


def generate_deck(path, count, rng):
    """Country codes, NANP area codes and NPA-NXX blocks, and sub-prefixes of other countries: `count` in all."""
    area_codes = nanp_area_codes()
    countries = sorted(cc for cc in phonenumbers.COUNTRY_CODE_TO_REGION_CODE if cc != 1)
    rated = [cc for cc in countries if rng.random() > 0.03]  # a few countries have no rate: unrated calls
    prefixes = {"1": "USA/Canada"}
    prefixes.update((f"1{npa}", f"NANP {npa}") for npa in area_codes)
    prefixes.update((str(cc), f"Country {cc}") for cc in rated)
    target_nanp = count * 2 // 3
    while len(prefixes) < target_nanp:
        prefixes.setdefault(f"1{rng.choice(area_codes)}{rng.randint(200, 999)}", "NANP block")
    while len(prefixes) < count:
        cc = str(rng.choice(rated))
        prefixes.setdefault(cc + str(rng.randint(0, 10 ** rng.randint(1, 3) - 1)), f"Country {cc} range")
    with open(path, "w", **OPEN_OUTPUT) as out:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["prefix", "destination", "connect_fee", "rate_per_minute", "minimum_seconds",
                         "increment_seconds"])
        for prefix, destination in prefixes.items():
            minimum, increment = rng.choice(INCREMENTS)
            writer.writerow([prefix, destination, rng.choice(["0", "0", "0.01", "0.05"]),
                             f"{rng.randint(5, 5000) / 10000:.4f}", minimum, increment])
    return area_codes, countries


def number_pool(size, area_codes, countries, rng):
    """`size` distinct valid numbers as the PBX dials them: NANP in 7/10/11-digit and +1 forms, international
    with + or 011."""
    examples = {}
    for cc in countries:
        for region in phonenumbers.COUNTRY_CODE_TO_REGION_CODE[cc]:
            example = phonenumbers.example_number_for_type(region, phonenumbers.PhoneNumberType.MOBILE)
            if example is not None:
                examples[cc] = str(example.national_number)
                break
    foreign = sorted(examples)
    pool = set()
    while len(pool) < size:
        if rng.random() < 0.7:
            national = f"{rng.choice(area_codes)}{rng.randint(200, 999)}{rng.randint(0, 9999):04d}"
            if not phonenumbers.is_valid_number(PhoneNumber(country_code=1, national_number=int(national))):
                continue
            form = rng.random()
            if national.startswith(LOCAL_NPA) and form < 0.3:
                pool.add(national[3:])
            elif form < 0.65:
                pool.add(national)
            elif form < 0.9:
                pool.add("1" + national)
            else:
                pool.add(f"+1 ({national[:3]}) {national[3:6]}-{national[6:]}")
        else:
            cc = rng.choice(foreign)
            template = examples[cc]
            national = template[:-4] + f"{rng.randint(0, 9999):04d}"
            number = phonenumbers.PhoneNumber(country_code=cc, national_number=int(national))
            if phonenumbers.is_valid_number(number):
                pool.add(("+" if rng.random() < 0.5 else "011") + f"{cc}{national}")
    return sorted(pool)


def generate_cdrs(path, count, pool, rng, *, distinct_numbers=None):
    """Portal-format CDRs: 85% outbound (dialled numbers from the pool, some extensions, 911 and garbage),
    15% inbound to the client's DIDs; 12% unanswered; billsec exponential with a 3-minute mean."""
    start = datetime(2024, 1, 1, tzinfo=UTC)
    with open(path, "w", **OPEN_OUTPUT) as out:
        out.write("id,direction,caller,callee,answer_time,billsec,disposition\n")
        for i in range(count):
            moment = (start + timedelta(seconds=i * 2.5)).strftime("%Y-%m-%dT%H:%M:%SZ")
            roll = rng.random()
            if roll < 0.15:
                direction, caller = "inbound", rng.choice(pool)
                callee = rng.choice(DIDS)
            else:
                direction, caller = "outbound", str(rng.randint(1001, 1099))
                if roll < 0.17:
                    callee = str(rng.randint(1001, 1099))
                elif roll < 0.171:
                    callee = "911"
                elif roll < 0.175:
                    callee = f"0{rng.randint(10 ** 9, 10 ** 10)}"
                elif distinct_numbers is not None:
                    callee = next(distinct_numbers)
                else:
                    callee = rng.choice(pool)
            if rng.random() < 0.12:
                out.write(f"c{i},{direction},{caller},{callee},,0,NO ANSWER\n")
            elif rng.random() < 0.0001:
                out.write(f"c{i},{direction},{caller},{callee},{moment},abc,ANSWERED\n")  # malformed
            else:
                billsec = min(int(rng.expovariate(1 / 180)) + 1, 14_400)
                out.write(f'c{i},{direction},{caller},"{callee}",{moment},{billsec},ANSWERED\n')


def distinct_stream(area_codes, rng):
    """Endless distinct valid 10-digit NANP numbers (for the worst case: every number normalised afresh)."""
    seen = set()
    while True:
        national = f"{rng.choice(area_codes)}{rng.randint(200, 999)}{rng.randint(0, 9999):04d}"
        if national not in seen:
            seen.add(national)
            yield national


def load_rater(rates_path):
    with open(rates_path, **OPEN_INPUT) as lines:
        deck_file = read_deck(lines)
    return Rater(deck_file.deck, Normaliser("US", local_npa=[LOCAL_NPA]))


def rate_in_process(rates_path, cdrs_path, out_path):
    """Rate the file with a freshly loaded deck (cold caches); (wall seconds, CPU seconds, summary)."""
    rater = load_rater(rates_path)
    wall, cpu = time.perf_counter(), time.process_time()
    with open(cdrs_path, **OPEN_INPUT) as cdrs, open(out_path, "w", **OPEN_OUTPUT) as out:
        summary = rate_file(PortalParser(cdrs), rater, out)
    return time.perf_counter() - wall, time.process_time() - cpu, summary


def rate_with_command(rates_path, cdrs_path, out_path, var_dir):
    """The whole command in its own process; (wall seconds, CPU seconds of the child, its summary line)."""
    env = {**os.environ, "PORTAL_VAR_DIR": str(var_dir)}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    wall = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "manage.py", "rate_cdrs", "--rates", str(rates_path), "--cdrs", str(cdrs_path),
         "--format", "portal", "--region", "US", "--local-npa", LOCAL_NPA, "--out", str(out_path)],
        cwd=ROOT, env=env, capture_output=True, text=True, check=True,
    )
    wall = time.perf_counter() - wall
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, done.stdout.strip()


def report(label, count, runs):
    """Per-run lines and the medians of wall-clock and CPU time (CPU time is what one core spent, which is
    stable when other processes share the machine)."""
    for number, (wall, cpu, said) in enumerate(runs, 1):
        print(f"{label} run {number}: wall {wall:.2f} s, CPU {cpu:.2f} s ({said})")
    wall = statistics.median(run[0] for run in runs)
    cpu = statistics.median(run[1] for run in runs)
    print(f"{label.upper()} median of {len(runs)}: wall {wall:.2f} s = {count / wall:,.0f} CDRs/s; "
          f"CPU {cpu:.2f} s = {count / cpu:,.0f} CDRs/s")


class Trie:
    """A nested-dict trie, for comparison with the dict-of-prefixes index."""

    def __init__(self, rates):
        self.root = {}
        for rate in rates:
            node = self.root
            for digit in rate.prefix:
                node = node.setdefault(digit, {})
            node.setdefault(None, rate)

    def lookup(self, number):
        node, found = self.root, None
        for digit in number:
            node = node.get(digit)
            if node is None:
                break
            found = node.get(None, found)
        return found


def compare_indexes(rater, numbers):
    """Cold lookups (no per-number cache) of the same E.164 numbers with the dict index and with a trie."""
    index = rater.deck.indexes["outbound"]
    trie = Trie(group[0] for group in index._buckets.values())
    started = time.perf_counter()
    dict_results = [(g[0] if (g := index.longest(n)) else None) for n in numbers]
    dict_seconds = time.perf_counter() - started
    started = time.perf_counter()
    trie_results = [trie.lookup(n) for n in numbers]
    trie_seconds = time.perf_counter() - started
    assert dict_results == trie_results
    return len(numbers) / dict_seconds, len(numbers) / trie_seconds


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cdrs", type=int, default=1_000_000)
    parser.add_argument("--prefixes", type=int, default=36_000)
    parser.add_argument("--pool", type=int, default=100_000, help="distinct dialled numbers")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--profile", action="store_true", help="profile one in-process run")
    parser.add_argument("--distinct", action="store_true", help="also the worst case: every number distinct")
    parser.add_argument("--no-command", action="store_true")
    parser.add_argument("--distinct-only", action="store_true", help="only the worst case (with --profile: "
                        "profile it)")
    args = parser.parse_args()
    os.sched_setaffinity(0, {0})  # one core, inherited by the command's process
    rng = random.Random(SEED)
    with tempfile.TemporaryDirectory(prefix="bench-rate-cdrs-") as tmp:
        tmp = Path(tmp)
        rates_path, cdrs_path, out_path = tmp / "rates.csv", tmp / "cdrs.csv", tmp / "rated.csv"
        started = time.perf_counter()
        area_codes, countries = generate_deck(rates_path, args.prefixes, rng)
        pool = number_pool(args.pool, area_codes, countries, rng)
        generate_cdrs(cdrs_path, args.cdrs, pool, rng)
        print(f"generated {args.prefixes} prefixes, {args.cdrs} CDRs ({cdrs_path.stat().st_size / 1e6:.0f} MB), "
              f"{len(pool)} distinct dialled numbers in {time.perf_counter() - started:.1f} s")

        started = time.perf_counter()
        rater = load_rater(rates_path)
        print(f"deck: read and indexed {len(rater.deck)} rates (both directions) in "
              f"{time.perf_counter() - started:.2f} s")
        sample = [rater.normaliser(n).e164 for n in pool[:50_000]]
        sample = [n for n in sample if n]
        dict_rate, trie_rate = compare_indexes(rater, sample)
        print(f"cold prefix lookups: dict index {dict_rate:,.0f}/s, trie {trie_rate:,.0f}/s")

        if args.distinct_only:
            worst_case(args, rates_path, cdrs_path, out_path, pool, area_codes)
            return

        if args.profile:
            profile(rates_path, cdrs_path, out_path)

        runs = [rate_in_process(rates_path, cdrs_path, out_path) for _ in range(args.runs)]
        report("in-process", args.cdrs, runs)
        if not args.no_command:
            runs = [rate_with_command(rates_path, cdrs_path, out_path, tmp / "var") for _ in range(args.runs)]
            report("command (process start, Django setup and deck load included)", args.cdrs, runs)

        if args.distinct:
            worst_case(args, rates_path, cdrs_path, out_path, pool, area_codes)


def profile(rates_path, cdrs_path, out_path):
    """One in-process run under cProfile; the 15 functions with the most own time."""
    profiler = cProfile.Profile()
    profiler.enable()
    rate_in_process(rates_path, cdrs_path, out_path)
    profiler.disable()
    stream = io.StringIO()
    pstats.Stats(profiler, stream=stream).sort_stats("tottime").print_stats(15)
    print(stream.getvalue())


def worst_case(args, rates_path, cdrs_path, out_path, pool, area_codes):
    """Every outbound number distinct: each is normalised and looked up afresh (the caches never hit)."""
    generate_cdrs(cdrs_path, args.cdrs, pool, random.Random(SEED),
                  distinct_numbers=distinct_stream(area_codes, random.Random(SEED)))
    if args.profile and args.distinct_only:
        profile(rates_path, cdrs_path, out_path)
    report("worst case (every outbound number distinct)", args.cdrs,
           [rate_in_process(rates_path, cdrs_path, out_path) for _ in range(args.runs)])


if __name__ == "__main__":
    main()
