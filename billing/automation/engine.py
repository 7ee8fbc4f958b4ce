"""The automation engine: a function of the run date.

`run_automation(date=…, dry_run=…, mode=…)` plans what is due on `date` (a date in the business time zone) and,
unless it is a dry run, does it:

1. end-of-period cancellation requests whose period is over (the billing engine's `cancellations_process`);
2. overdue suspension: Active services whose next due date plus the effective suspend days is on or before the
   run date and that still owe a due invoice → `lifecycle.service_suspend(reason=overdue)`, the suspension
   e-mail as the rule's setting says;
3. overdue termination: Suspended services past the effective termination days → `lifecycle.service_terminate`
   (the product's delete-data option decides what the provider deletes), then the invoice handling of seed 001
   (billing.automation.invoices) and the termination notice;
4. the client status update (billing.automation.client_status).

Mode "daily" does all four; mode "every_run" only suspensions and terminations decided by an override, and only
when AutomationSettings.override_cron_mode is "every run" (seed 001's "Cron" setting). A service gets at most
one action per pass: one suspended today is terminated on a later pass at the earliest.

Each service is claimed once: a batch's services are locked in one statement, SELECT … FOR UPDATE SKIP LOCKED
(another pass holding one skips it, not waits for it), which re-checks each (still in the status, still overdue: a
payment since the selection wins); provisioning's batch lifecycle (hooks.services_suspend_batch / _terminate_batch)
re-checks the status, calls the providers on a thread pool and writes the changes, ModuleCalls and audit rows in
bulk. A module error leaves the service as it was (the failed call is queued for retry) and the next pass tries
again. Every decision is written to ActivityLog ("automation.suspend" / "automation.terminate") with the rule that
applied, in the transaction of the change. The clients' notices are queued for a whole batch once it is done
(`queue_notices`), under event keys that name each change, so each is queued once, also after a crash.
"""
import logging
from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import date as date_type
from datetime import datetime, time

from django.conf import settings as django_settings
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from billing import emails, hooks
from billing.automation import client_status, selection
from billing.automation.invoices import handle_terminated_service_invoices
from billing.automation.rules import SUSPEND, TERMINATE, Rules
from billing.models import AutomationSettings, Service
from billing.services.cancellation import cancellations_process, due_cancellations
from billing.services.ledger import lock_clients
from portal.activity import Actor, build_entry, log_activities
from portal.models import Client

logger = logging.getLogger(__name__)

DAILY = AutomationSettings.OverrideCronMode.DAILY.value
EVERY_RUN = AutomationSettings.OverrideCronMode.EVERY_RUN.value
CANCEL = "cancel"
CLIENT_INACTIVE = "client_inactive"
CLIENT_ACTIVE = "client_active"
ACTION_LABELS = {
    SUSPEND: "Suspend",
    TERMINATE: "Terminate",
    CANCEL: "Cancel (request)",
    CLIENT_INACTIVE: "Client → Inactive",
    CLIENT_ACTIVE: "Client → Active",
}
PLANNED, DONE, FAILED, SKIPPED = "planned", "done", "failed", "skipped"
DEFAULT_THREADS = 16


@dataclass
class PlanRow:
    action: str
    client_id: int
    client: str
    rule: str
    service_id: int | None = None
    domain: str = ""
    product: str = ""
    product_id: int | None = None
    days_overdue: int | None = None
    rule_days: int | None = None
    rule_note: str = ""
    send_email: bool = False
    outcome: str = PLANNED
    error: str = ""

    @property
    def action_label(self):
        return ACTION_LABELS[self.action]

    def work_item(self):
        """What a worker needs to claim and act on the service (JSON-friendly, for Celery)."""
        return {key: value for key, value in asdict(self).items() if key not in ("outcome", "error")}


@dataclass
class Plan:
    date: date_type
    mode: str
    dry_run: bool
    rows: list = field(default_factory=list)
    totals: Counter = field(default_factory=Counter)  # action → count (all rows, even beyond a preview limit)
    notes: list = field(default_factory=list)

    def service_rows(self, *actions):
        return [row for row in self.rows if row.action in actions]

    @property
    def outcomes(self):
        return Counter(row.outcome for row in self.rows)

    @property
    def summary(self):
        counts = ", ".join(f"{n} {ACTION_LABELS[a].lower()}" for a, n in self.totals.items() if n) or "nothing due"
        if self.dry_run:
            return f"{self.date} ({self.mode}, dry run): {counts}"
        outcomes = self.outcomes
        return (f"{self.date} ({self.mode}): {counts}; {outcomes[DONE]} done, {outcomes[FAILED]} failed "
                f"(retried next run), {outcomes[SKIPPED]} skipped")


