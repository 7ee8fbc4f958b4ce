"""`manage.py run_automation [--date] [--dry-run]`: the table of what would happen, and the real pass."""
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from billing.automation import locks
from tests.billing.automation.conftest import RUN, S, overdue_service, override
from tests.factories import ProductFactory

pytestmark = pytest.mark.django_db


def run(*args):
    out = StringIO()
    call_command("run_automation", *args, stdout=out)
    return out.getvalue()


def test_the_dry_run_prints_the_table_and_changes_nothing(automation):
    product = ProductFactory(name="VM", module="fake")
    override(product, suspend=1)
    service = overdue_service(days=3, product=product)
    global_one = overdue_service(days=9, module="")
    out = run("--date", RUN.isoformat(), "--dry-run")
    header, rule, *lines = out.splitlines()
    assert header.split() == ["Service", "Client", "Domain", "Action", "Rule", "Days", "overdue", "Outcome"]
    assert any(service.domain in line and "override: product VM (1 days)" in line and " 3 " in line for line in lines)
    assert any(global_one.domain in line and "global (5 days)" in line and "planned" in line for line in lines)
    assert "Dry run, nothing changed" in out
    service.refresh_from_db()
    assert service.status == S.ACTIVE


def test_a_real_run_for_a_date(automation):
    service = overdue_service(days=5)
    out = run("--date", RUN.isoformat())
    assert "done" in out and "1 done, 0 failed" in out
    service.refresh_from_db()
    assert service.status == S.SUSPENDED


def test_a_bad_date_and_a_running_pass_are_clear_errors(automation):
    with pytest.raises(CommandError, match="--date must be a date such as"):
        run("--date", "31/03/2026")
    token = locks.acquire_pass_lock()
    with pytest.raises(CommandError, match="Another automation pass is running"):
        run("--date", RUN.isoformat())
    locks.release_pass_lock(token)
    assert "Nothing to do" in run("--date", RUN.isoformat(), "--dry-run")
