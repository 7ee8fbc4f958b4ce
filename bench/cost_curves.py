"""Cost curves (issue 20, part 4): the periodic jobs' benchmarks run at growing sizes, their times collected into
docs/cost-curves.json and drawn as docs/cost-curves.svg (time against size, log-log), so that a job
whose time grows faster than its size shows at a glance: on log-log axes linear growth is a line of slope 1,
drawn dotted beside each job from its smallest measurement.

Each job is the benchmark already in bench/, run in its own process with a size argument, one measured run (the
sweep: the median of 3 steady sweeps); the figure is parsed from the line the benchmark prints:

- invoices: bench/invoice_generation.py --services N --due N/10 (10 % due: one invoice each);
- automation selection and automation pass: bench/automation_pass.py --services N (5 % overdue, 2 Celery
  workers, 50 ms per provider call): the two selection queries, and the whole daily pass;
- usage: bench/usage_update.py --domains N (4 simulated mail servers, 50 ms per call);
- sweep: bench/voip_autosuspend.py --clients N (the steady five-minute sweep, nothing to change).

    .venv/bin/python bench/cost_curves.py run --jobs invoices,automation,usage,sweep --sizes 10000,100000
    .venv/bin/python bench/cost_curves.py chart            # docs/cost-curves.svg from the results so far

Every measurement is appended to the results file as it is made (with the load average at its end), so a long
series can be stopped and resumed; `chart` draws the latest measurement per job and size.
"""
import argparse
import json
import math
import os
import re
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "docs" / "cost-curves.json"  # kept beside the chart: the figures it is drawn from
LOGS = ROOT / "bench" / "results"  # each benchmark's full output (not kept in the repository)
CHART = ROOT / "docs" / "cost-curves.svg"
MYSQL = "mysql://root@127.0.0.1:3306/"

# job → (label, colour)
SERIES = {
    "invoices": ("Invoice generation (10 % due)", "#1f77b4"),
    "automation_selection": ("Automation selection (2 queries)", "#ff7f0e"),
    "automation_pass": ("Automation pass (5 % suspended, 2 workers)", "#d62728"),
    "usage": ("Usage update (4 servers)", "#2ca02c"),
    "sweep": ("VoIP autosuspend sweep (steady)", "#9467bd"),
}


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run")
    run.add_argument("--jobs", default="invoices,automation,usage,sweep")
    run.add_argument("--sizes", default="10000,100000,1000000")
    run.add_argument("--database-prefix", default="portal_pass_",
                     help="MariaDB databases <prefix>inv, <prefix>auto, <prefix>usage, <prefix>sweep (dropped and created)")
    run.add_argument("--redis-url", default="redis://127.0.0.1:6379/13")
    run.add_argument("--timeout", type=int, default=3600, help="Seconds one benchmark may take.")
    sub.add_parser("chart")
    return parser.parse_args()


def commands(job, size, args):
    """[(result name, command, environment extra, pattern whose first group is the seconds)]."""
    python = sys.executable
    db = MYSQL + args.database_prefix
    if job == "invoices":
        return [("invoices", [python, "bench/invoice_generation.py", "--services", str(size), "--due",
                              str(size // 10), "--runs", "1", "--no-variants"],
                 {"BENCH_DATABASE_URL": db + "inv"}, {"invoices": r"median: ([\d.]+) s"})]
    if job == "automation":
        return [("automation", [python, "bench/automation_pass.py", "--services", str(size), "--runs", "1",
                                "--database-url", db + "auto", "--redis-url", args.redis_url], {},
                 {"automation_selection": r"Median of 1: selection ([\d.]+) s",
                  "automation_pass": r"whole pass ([\d.]+) s for"})]
    if job == "usage":
        return [("usage", [python, "bench/usage_update.py", "--domains", str(size), "--runs", "1",
                           "--database-url", db + "usage"], {}, {"usage": r"Median of 1: ([\d.]+) s"})]
    if job == "sweep":
        return [("sweep", [python, "bench/voip_autosuspend.py", "--clients", str(size), "--runs", "3",
                           "--database-url", db + "sweep"], {},
                 {"sweep": r"Median of 3 steady sweeps over [\d,]+ VoIP clients: ([\d.]+) s"})]
    raise SystemExit(f"Unknown job {job!r}: invoices, automation, usage or sweep.")


def load_results():
    return json.loads(RESULTS.read_text()) if RESULTS.exists() else []


def save_result(entry):
    results = load_results()
    results.append(entry)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=1) + "\n")


def run(args):
    for size in [int(s) for s in args.sizes.split(",")]:
        for job in args.jobs.split(","):
            for name, command, extra, patterns in commands(job, size, args):
                print(f"{datetime.now(UTC):%H:%M:%S} {name} at {size:,}: {' '.join(command[1:])}", flush=True)
                started = time.perf_counter()
                try:
                    done = subprocess.run(command, cwd=ROOT, env={**os.environ, **extra}, capture_output=True,
                                          text=True, timeout=args.timeout)
                    output, failed = done.stdout + done.stderr, done.returncode != 0
                except subprocess.TimeoutExpired as exc:
                    output, failed = f"timed out after {args.timeout} s: {exc.stdout or ''}", True
                wall = time.perf_counter() - started
                load = os.getloadavg()
                LOGS.mkdir(parents=True, exist_ok=True)
                (LOGS / f"{name}-{size}.log").write_text(output)
                for result, pattern in patterns.items():
                    found = None if failed else re.search(pattern, output)
                    entry = {"job": result, "size": size, "seconds": float(found.group(1)) if found else None,
                             "load": [round(v, 2) for v in load], "at": datetime.now(UTC).isoformat(timespec="seconds"),
                             "benchmark_wall_seconds": round(wall, 1)}
                    if found is None:
                        entry["error"] = output.strip().splitlines()[-1][:300] if output.strip() else "no output"
                    save_result(entry)
                    print(f"  {result}: {entry['seconds']} s (load {load[0]:.1f}; the whole benchmark took "
                          f"{wall:.0f} s){'; ' + entry['error'] if 'error' in entry else ''}", flush=True)


