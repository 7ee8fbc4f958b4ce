"""Demo load benchmark: `manage.py load_demo` on an empty, migrated database (the embedded SQLite default in a
fresh var directory per run), as `python3 run.py` does on a first start. The demo's month of calls runs
through the real import pipeline against private simulators, so this is also a small end-to-end figure for
the VoIP import. Each run is a new directory; the figure is the median of the runs (migration time excluded).

    .venv/bin/python bench/demo_load.py [--runs 3]
"""
import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def manage(var_dir, *args):
    environment = {**os.environ, "PORTAL_VAR_DIR": var_dir, "LOG_LEVEL": "WARNING"}
    for variable in ("DATABASE_URL", "DJANGO_SETTINGS_MODULE"):
        environment.pop(variable, None)
    subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=environment, check=True,
                   stdout=subprocess.DEVNULL)


def one_run():
    with tempfile.TemporaryDirectory(prefix="bench-demo-") as var_dir:
        manage(var_dir, "migrate", "--verbosity", "0")
        started = time.monotonic()
        manage(var_dir, "load_demo")
        return time.monotonic() - started


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    runs = [one_run() for _ in range(parser.parse_args().runs)]
    print("runs:", ", ".join(f"{seconds:.2f} s" for seconds in runs))
    print(f"median: {statistics.median(runs):.2f} s")


if __name__ == "__main__":
    main()
