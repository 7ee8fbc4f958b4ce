"""Two automation passes started at the same moment, on MariaDB: each due service is suspended exactly once (the
module's calls are counted) and gets one e-mail. SQLite takes one writer at a time, so it cannot show this."""
import threading
from datetime import time

import pytest
from django.db import connection, connections

from billing import emails
from billing.automation import engine, locks, passes, tasks
from billing.models import EmailLog, Service
from portal.models import ActivityLog
from provisioning.modules.fake import FakeModule
from tests.billing.automation.conftest import RUN, S, fake_calls, overdue_service
from tests.factories import ProductFactory

pytestmark = pytest.mark.django_db(transaction=True)
SERVICES = 24


@pytest.fixture(autouse=True)
def mariadb_only():
    if connection.vendor != "mysql":
        pytest.skip("Concurrent passes need row locks (SELECT … FOR UPDATE SKIP LOCKED): run on MariaDB "
                    "(DATABASE_URL=mysql://…); SQLite serialises writers.")


def at_once(count, target):
    """Run target() in `count` threads released together; returns their results (re-raising any error)."""
    barrier = threading.Barrier(count)
    results, errors = [None] * count, []

    def run(index):
        try:
            barrier.wait()
            results[index] = target()
        except Exception as exc:  # noqa: BLE001 - surfaced below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    if errors:
        raise errors[0]
    return results


def test_two_passes_at_once_suspend_each_service_once_and_send_one_email_each(automation):
    automation(send_suspension_email=True)
    products = [ProductFactory(module="fake") for _ in range(3)]
    services = [overdue_service(days=5 + i % 4, product=products[i % 3]) for i in range(SERVICES)]

    plans = at_once(2, lambda: engine.run_automation(date=RUN, threads=4))

    domains = sorted(s.domain for s in services)
    assert sorted(fake_calls("suspend")) == domains  # each domain called once, across both passes
    assert Service.objects.filter(status=S.SUSPENDED).count() == SERVICES
    outcomes = [row.outcome for plan in plans for row in plan.service_rows("suspend")]
    assert outcomes.count("done") == SERVICES and "failed" not in outcomes  # what one did, the other skipped
    per_service = EmailLog.objects.filter(template_name=emails.SERVICE_SUSPENDED).values_list("service_id", flat=True)
    assert sorted(per_service) == sorted(s.pk for s in services)
    assert ActivityLog.objects.filter(action="automation.suspend", data__outcome="done").count() == SERVICES
    assert ActivityLog.objects.filter(action="service.suspend").count() == SERVICES


def test_two_daily_ticks_at_once_start_one_pass(automation, monkeypatch):
    automation(daily_run_time=time(0, 0))
    services = [overdue_service(days=5) for _ in range(6)]
    monkeypatch.setattr(passes.timezone, "localtime", lambda *a: passes.timezone.make_aware(
        passes.datetime.combine(RUN, time(9, 0))))
    results = at_once(2, tasks.automation_daily)
    assert sum("suspend" in r.lower() and "has run" not in r for r in results) == 1
    assert sorted(fake_calls("suspend")) == sorted(s.domain for s in services)
    assert locks.last_daily_date() == RUN.isoformat() and not locks.pass_running()
    assert FakeModule.calls.count(("suspend", services[0].domain)) == 1