def latest(results):
    """{job: {size: seconds}}, the latest successful measurement of each."""
    table = {}
    for entry in results:
        if entry.get("seconds") is not None:
            table.setdefault(entry["job"], {})[entry["size"]] = entry["seconds"]
    return table


def chart(table, path=CHART):
    """A log-log SVG of seconds against services, one line per job, each with its dotted slope-1 line."""
    width, height, left, right, top, bottom = 860, 480, 70, 330, 40, 60
    sizes = sorted({size for points in table.values() for size in points})
    seconds = [s for points in table.values() for s in points.values()]
    for points in table.values():  # the slope-1 references' ends stay inside the plot
        if points:
            (size0, seconds0), size_n = min(points.items()), max(points)
            seconds.append(seconds0 * size_n / size0)
    if not sizes:
        raise SystemExit(f"No results in {RESULTS} yet.")
    x_lo, x_hi = math.floor(math.log10(min(sizes))), math.ceil(math.log10(max(sizes)))
    y_lo, y_hi = math.floor(math.log10(min(seconds))), math.ceil(math.log10(max(seconds)))
    x_hi, y_hi = max(x_hi, x_lo + 1), max(y_hi, y_lo + 1)
    plot_w, plot_h = width - left - right, height - top - bottom

    def x(size):
        return left + (math.log10(size) - x_lo) / (x_hi - x_lo) * plot_w

    def y(value):
        return top + plot_h - (math.log10(value) - y_lo) / (y_hi - y_lo) * plot_h

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="12">',
           f'<rect width="{width}" height="{height}" fill="white"/>',
           f'<text x="{left}" y="22" font-size="14" font-weight="bold">Time against size (log-log; dotted: '
           f'linear growth from the smallest size)</text>']
    for power in range(x_lo, x_hi + 1):
        px = x(10 ** power)
        out.append(f'<line x1="{px:.1f}" y1="{top}" x2="{px:.1f}" y2="{top + plot_h}" stroke="#ddd"/>')
        out.append(f'<text x="{px:.1f}" y="{top + plot_h + 18}" text-anchor="middle">{_size_label(10 ** power)}</text>')
    for power in range(y_lo, y_hi + 1):
        py = y(10 ** power)
        out.append(f'<line x1="{left}" y1="{py:.1f}" x2="{left + plot_w}" y2="{py:.1f}" stroke="#ddd"/>')
        out.append(f'<text x="{left - 6}" y="{py + 4:.1f}" text-anchor="end">{_seconds_label(10 ** power)}</text>')
    out.append(f'<rect x="{left}" y="{top}" width="{plot_w}" height="{plot_h}" fill="none" stroke="#333"/>')
    out.append(f'<text x="{left + plot_w / 2}" y="{height - 15}" text-anchor="middle">services (clients for the '
               f'sweep, mail domains for the usage update)</text>')
    out.append(f'<text x="16" y="{top + plot_h / 2}" text-anchor="middle" '
               f'transform="rotate(-90 16 {top + plot_h / 2})">seconds</text>')
    legend_y = top + 10
    for job, (label, colour) in SERIES.items():
        points = sorted(table.get(job, {}).items())
        if not points:
            continue
        (size0, seconds0), (size_n, _) = points[0], points[-1]
        if len(points) > 1:  # the slope-1 reference: what linear growth from the first point would give
            out.append(f'<line x1="{x(size0):.1f}" y1="{y(seconds0):.1f}" x2="{x(size_n):.1f}" '
                       f'y2="{y(seconds0 * size_n / size0):.1f}" stroke="{colour}" stroke-dasharray="2,4" '
                       f'stroke-width="1.5"/>')
        path_d = " ".join(f"{'M' if i == 0 else 'L'}{x(s):.1f},{y(v):.1f}" for i, (s, v) in enumerate(points))
        out.append(f'<path d="{path_d}" fill="none" stroke="{colour}" stroke-width="2"/>')
        for size, value in points:
            out.append(f'<circle cx="{x(size):.1f}" cy="{y(value):.1f}" r="3.5" fill="{colour}">'
                       f'<title>{label}: {_size_label(size)} → {value:g} s</title></circle>')
        out.append(f'<line x1="{left + plot_w + 15}" y1="{legend_y}" x2="{left + plot_w + 35}" y2="{legend_y}" '
                   f'stroke="{colour}" stroke-width="2"/>')
        out.append(f'<text x="{left + plot_w + 40}" y="{legend_y + 4}">{label}</text>')
        legend_y += 20
    out.append("</svg>")
    path.write_text("\n".join(out) + "\n")
    return path


def _size_label(size):
    return f"{size // 1_000_000}M" if size >= 1_000_000 else f"{size // 1000}k" if size >= 1000 else str(size)


def _seconds_label(value):
    return f"{value:g} s"


def main():
    args = parse_args()
    if args.command == "run":
        run(args)
    else:
        print(f"written {chart(latest(load_results()))}")


if __name__ == "__main__":
    main()
