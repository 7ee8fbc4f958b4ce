"""Client status update (seed 004, Setup > Automation Settings > Miscellaneous > "Client Status Update").

- Off: client statuses are left alone.
- "Change client status based on active/inactive products": an Active client without a live service becomes
  Inactive; an Inactive client with a live service becomes Active again.
- "... and not logged in for longer than 3 months": an Active client becomes Inactive only if it has no live
  service *and* has not logged in for longer than 3 months; an Inactive client becomes Active again when it has
  a live service *or* logged in within the last 3 months.

Definitions (the seed is silent on them):
- a live service is Pending, Active or Suspended. A suspended client may still pay, and the seed sets clients
  Inactive as the consequence of termination; a pending order is a client who is signing up;
- "3 months" on run date D ends at 00:00 of D minus three calendar months in the business time zone (the same
  day of the month, or that month's last day: 31 May → 28/29 February). A client "logged in within 3 months"
  has its last login at or after that instant; one that never logged in counts from the day it was created
  (a new client is not "not logged in for longer than 3 months");
- Closed clients are never changed.

The selection is two set-based queries (EXISTS on Service's (client, status) index); the update is guarded by
the status it expects, so a concurrent change of the same client is not overwritten.
"""
from dataclasses import dataclass
from datetime import datetime, time

from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from billing.models import AutomationSettings, Service
from billing.money import add_months
from portal.activity import build_entry, log_activities
from portal.models import Client

MODE = AutomationSettings.ClientStatusUpdate
CHUNK = 1000


@dataclass(frozen=True)
class StatusChange:
    client: Client  # unsaved instance with pk and names: enough for labels and the audit entry, no query
    to: str
    reason: str

    @property
    def client_id(self):
        return self.client.pk


def login_cutoff(date):
    """The instant before which a last login is "longer than 3 months" ago on `date` (business time zone)."""
    return timezone.make_aware(datetime.combine(add_months(date, -3), time.min))


def _keeps_active(mode, date, excluding_services):
    live = Service.objects.filter(client_id=OuterRef("pk"), status__in=Service.LIVE_STATUSES)
    if excluding_services:
        live = live.exclude(pk__in=list(excluding_services))
    keep = Q(Exists(live))
    if mode == MODE.PRODUCTS_OR_LOGIN:
        cutoff = login_cutoff(date)
        keep |= Q(last_login_at__gte=cutoff) | Q(last_login_at__isnull=True, created_at__gte=cutoff)
    return keep


def _reason(mode, to):
    by_login = mode == MODE.PRODUCTS_OR_LOGIN
    if to == Client.Status.INACTIVE:
        return "no active products" + (" and no login for longer than 3 months" if by_login else "")
    return "has active products" + (" or a login within 3 months" if by_login else "")


def planned_changes(*, date, mode, excluding_services=(), limit=None):
    """The status changes due on `date`. `excluding_services`: services about to end in the same run (a preview
    counts them as gone)."""
    if mode == MODE.OFF:
        return []
    keep = _keeps_active(mode, date, excluding_services)
    fields = ("pk", "company_name", "first_name", "last_name")
    selections = (
        (Client.Status.INACTIVE, Client.objects.filter(status=Client.Status.ACTIVE).exclude(keep)),
        (Client.Status.ACTIVE, Client.objects.filter(keep, status=Client.Status.INACTIVE)),
    )
    changes = []
    for to, clients in selections:
        rows = clients.order_by("pk").values_list(*fields)
        for pk, company, first, last in rows[:limit] if limit else rows:
            client = Client(pk=pk, company_name=company, first_name=first, last_name=last)
            changes.append(StatusChange(client, to, _reason(mode, to)))
    return changes


def count_changes(*, date, mode):
    """(clients to become Inactive, clients to become Active) on `date`."""
    if mode == MODE.OFF:
        return 0, 0
    keep = _keeps_active(mode, date, ())
    return (
        Client.objects.filter(status=Client.Status.ACTIVE).exclude(keep).count(),
        Client.objects.filter(keep, status=Client.Status.INACTIVE).count(),
    )


def update_client_statuses(*, date, mode, actor):
    """Apply the changes due on `date`; each one is written to ActivityLog. Returns the changes made."""
    done = []
    changes = planned_changes(date=date, mode=mode)
    for to in (Client.Status.INACTIVE, Client.Status.ACTIVE):
        wanted = [c for c in changes if c.to == to]
        expected = Client.Status.ACTIVE if to == Client.Status.INACTIVE else Client.Status.INACTIVE
        for start in range(0, len(wanted), CHUNK):
            chunk = {c.client_id: c for c in wanted[start : start + CHUNK]}
            # Only those still in the expected status: a concurrent change (staff, another run) wins.
            ids = list(Client.objects.filter(pk__in=list(chunk), status=expected).values_list("pk", flat=True))
            Client.objects.filter(pk__in=ids, status=expected).update(status=to, updated_at=timezone.now())
            entries = []
            for client_id in ids:
                change = chunk[client_id]
                entries.append(
                    build_entry(
                        actor=actor, action="client.status_update", target=change.client,
                        message=f"Client {change.client}: {Client.Status(expected).label} → "
                        f"{Client.Status(to).label} ({change.reason})",
                        data={"from": expected, "to": to, "rule": f"client status update: {mode}", "date": str(date)},
                    )
                )
                done.append(change)
            log_activities(entries)
    return done