def automation_actor():
    return Actor.system("automation")


# --- planning ------------------------------------------------------------------------------------------------


def client_name(row):
    name = f"{row['client__first_name']} {row['client__last_name']}".strip()
    return f"{row['client__company_name']} ({name})" if row["client__company_name"] else name


def _service_rows(rules, action, date, services, limit):
    rows = []
    target_field = "product__group_id" if rules.per_group else "product_id"
    values = services.values(*selection.ROW_FIELDS)
    for row in values[:limit] if limit else values:
        rule = rules.for_target(action, row[target_field])
        rows.append(
            PlanRow(
                action=action, service_id=row["pk"], client_id=row["client_id"], client=client_name(row),
                domain=row["domain"], product=row["product__name"], product_id=row["product_id"],
                days_overdue=(date - row["next_due_date"]).days,
                rule=rule.label, rule_days=rule.days, rule_note=rule.note,
                send_email=rules.send_suspension_email(rule) if action == SUSPEND else True,
            )
        )
    return rows


def _cancellation_rows(date, limit):
    due = due_cancellations(date)
    values = due.values(*selection.ROW_FIELDS, "cancellation_type")
    rows = []
    for row in values[:limit] if limit else values:
        kind = Service.CancellationType(row["cancellation_type"]).label.lower()
        overdue = (date - row["next_due_date"]).days if row["next_due_date"] else None
        rows.append(
            PlanRow(
                action=CANCEL, service_id=row["pk"], client_id=row["client_id"], client=client_name(row),
                domain=row["domain"], product=row["product__name"], days_overdue=overdue,
                rule=f"cancellation request ({kind})",
            )
        )
    return rows, due


def plan_automation(*, date, mode=DAILY, rules=None, limit=None, dry_run=True):
    """What a pass on `date` would do, without changing anything. `limit` caps the rows of each action (the
    dashboard preview); `totals` still counts them all."""
    if mode not in (DAILY, EVERY_RUN):
        raise ValueError(f"Unknown automation mode {mode!r}: {DAILY!r} or {EVERY_RUN!r}.")
    rules = rules or Rules.load()
    plan = Plan(date=date, mode=mode, dry_run=dry_run)
    overrides_only = mode == EVERY_RUN
    if overrides_only and not rules.every_run:
        plan.notes.append("Overrides are processed daily (Override cron mode): the every-run pass has nothing to do.")
        return plan
    cancel_ids = None
    if mode == DAILY:
        rows, due = _cancellation_rows(date, limit)
        plan.rows += rows
        plan.totals[CANCEL] = len(rows) if not limit else due.count()
        cancel_ids = due.values("pk")  # a subquery: those are cancelled instead
    for action in (SUSPEND, TERMINATE):
        services = selection.due_services(rules, action, date, overrides_only=overrides_only, exclude_ids=cancel_ids)
        rows = _service_rows(rules, action, date, services, limit)
        plan.rows += rows
        plan.totals[action] = len(rows) if not limit else services.count()
    mode_setting = rules.settings.client_status_update
    if mode == DAILY and mode_setting != AutomationSettings.ClientStatusUpdate.OFF:
        # A full plan counts the services this pass ends as gone already; a preview does not look that far.
        ending = [row.service_id for row in plan.service_rows(TERMINATE, CANCEL)] if not limit else ()
        changes = client_status.planned_changes(date=date, mode=mode_setting, excluding_services=ending, limit=limit)
        plan.rows += [_client_row(change, mode_setting) for change in changes]
        if limit:
            inactive, active = client_status.count_changes(date=date, mode=mode_setting)
        else:
            inactive = sum(1 for c in changes if c.to == Client.Status.INACTIVE)
            active = len(changes) - inactive
        plan.totals[CLIENT_INACTIVE], plan.totals[CLIENT_ACTIVE] = inactive, active
    return plan


