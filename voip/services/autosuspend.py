"""VoIP autosuspend (seed 002 "Suspend", voip-rating.md step 8): the five-minute sweep.

Who is suspended — the rules as implemented (docs/voip.md "Autosuspend" explains them to staff):

- A client's VoIP services (products of type VoIP) are suspended when its credit is at or below zero, or
  when its unpaid invoices (add-funds invoices excluded: they are not debts) add up to more than its credit.
  They are unsuspended when the credit is above zero and nothing is outstanding. Between the two (credit
  positive, something unpaid that the credit covers) nothing changes.
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

from django.conf import settings
from django.db import connection
from django.db.models import DecimalField, ExpressionWrapper, F, Min, Q, Sum
from django.utils import timezone

from billing.emails import VOIP_ZERO_BALANCE, EmailRequest, queue_emails
from billing.models import Invoice, Product, Service
from portal.concurrency import run_on_threads
from portal.activity import Actor
from portal.models import Client
from provisioning import lifecycle
from provisioning.modules.base import ModuleError
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


def _balance():
    return ExpressionWrapper(
        F("total") - F("amount_paid") - F("credit_applied"), output_field=DecimalField(max_digits=12, decimal_places=2)
    )


def _unpaid():
    return Invoice.objects.filter(status=Invoice.Status.UNPAID).exclude(kind=Invoice.Kind.ADD_FUNDS)


def dues(client_ids=None):
    """{client id: what it owes on unpaid invoices (add-funds invoices excluded)} for the clients that owe
    anything: one aggregate over the unpaid invoices (all of them, or those of `client_ids`)."""
    unpaid = _unpaid() if client_ids is None else _unpaid().filter(client_id__in=client_ids)
    rows = unpaid.values("client_id").annotate(due=Sum(_balance())).filter(due__gt=0).order_by()
    return {row["client_id"]: row["due"] for row in rows}


def clients_owing_more_than_credit():
    """Ids of the clients whose unpaid invoices add up to more than their credit: one aggregate over the unpaid
    invoices. Read as a list first, so the service scan below compares with constants (a subquery there let
    MariaDB choose a plan re-running it per row on fresh statistics: minutes instead of milliseconds)."""
    return list(
        _unpaid().values("client_id", "client__credit_balance").annotate(due=Sum(_balance()))
        .filter(due__gt=F("client__credit_balance")).order_by().values_list("client_id", flat=True)
    )


def gate():
    """Services autosuspend may suspend: the ungated modules', and the others' when the client has "Has VoIP
    Service" set."""
    ungated = tuple(getattr(settings, "VOIP_AUTOSUSPEND_UNGATED_MODULES", UNGATED_MODULES))
    return Q(product__module__in=ungated) | Q(client__has_voip_service=True)


VOIP = Q(product__type=Product.Type.VOIP)
FORCED = Q(client__manual_voip_suspend=True) | Q(client__voip_suspended=V.YES)
AUTOMATIC = Q(client__manual_voip_suspend=False, client__voip_suspended=V.NONE)
CLIENT_STATE = ("client__manual_voip_suspend", "client__voip_suspended", "client__credit_balance")


def to_suspend(owing_more_than_credit):
    """Active VoIP services that must be suspended, given the clients owing more than their credit."""
    no_credit = Q(client__credit_balance__lte=0) | Q(client_id__in=owing_more_than_credit)
    return Service.objects.filter(VOIP, gate(), status=Service.Status.ACTIVE).filter(FORCED | (AUTOMATIC & no_credit))


def suspended_for_credit():
    """VoIP services the sweep suspended (reason VoIP credit): the candidates for unsuspension, few at a time."""
    return Service.objects.filter(
        VOIP, status=Service.Status.SUSPENDED, suspend_reason=Service.SuspendReason.VOIP_CREDIT
    )


def suspension_reason(manual, override, credit, due):
    """Why a client's VoIP services must be suspended, or "" — the rule of the module docstring."""
    if manual:
        return BY_MANUAL_FLAG
    if override == V.YES:
        return BY_OVERRIDE
    if override == V.NONE and (credit <= 0 or due > credit):
        return BY_CREDIT
    return ""


def may_unsuspend(manual, override, credit, due):
    """Whether services suspended for VoIP credit come back: nothing forces them off, and the client is healthy
    (credit above zero, nothing outstanding) or exempt ("VoIP Suspended: No")."""
    if manual or override == V.YES:
        return False
    return override == V.NO or (credit > 0 and not due)


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
        return self.reason_text == BY_CREDIT


def plan():
    """The changes the sweep would make now, in four queries whatever the number of clients: the clients owing
    more than their credit, the active services to suspend (one scan), the services suspended for credit, and
    what their clients owe."""
    changes = []
    rows = to_suspend(clients_owing_more_than_credit()).values_list(
        "id", "client_id", "client__manual_voip_suspend", "client__voip_suspended", "product__module_options"
    )
    for service_id, client_id, manual, override, options in rows.order_by("client_id", "id"):
        reason = suspension_reason(manual, override, 0, 0)  # the scan decided; this says which rule
        mode = str((options or {}).get(MODE_OPTION) or "") if isinstance(options, dict) else ""
        changes.append(Change(SUSPEND, service_id, client_id, mode, reason))
    candidates = list(suspended_for_credit().values_list("id", "client_id", *CLIENT_STATE).order_by("client_id", "id"))
    owed = dues({row[1] for row in candidates}) if candidates else {}
    for service_id, client_id, manual, override, credit in candidates:
        if may_unsuspend(manual, override, credit, owed.get(client_id, 0)):
            changes.append(Change(UNSUSPEND, service_id, client_id))
    return changes


def still_holds(change):
    """The change re-checked against the client as it is now (it may have topped up since the plan)."""
    service = (
        Service.objects.filter(pk=change.service_id)
        .values("status", "suspend_reason", "product__module", "client__has_voip_service", *CLIENT_STATE).first()
    )
    if service is None:
        return False
    state = [service[name] for name in CLIENT_STATE]
    due = dues([change.client_id]).get(change.client_id, 0)
    if change.action == SUSPEND:
        ungated = service["product__module"] in getattr(settings, "VOIP_AUTOSUSPEND_UNGATED_MODULES", UNGATED_MODULES)
        allowed = ungated or service["client__has_voip_service"]
        return service["status"] == Service.Status.ACTIVE and allowed and bool(suspension_reason(*state, due))
    return service["suspend_reason"] == Service.SuspendReason.VOIP_CREDIT and may_unsuspend(*state, due)


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
