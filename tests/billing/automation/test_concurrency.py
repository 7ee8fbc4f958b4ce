"""Two automation passes started at the same moment, on MariaDB: each due service is suspended exactly once (the
module's calls are counted) and gets one e-mail. SQLite takes one writer at a time, so it cannot show this."""
import threading
import time as clock
from datetime import time

import pytest
from django.db import connection, connections, transaction

from billing import emails
from billing.automation import engine, locks, passes, tasks
from billing.models import EmailLog, Service
from portal.activity import Actor
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


def test_two_batches_at_once_each_claim_all_of_their_own_services(automation, monkeypatch):
    """A fanned-out pass runs its batches on several workers at once. A batch's claim must lock its own rows only:
    a claim that locked other rows on its way (walking an index) made the other batch skip them — they were left
    for the next pass (found by the 100,000-service benchmark: 400 of 5,000 skipped)."""
    automation()
    product = ProductFactory(module="fake")
    services = [overdue_service(days=5 + i % 3, product=product) for i in range(SERVICES)]
    items = [row.work_item() for row in engine.plan_automation(date=RUN, dry_run=False).service_rows("suspend")]
    first, second = items[::2], items[1::2]  # interleaved: their rows sit side by side in every index
    held = {item["domain"] for item in first}
    release = threading.Event()
    suspend = FakeModule.suspend

    def slow_for_the_first_batch(module, service, **kwargs):
        if service.domain in held:
            release.wait(30)  # the first batch keeps its claims while the second one claims
        return suspend(module, service, **kwargs)

    monkeypatch.setattr(FakeModule, "suspend", slow_for_the_first_batch)
    results = {}

    def run(name, batch, delay):
        try:
            clock.sleep(delay)
            results[name] = engine.act_on(batch, date=RUN, actor=Actor.system("t"), mode="daily", threads=4)
        finally:
            if name == "second":
                release.set()
            connections.close_all()

    threads = [threading.Thread(target=run, args=("first", first, 0)),
               threading.Thread(target=run, args=("second", second, 0.5))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert [outcome for outcome, _ in results["second"]] == ["done"] * len(second)
    assert [outcome for outcome, _ in results["first"]] == ["done"] * len(first)
    assert Service.objects.filter(status=S.SUSPENDED).count() == len(services)


def test_the_claim_locks_by_primary_key_alone(automation):
    """The locking statement names the services by id and nothing else, so InnoDB locks exactly those rows. With
    the due conditions in it, on 100,000 services MariaDB walked the (status, next_due_date) index instead
    (EXPLAIN in docs/benchmarks.md) and other batches' claims skipped the rows it passed."""
    from django.test.utils import CaptureQueriesContext

    from billing.automation import selection

    automation()
    overdue_service(days=6)
    items = [row.work_item() for row in engine.plan_automation(date=RUN, dry_run=False).service_rows("suspend")]
    with CaptureQueriesContext(connection) as queries, transaction.atomic():
        assert selection.claim(items, "suspend", RUN) == [items[0]["service_id"]]
    [locking] = [q["sql"] for q in queries.captured_queries if "FOR UPDATE" in q["sql"]]
    where = locking.split("WHERE", 1)[1]
    assert "status" not in where and "next_due_date" not in where and "invoice" not in where.lower()
