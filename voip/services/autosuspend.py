"""VoIP autosuspend (seed 002 "Suspend", voip-rating.md step 8): the five-minute sweep.

Who is suspended — the rules as implemented (docs/voip.md "Autosuspend" explains them to staff):

- Prepaid VoIP services (products of type VoIP, billing mode prepaid) are suspended when the client's credit is
  at or below zero, or when its unpaid invoices (add-funds invoices excluded: they are not debts) add up to
  more than its credit. They are unsuspended when the credit is above zero and nothing is outstanding. Between
  the two (credit positive, something unpaid that the credit covers) nothing changes.
- Postpaid VoIP services (billing mode postpaid): the client's postpaid balance is
      credit − unbilled postpaid usage − unpaid invoices (add-funds excluded)
  and the threshold is −(the client's VoIP credit limit). Suspended when balance ≤ −limit; unsuspended when
  balance > −limit and no unpaid invoice is past its due date (a usage invoice within its terms is normal).
- "Manual VoIP Suspend" on the client suspends all its VoIP services, whatever the credit.
- "VoIP Suspended" is the override: None (default) lets the credit decide; Yes keeps the services
  suspended; No keeps them running (with "Manual VoIP Suspend" off: seed 002's way to exempt an account).
- "Has VoIP Service" must be Yes for autosuspend to act on services of the custom API modules (Vodia, LesNet,
  any module but FusionPBX); seed 002 says these fields have no effect on the FusionPBX module, whose
  services are always swept. A service already suspended for VoIP credit is unsuspended when its client is
  healthy again whatever that field says, so turning autosuspend off never strands a client.
- Only services the sweep suspended (reason "No VoIP credit") are unsuspended by it; services suspended for
  an overdue invoice or by staff are left alone.

How: two set-based queries select the services whose state must change (every other client costs nothing but
its row in the scan); each change is re-checked and carried out through provisioning.lifecycle on a thread
pool, so provider calls run concurrently. Suspension passes the product's `auto_suspend_mode`; the lifecycle
stores the mode on the service and unsuspension hands that stored mode back, so changing the product's mode
while clients are suspended no longer strands them (seed 002's warning). "VoIP Zero Balance" goes out once
per suspension event of a client (its event key is the client and the time its services were suspended).
"""
import logging
from dataclasses import dataclass, field
from decimal import Decimal

from django.conf import settings
from django.db import connection
from django.db.models import DecimalField, ExpressionWrapper, F, Max, Min, Q, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from billing.emails import VOIP_ZERO_BALANCE, EmailRequest, queue_emails
from billing.models import Invoice, Product, Service
from portal.concurrency import run_on_threads
from portal.activity import Actor
from portal.models import Client
from provisioning import lifecycle
from provisioning.modules.base import ModuleError
from voip.models import BillingMode
from voip.services.alerts import rearm_low_balance_alerts

logger = logging.getLogger(__name__)

#: Modules whose services autosuspend sweeps whatever "Has VoIP Service" says (seed 002: the client fields
#: gate only the custom API modules); settings.VOIP_AUTOSUSPEND_UNGATED_MODULES replaces the list.
UNGATED_MODULES = ("fusionpbx",)
MODE_OPTION = "auto_suspend_mode"
DEFAULT_THREADS = 16
ACTOR_NAME = "voip_autosuspend"
V = Client.VoipSuspended

SUSPEND, UNSUSPEND = "suspend", "unsuspend"
# Why a service is suspended, kept as its suspension text.
BY_MANUAL_FLAG = "Manual VoIP Suspend is set on the client"
BY_OVERRIDE = "VoIP Suspended is set to Yes on the client"
BY_CREDIT = "No VoIP credit: the balance is zero or less, or unpaid invoices exceed it"
BY_LIMIT = "VoIP credit limit reached: unbilled calls and unpaid invoices less the credit reach the limit"
CREDIT_RULES = (BY_CREDIT, BY_LIMIT)


def _balance():
    return ExpressionWrapper(
        F("total") - F("amount_paid") - F("credit_applied"), output_field=DecimalField(max_digits=12, decimal_places=2)
    )


def _unpaid():
    return Invoice.objects.filter(status=Invoice.Status.UNPAID).exclude(kind=Invoice.Kind.ADD_FUNDS)


