"""Fault injection (hardening issue, item 9, first run): automation passes against the SmarterMail simulator while
20 % of its calls answer 503 and 5 % answer only after the client's read timeout (the simulator still carries the
call out: the portal believes it failed although the provider did it). The passes are run again until nothing is
left; then each due action was done exactly once at the provider (its state changed once per domain), the
provider's state equals the portal's, and each service has one successful module call, one audit decision "done"
and one e-mail. The failures are drawn from a seeded generator and the calls run one at a time: the run repeats
exactly. Figures for docs/reliability.md: `pytest tests/billing/automation/test_faults.py -s`."""
from collections import Counter

import pytest

from billing import emails
from billing.automation import engine
from billing.models import EmailLog, Service
from portal.models import ActivityLog
from provisioning.models import ModuleCall
from provisioning.modules.smartermail.simulator import SmarterMailSimulator, TransitionRecordingSimulator
from tests.billing.automation.conftest import RUN, S, overdue_service
from tests.factories import ProductFactory
from tests.provisioning.modules.smartermail.fixtures import SIM_ADMIN, SIM_PASSWORD, server_for

SUSPENDS, TERMINATES, PAID_UP = 100, 40, 20
MAX_PASSES = 40
READ_TIMEOUT = 1  # seconds (the module takes whole seconds)


@pytest.fixture
def faulty_smartermail():
    from provisioning.modules.smartermail.client import forget_tokens  # why: the module caches tokens per server

    forget_tokens()
    simulator = TransitionRecordingSimulator(admin_username=SIM_ADMIN, admin_password=SIM_PASSWORD).start()
    yield simulator
    simulator.stop()
    forget_tokens()


def test_passes_with_5xx_and_timeouts_do_each_due_action_exactly_once(automation, faulty_smartermail):
    sim = faulty_smartermail
    automation(suspension_enabled=True, suspend_days=5, send_suspension_email=True, termination_enabled=True,
               terminate_days=30)
    server = server_for(sim, settings={"read_timeout": READ_TIMEOUT, "connect_timeout": 2})
    product = ProductFactory(module="smartermail")

    def service(days, status):
        made = overdue_service(days=days, status=status, product=product, server=server)
        Service.objects.filter(pk=made.pk).update(username=f"admin@{made.domain}")
        return made

    to_suspend = [service(10 + n % 10, S.ACTIVE) for n in range(SUSPENDS)]
    to_terminate = [service(35 + n % 10, S.SUSPENDED) for n in range(TERMINATES)]
    paid_up = [service(-5, S.ACTIVE) for _ in range(PAID_UP)]
    sim.seed({"domains": [{"name": s.domain, "admin_password": "Pass-123-x", "is_enabled": s in to_suspend + paid_up}
                          for s in to_suspend + to_terminate + paid_up]})
    sim.fail_randomly("status", rate=0.20, seed=2026, status=503)
    sim.fail_randomly("timeout", rate=0.05, seconds=READ_TIMEOUT + 0.3)

    passes, outcomes = 0, Counter()
    while passes < MAX_PASSES:
        passes += 1
        plan = engine.run_automation(date=RUN)
        outcomes.update(row.outcome for row in plan.service_rows(engine.SUSPEND, engine.TERMINATE))
        if not plan.service_rows(engine.SUSPEND, engine.TERMINATE):
            break
    sim.clear_failures()

    # The provider: each due action happened once, nothing else changed, and its state is the portal's.
    assert {s.domain: sim.transitions[s.domain] for s in to_suspend} == {s.domain: ["disabled"] for s in to_suspend}
    assert {s.domain: sim.transitions[s.domain] for s in to_terminate} == {s.domain: ["deleted"] for s in to_terminate}
    assert not any(sim.transitions[s.domain] for s in paid_up)
    portal = dict(Service.objects.values_list("domain", "status"))
    provider = {name: S.ACTIVE if d.is_enabled else S.SUSPENDED for name, d in sim.domains.items()}
    assert provider == {domain: status for domain, status in portal.items() if status != S.TERMINATED}
    assert sorted(d for d, status in portal.items() if status == S.TERMINATED) == sorted(s.domain for s in to_terminate)

    # The portal: one successful call, one "done" decision and one notice per service; the retry queue is empty.
    due = {s.pk: "suspend" for s in to_suspend} | {s.pk: "terminate" for s in to_terminate}
    successes = Counter(ModuleCall.objects.filter(success=True).values_list("service_id", "action"))
    assert successes == Counter({(pk, action): 1 for pk, action in due.items()})
    assert not ModuleCall.objects.filter(awaiting_retry=True).exists()
    done = Counter(ActivityLog.objects.filter(data__outcome="done").values_list("target_id", "action"))
    assert done == Counter({(str(pk), f"automation.{action}"): 1 for pk, action in due.items()})
    notices = Counter(EmailLog.objects.filter(
        template_name__in=[emails.SERVICE_SUSPENDED, emails.SERVICE_TERMINATED]).values_list("service_id", flat=True))
    assert notices == Counter({pk: 1 for pk in due})
    assert sim.injected["status"] > 0 and sim.injected["timeout"] > 0  # the faults did happen

    failed_calls = ModuleCall.objects.filter(success=False).count()
    print(f"\nfault injection: {passes} passes, {len(sim.calls)} provider calls, {sim.injected['status']} answered "
          f"503, {sim.injected['timeout']} timed out; {failed_calls} failed module calls retried; outcomes "
          f"{dict(outcomes)}; {len(due)} actions + {PAID_UP} untouched services checked")


def test_random_failures_repeat_for_the_same_seed_and_are_counted():
    def draws(seed):
        sim = SmarterMailSimulator()
        sim.fail_randomly("status", rate=0.3, seed=seed, path="domain")
        outcomes = [sim._take_failure(f"/api/v1/settings/sysadmin/domain/d{n}") is not None for n in range(200)]
        assert sim._take_failure("/api/v1/auth/authenticate-user") is None  # the path does not match
        return outcomes, sim.injected["status"]

    first, injected = draws(5)
    assert draws(5) == (first, injected) and draws(6)[0] != first
    assert injected == sum(first) and 40 <= injected <= 80  # about 30 % of 200
    with pytest.raises(ValueError, match="between 0 and 1"):
        SmarterMailSimulator().fail_randomly("status", rate=1.5)