def _client_row(change, mode, outcome=PLANNED):
    action = CLIENT_INACTIVE if change.to == Client.Status.INACTIVE else CLIENT_ACTIVE
    return PlanRow(
        action=action, client_id=change.client_id, client=str(change.client),
        rule=f"client status update ({mode}): {change.reason}", outcome=outcome,
    )


# --- running -------------------------------------------------------------------------------------------------


def run_automation(*, date, dry_run=False, mode=DAILY, actor=None, threads=None):
    """Plan the pass for `date` and, unless `dry_run`, carry it out in this process (provider calls on a thread
    pool). Returns the Plan with each row's outcome. Celery passes fan the service actions out to workers
    instead (billing.automation.passes) but run the same steps."""
    plan = plan_automation(date=date, mode=mode, dry_run=dry_run)
    if dry_run:
        return plan
    actor = actor or automation_actor()
    if mode == DAILY:
        run_cancellations(plan, date=date, actor=actor)
    rows = plan.service_rows(SUSPEND, TERMINATE)
    for row, (outcome, error) in zip(rows, execute([row.work_item() for row in rows], date=date, actor=actor,
                                                   mode=mode, threads=threads)):
        row.outcome, row.error = outcome, error
    if mode == DAILY:
        finish_daily(plan, date=date, actor=actor)
    return plan


def run_cancellations(plan, *, date, actor):
    """End-of-period cancellation requests due on `date` (billing's own function: it calls the module, cancels
    the service's unpaid lines, and leaves a failed one for the next run)."""
    rows = {row.service_id: row for row in plan.service_rows(CANCEL)}
    if not rows:
        return
    result = cancellations_process(date=date, actor=actor)
    for outcome, services in ((DONE, result.cancelled), (FAILED, result.failed)):
        for service in services:
            if service.pk in rows:
                rows[service.pk].outcome = outcome
    for row in rows.values():
        if row.outcome == PLANNED:
            row.outcome = SKIPPED


def finish_daily(plan, *, date, actor):
    """The daily pass's last step, once every service action is done: the client status update (it sees the
    terminations just made). Records the changes in `plan` when there is one; returns them."""
    mode = AutomationSettings.load().client_status_update
    changes = client_status.update_client_statuses(date=date, mode=mode, actor=actor)
    if plan is None:
        return changes
    plan.rows = [row for row in plan.rows if row.action not in (CLIENT_INACTIVE, CLIENT_ACTIVE)]
    plan.rows += [_client_row(change, mode, outcome=DONE) for change in changes]
    plan.totals[CLIENT_INACTIVE] = sum(1 for c in changes if c.to == Client.Status.INACTIVE)
    plan.totals[CLIENT_ACTIVE] = len(changes) - plan.totals[CLIENT_INACTIVE]
    return changes


def call_threads(threads=None):
    """How many provider calls run at once in one process. SQLite takes one writer at a time, so one."""
    if connection.vendor == "sqlite":
        return 1
    return threads or getattr(django_settings, "AUTOMATION_CALL_THREADS", DEFAULT_THREADS)


def execute(items, *, date, actor, mode, threads=None):
    """Claim and act on the work items, then queue their notices; returns [(outcome, error)] in the items' order."""
    results = act_on(items, date=date, actor=actor, mode=mode, threads=threads)
    queue_notices(items, date=date)
    return results


def act_on(items, *, date, actor, mode, threads=None):
    """Claim and suspend or terminate the work items' services, one transaction per action: the claim in one
    statement, the provider calls `call_threads()` at once, their records and the decisions written in bulk.
    Returns [(outcome, error)] in the items' order. Never raises for the services: an unexpected error fails the
    action's items (logged), and the next pass tries them again."""
    results = {}
    for action in (SUSPEND, TERMINATE):
        batch = [item for item in items if item["action"] == action]
        if batch:
            results.update(_act_on_batch(batch, action, date=date, actor=actor, mode=mode, threads=threads))
    return [results[(item["action"], item["service_id"])] for item in items]