def dues_and_overdue(client_ids=None, today=None):
    """{client id: (owed on unpaid invoices (add-funds invoices excluded), of which past its due date)} for the
    clients that owe anything: one aggregate over the unpaid invoices (all of them, or those of `client_ids`)."""
    today = today or timezone.localdate()
    unpaid = _unpaid() if client_ids is None else _unpaid().filter(client_id__in=client_ids)
    rows = (
        unpaid.values("client_id")
        .annotate(due=Sum(_balance()), overdue=Sum(_balance(), filter=Q(due_date__lt=today)))
        .filter(due__gt=0).order_by()
    )
    return {row["client_id"]: (row["due"], row["overdue"] or 0) for row in rows}


def _unbilled():
    """The client's cached unbilled postpaid usage (voip.services.unbilled); 0 without a row."""
    return Coalesce(
        F("client__voip_unbilled__amount"), Value(Decimal(0)), output_field=DecimalField(max_digits=14, decimal_places=4)
    )


def _headroom():
    """What a postpaid client may still owe before its limit: credit − unbilled usage + credit limit (its unpaid
    invoices are then compared with it)."""
    return ExpressionWrapper(
        F("client__credit_balance") - _unbilled() + F("client__voip_credit_limit"),
        output_field=DecimalField(max_digits=16, decimal_places=4),
    )


def clients_owing_too_much():
    """(prepaid, postpaid): ids of the clients whose unpaid invoices exceed their credit (the prepaid rule), and
    of those whose unpaid invoices reach their postpaid headroom (credit − unbilled + limit). One aggregate over
    the unpaid invoices, read as lists first so the service scan below compares with constants (a subquery
    there let MariaDB choose a plan re-running it per row on fresh statistics: minutes instead of
    milliseconds)."""
    # The client's columns enter the HAVING clause through MAX (one value per client): MariaDB refuses a bare
    # column of a joined table there.
    headroom = ExpressionWrapper(
        Max("client__credit_balance") - Max(_unbilled()) + Max("client__voip_credit_limit"),
        output_field=DecimalField(max_digits=16, decimal_places=4),
    )
    rows = (
        _unpaid().values("client_id", "client__credit_balance")
        .annotate(due=Sum(_balance()), headroom=headroom)
        .filter(Q(due__gt=F("client__credit_balance")) | Q(due__gt=0, due__gte=F("headroom")))
        .order_by().values_list("client_id", "due", "client__credit_balance", "headroom")
    )
    prepaid, postpaid = [], []
    for client_id, due, credit, headroom in rows:
        if due > credit:
            prepaid.append(client_id)
        if due >= headroom:
            postpaid.append(client_id)
    return prepaid, postpaid


def ungated_modules():
    """The modules swept whatever "Has VoIP Service" says (the setting, else UNGATED_MODULES)."""
    return tuple(getattr(settings, "VOIP_AUTOSUSPEND_UNGATED_MODULES", UNGATED_MODULES))


def gate():
    """Services autosuspend may suspend: the ungated modules', and the others' when the client has "Has VoIP
    Service" set."""
    return Q(product__module__in=ungated_modules()) | Q(client__has_voip_service=True)


VOIP = Q(product__type=Product.Type.VOIP)
POSTPAID = Q(product__voip__billing_mode=BillingMode.POSTPAID)
FORCED = Q(client__manual_voip_suspend=True) | Q(client__voip_suspended=V.YES)
AUTOMATIC = Q(client__manual_voip_suspend=False, client__voip_suspended=V.NONE)
CLIENT_STATE = ("client__manual_voip_suspend", "client__voip_suspended", "client__credit_balance")
POSTPAID_STATE = ("mode", "client__voip_credit_limit", "unbilled")


def _with_postpaid_state(services):
    return services.annotate(mode=F("product__voip__billing_mode"), unbilled=_unbilled())


def to_suspend(owing_more_than_credit, over_limit=()):
    """Active VoIP services that must be suspended, given the clients owing more than their credit (prepaid)
    and those whose unpaid invoices reach their postpaid headroom."""
    prepaid = ~POSTPAID & (Q(client__credit_balance__lte=0) | Q(client_id__in=owing_more_than_credit))
    postpaid = POSTPAID & (Q(headroom__lte=0) | Q(client_id__in=list(over_limit)))
    return (
        Service.objects.filter(VOIP, gate(), status=Service.Status.ACTIVE).alias(headroom=_headroom())
        .filter(FORCED | (AUTOMATIC & (prepaid | postpaid)))
    )


