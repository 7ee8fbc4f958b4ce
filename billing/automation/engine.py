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

Each service is claimed once: its row is locked with SELECT … FOR UPDATE SKIP LOCKED (another pass holding it is
skipped, not waited for) and re-checked (still in the status, still overdue: a payment since the selection wins),
then the lifecycle function locks it again, re-checks the status and calls the module. A module error leaves the
service as it was (lifecycle records the failed call for the retry queue) and the next pass tries again. Every
decision is written to ActivityLog ("automation.suspend" / "automation.terminate") with the rule that applied, in
the transaction of the change. The clients' notices are queued for a whole batch once it is done
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
from billing.models import AutomationSettings, Product, Service
from billing.services.cancellation import cancellations_process, due_cancellations
from billing.services.ledger import lock_client
from portal.activity import Actor, log_activity
from portal.concurrency import run_on_threads
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
    """Claim and act on each work item; returns [(outcome, error)] in the same order. Calls run on a thread pool
    (each thread has its own database connection, closed when it is done)."""
    # The products once, shared read-only by the threads: the audit names the service ("Product – domain")
    # without a query each, and the claim never joins (a locking read would lock the product row too).
    products = Product.objects.in_bulk({item["product_id"] for item in items})
    results = run_on_threads(
        items,
        lambda item: process_item(item, date=date, actor=actor, mode=mode, products=products),
        threads=call_threads(threads),
        name="automation",
    )
    queue_notices(items, date=date)
    return results


def process_item(item, *, date, actor, mode, products=None):
    """Claim one service and suspend or terminate it. Returns (outcome, error). Never raises for one service:
    an unexpected error is logged and the next pass tries again."""

    action = item["action"]
    try:
        with transaction.atomic():
            if action == TERMINATE:
                lock_client(item["client_id"])  # billing's lock order: client, invoices, then the service
            claim = selection.still_due(item["service_id"], action, date, item["rule_days"])
            service = claim.select_for_update(skip_locked=True).first()
            if service is None:
                return SKIPPED, ""  # another pass holds it, or it is no longer due (paid, changed)
            if products and service.product_id in products:
                service.product = products[service.product_id]
            try:
                if action == SUSPEND:
                    hooks.service_suspend(service=service, actor=actor, reason=Service.SuspendReason.OVERDUE)
                else:
                    hooks.service_terminate(service=service, actor=actor)
            except hooks.ActionRefused:
                return SKIPPED, ""
            except hooks.ProviderError as exc:
                _log_decision(item, service, date=date, mode=mode, actor=actor, outcome=FAILED, error=exc.message)
                return FAILED, exc.message
            if action == TERMINATE:
                handle_terminated_service_invoices(service=service, actor=actor)
            _log_decision(item, service, date=date, mode=mode, actor=actor, outcome=DONE)
            return DONE, ""
    except Exception as exc:  # a database error or a bug: this service waits for the next pass
        logger.exception("Automation %s of service %s failed", action, item["service_id"])
        error = f"{type(exc).__name__}: {exc}"[:500]
        try:
            service = Service.objects.get(pk=item["service_id"])
            _log_decision(item, service, date=date, mode=mode, actor=actor, outcome=FAILED, error=error)
        except Exception:  # noqa: BLE001 - the database itself may be what failed; the log line above stays
            logger.exception("Could not record the failed automation decision for service %s", item["service_id"])
        return FAILED, error


def _log_decision(item, service, *, date, mode, actor, outcome, error=""):
    verb = "suspension" if item["action"] == SUSPEND else "termination"
    rule = f"{item['rule']}, {item['rule_days']} days"
    text = {DONE: "done", FAILED: f"failed, retried next run: {error}"}[outcome]
    log_activity(
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