def _act_on_batch(items, action, *, date, actor, mode, threads):
    keys = [(action, item["service_id"]) for item in items]
    try:
        with transaction.atomic():
            if action == TERMINATE:
                lock_clients(item["client_id"] for item in items)  # billing's lock order: clients, invoices, services
            claimed = selection.claim(items, action, date)
            if not claimed:
                return dict.fromkeys(keys, (SKIPPED, ""))  # another pass holds them, or they are no longer due
            act = hooks.services_suspend_batch if action == SUSPEND else hooks.services_terminate_batch
            extra = {"reason": Service.SuspendReason.OVERDUE} if action == SUSPEND else {}
            outcomes = act(service_ids=claimed, actor=actor, threads=call_threads(threads), **extra)
            results, decisions = {}, []
            for key, item in zip(keys, items):
                outcome = outcomes.get(item["service_id"])
                if outcome is None or outcome.refused:
                    results[key] = (SKIPPED, "")
                elif outcome.error is not None:
                    results[key] = (FAILED, outcome.error.message)
                    decisions.append(_decision(item, outcome.service, date=date, mode=mode, actor=actor,
                                               outcome=FAILED, error=outcome.error.message))
                else:
                    if action == TERMINATE:
                        handle_terminated_service_invoices(service=outcome.service, actor=actor)
                    results[key] = (DONE, "")
                    decisions.append(_decision(item, outcome.service, date=date, mode=mode, actor=actor, outcome=DONE))
            log_activities(decisions)
            return results
    except Exception as exc:  # a database error or a bug: these services wait for the next pass
        logger.exception("Automation %s of services %s failed", action, [item["service_id"] for item in items])
        error = f"{type(exc).__name__}: {exc}"[:500]
        try:
            services = Service.objects.in_bulk([item["service_id"] for item in items])
            log_activities([_decision(item, services[item["service_id"]], date=date, mode=mode, actor=actor,
                                      outcome=FAILED, error=error) for item in items if item["service_id"] in services])
        except Exception:  # noqa: BLE001 - the database itself may be what failed; the log line above stays
            logger.exception("Could not record the failed automation decisions")
        return dict.fromkeys(keys, (FAILED, error))


def _decision(item, service, *, date, mode, actor, outcome, error=""):
    """The audit entry of one automation decision (unsaved: a batch writes them together)."""
    verb = "suspension" if item["action"] == SUSPEND else "termination"
    rule = f"{item['rule']}, {item['rule_days']} days"
    text = {DONE: "done", FAILED: f"failed, retried next run: {error}"}[outcome]
    return build_entry(
        actor=actor, action=f"automation.{item['action']}", target=service,
        message=f"Overdue {verb} of {service.domain}: {text} (rule: {rule}; {item['days_overdue']} days overdue)",
        data={
            "rule": item["rule"], "rule_days": item["rule_days"], "rule_note": item["rule_note"],
            "days_overdue": item["days_overdue"], "run_date": str(date), "mode": mode, "outcome": outcome,
            "error": error,
        },
    )


def queue_notices(items, *, date):
    """The clients' notices for work items once they are done, in a fixed number of queries (not one e-mail
    task per service). Each notice's event key names the change (the suspension's time), so it is queued once
    whoever asks: this batch, a redelivered batch after a worker died (its claims skip the services already done,
    this still finds them), or another pass that handled some of the same services."""
    wanted = {(item["action"], item["service_id"]) for item in items if item["send_email"]}
    if not wanted:
        return []
    since = timezone.make_aware(datetime.combine(min(date, timezone.localdate()), time.min))
    done = Service.objects.filter(pk__in=sorted({pk for _, pk in wanted})).filter(
        Q(status=Service.Status.SUSPENDED, suspend_reason=Service.SuspendReason.OVERDUE, suspended_at__gte=since)
        | Q(status=Service.Status.TERMINATED, terminated_at__gte=since)
    )
    requests = []
    for pk, client_id, status, suspended_at in done.values_list("pk", "client_id", "status", "suspended_at"):
        if status == Service.Status.SUSPENDED and (SUSPEND, pk) in wanted:
            key, template = f"service.suspended:{pk}:{suspended_at.isoformat()}", emails.SERVICE_SUSPENDED
        elif status == Service.Status.TERMINATED and (TERMINATE, pk) in wanted:
            key, template = f"service.terminated:{pk}", emails.SERVICE_TERMINATED
        else:
            continue
        requests.append(emails.EmailRequest(template, client_id, key, service_id=pk))
    return emails.queue_emails(requests)