def suspended_for_credit():
    """VoIP services the sweep suspended (reason VoIP credit): the candidates for unsuspension, few at a time."""
    return Service.objects.filter(
        VOIP, status=Service.Status.SUSPENDED, suspend_reason=Service.SuspendReason.VOIP_CREDIT
    )


def postpaid_balance(credit, unbilled, due):
    """A postpaid client's balance: credit − unbilled postpaid usage − unpaid invoices."""
    return credit - (unbilled or 0) - (due or 0)


def suspension_reason(manual, override, credit, due, mode=BillingMode.PREPAID, limit=0, unbilled=0):
    """Why a client's VoIP service must be suspended, or "" — the rules of the module docstring."""
    if manual:
        return BY_MANUAL_FLAG
    if override == V.YES:
        return BY_OVERRIDE
    if override != V.NONE:
        return ""
    if mode == BillingMode.POSTPAID:
        return BY_LIMIT if postpaid_balance(credit, unbilled, due) <= -(limit or 0) else ""
    return BY_CREDIT if credit <= 0 or due > credit else ""


def may_unsuspend(manual, override, credit, due, mode=BillingMode.PREPAID, limit=0, unbilled=0, overdue=0):
    """Whether a service suspended for VoIP credit comes back: nothing forces it off, and the client is healthy
    or exempt ("VoIP Suspended: No"). Healthy, prepaid: credit above zero and nothing outstanding; postpaid:
    balance above −limit and nothing past its due date."""
    if manual or override == V.YES:
        return False
    if override == V.NO:
        return True
    if mode == BillingMode.POSTPAID:
        return postpaid_balance(credit, unbilled, due) > -(limit or 0) and not overdue
    return credit > 0 and not due


@dataclass
class SweepResult:
    suspended: list = field(default_factory=list)  # service ids
    unsuspended: list = field(default_factory=list)
    failed: list = field(default_factory=list)  # (service id, action, error)
    emails: int = 0
    rearmed: int = 0

    def __str__(self):
        text = f"{len(self.suspended)} suspended, {len(self.unsuspended)} unsuspended"
        if self.failed:
            text += f", {len(self.failed)} failed"
        return text + f", {self.emails} zero-balance e-mail(s)"


@dataclass(frozen=True)
class Change:
    action: str
    service_id: int
    client_id: int
    mode: str = ""
    reason_text: str = ""

    @property
    def by_credit(self):
        return self.reason_text in CREDIT_RULES


def plan():
    """The changes the sweep would make now, in four queries whatever the number of clients: the clients owing
    more than their credit, the active services to suspend (one scan), the services suspended for credit, and
    what their clients owe."""
    changes = []
    rows = _with_postpaid_state(to_suspend(*clients_owing_too_much())).values_list(
        "id", "client_id", "client__manual_voip_suspend", "client__voip_suspended", "product__module_options", "mode"
    )
    for service_id, client_id, manual, override, options, billing_mode in rows.order_by("client_id", "id"):
        # The scan decided; this says which rule (any balance at or below the threshold gives the credit rule).
        reason = suspension_reason(manual, override, 0, 0, billing_mode, 0, 0)
        mode = str((options or {}).get(MODE_OPTION) or "") if isinstance(options, dict) else ""
        changes.append(Change(SUSPEND, service_id, client_id, mode, reason))
    candidates = list(
        _with_postpaid_state(suspended_for_credit()).values_list("id", "client_id", *CLIENT_STATE, *POSTPAID_STATE)
        .order_by("client_id", "id")
    )
    owed = dues_and_overdue({row[1] for row in candidates}) if candidates else {}
    for service_id, client_id, *state in candidates:
        due, overdue = owed.get(client_id, (0, 0))
        if _may_unsuspend(state, due, overdue):
            changes.append(Change(UNSUSPEND, service_id, client_id))
    return changes


def _may_unsuspend(state, due, overdue):
    manual, override, credit, mode, limit, unbilled = state
    return may_unsuspend(manual, override, credit, due, mode, limit, unbilled, overdue)


def still_holds(change):
    """The change re-checked against the client as it is now (it may have topped up since the plan)."""
    service = (
        _with_postpaid_state(Service.objects.filter(pk=change.service_id))
        .values("status", "suspend_reason", "product__module", "client__has_voip_service", *CLIENT_STATE,
                *POSTPAID_STATE).first()
    )
    if service is None:
        return False
    manual, override, credit, mode, limit, unbilled = [service[name] for name in (*CLIENT_STATE, *POSTPAID_STATE)]
    due, overdue = dues_and_overdue([change.client_id]).get(change.client_id, (0, 0))
    if change.action == SUSPEND:
        allowed = service["product__module"] in ungated_modules() or service["client__has_voip_service"]
        reason = suspension_reason(manual, override, credit, due, mode, limit, unbilled)
        return service["status"] == Service.Status.ACTIVE and allowed and bool(reason)
    return service["suspend_reason"] == Service.SuspendReason.VOIP_CREDIT and may_unsuspend(
        manual, override, credit, due, mode, limit, unbilled, overdue
    )


def call_threads(threads=None):
    """Provider calls at once; SQLite takes one writer at a time, so one there."""
    if connection.vendor == "sqlite":
        return 1
    return threads or getattr(settings, "VOIP_AUTOSUSPEND_THREADS", DEFAULT_THREADS)


def run_sweep(*, threads=None):
    """One sweep: re-arm low-balance alerts, then suspend and unsuspend as the rules say. Safe to run twice
    or concurrently (each change is re-checked under the service's row lock by the lifecycle)."""
    result = SweepResult(rearmed=rearm_low_balance_alerts())
    changes = plan()
    if not changes:
        return result
    actor = Actor.system(ACTOR_NAME)
    outcomes = _run_all(changes, actor, call_threads(threads))
    for change, (done, error) in zip(changes, outcomes):
        if error:
            result.failed.append((change.service_id, change.action, error))
        elif done:
            (result.suspended if change.action == SUSPEND else result.unsuspended).append(change.service_id)
    result.emails = _zero_balance_emails(changes, set(result.suspended))
    return result


def _run_all(changes, actor, threads):
    return run_on_threads(changes, lambda change: apply_change(change, actor), threads=threads, name="voip-autosuspend")


def apply_change(change, actor):
    """Carry out one change if it still holds. Returns (done, error text). Never raises for one service."""
    try:
        if not still_holds(change):  # the client topped up (or fell) meanwhile
            return False, ""
        service = Service.objects.get(pk=change.service_id)
        if change.action == SUSPEND:
            lifecycle.service_suspend(
                service=service, actor=actor, reason=Service.SuspendReason.VOIP_CREDIT,
                reason_text=change.reason_text, mode=change.mode,
            )
        else:
            lifecycle.service_unsuspend(service=service, actor=actor)
        return True, ""
    except lifecycle.InvalidTransition:
        return False, ""  # another sweep or a staff member got there first
    except ModuleError as exc:  # recorded by the lifecycle (ModuleCall, activity, retry queue)
        return False, exc.message
    except Exception as exc:  # one service's surprise must not stop the sweep
        logger.exception("VoIP autosuspend could not %s service %s", change.action, change.service_id)
        return False, f"{type(exc).__name__}: {exc}"


def _zero_balance_emails(changes, suspended):
    """'VoIP Zero Balance' for each client whose services this sweep suspended for credit; the event key is the
    client and the time its current suspension began, so one suspension event sends one e-mail."""
    clients = {change.client_id for change in changes if change.service_id in suspended and change.by_credit}
    if not clients:
        return 0
    started = (
        Service.objects.filter(
            client_id__in=clients, status=Service.Status.SUSPENDED, suspend_reason=Service.SuspendReason.VOIP_CREDIT
        ).values("client_id").annotate(first=Min("suspended_at")).order_by("client_id")
    )
    requests = [
        EmailRequest(VOIP_ZERO_BALANCE, row["client_id"], f"voip.zero_balance:{row['client_id']}:"
                     f"{timezone.localtime(row['first']).strftime('%Y%m%dT%H%M%S.%f')}")
        for row in started
    ]
    return len(queue_emails(requests))
