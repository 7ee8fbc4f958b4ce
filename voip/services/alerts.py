"""Low-balance alerts (seed 002, voip-rating.md step 7): a latch per client.

- credit at or below the client's threshold (blank = off) and the latch clear → the "Low Balance Alert" is
  queued and the latch set (Client.low_balance_alert_sent_at);
- credit above the threshold (or the threshold removed) → the latch is cleared, arming the next alert.

Optional reminder (A2Billing's delay_notifications): with VoipSettings.low_balance_reminder_days = N (blank =
off, the default), a client still at or below its threshold whose last alert or reminder went out N or more
days ago (business dates) gets the alert again, and the latch's time moves to the reminder's. Without it, one
e-mail per crossing.

Alerts go out daily; the latch is also re-armed every five minutes by the autosuspend sweep, so a client who
tops up and falls again the same day still gets the next alert. Both steps are set-based UPDATEs; the alert
claim is conditional (two runs never both claim a client) and each crossing has its own e-mail event key.
"""
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from billing.emails import LOW_BALANCE, EmailRequest, queue_emails
from portal.models import Client
from voip.models import VoipSettings

CLAIM_BATCH = 1000


@dataclass(frozen=True)
class AlertRun:
    alerted: int = 0  # first alerts of a crossing
    reminded: int = 0  # reminders to clients still at or below their threshold
    rearmed: int = 0  # latches cleared (credit above the threshold again)


def rearm_low_balance_alerts():
    """Clear the latch of every client whose credit is above its threshold again. Returns how many."""
    return Client.objects.filter(low_balance_alert_sent_at__isnull=False).filter(
        Q(low_balance_threshold__isnull=True) | Q(credit_balance__gt=F("low_balance_threshold"))
    ).update(low_balance_alert_sent_at=None)


def _low(**latch):
    return (
        Client.objects.filter(
            low_balance_threshold__isnull=False, credit_balance__lte=F("low_balance_threshold"), **latch
        )
        .exclude(status=Client.Status.CLOSED)
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def _claim_and_queue(ids, latch, now, event):
    """Move the latch of `ids` still matching `latch` to `now` (a conditional UPDATE, so two runs never both
    claim a client) and queue the alert of those claimed. Returns how many."""
    claimed_total = 0
    stamp = now.strftime("%Y%m%dT%H%M%S.%f")
    for start in range(0, len(ids), CLAIM_BATCH):
        batch = ids[start : start + CLAIM_BATCH]
        with transaction.atomic():
            Client.objects.filter(pk__in=batch, **latch).update(low_balance_alert_sent_at=now)
            claimed = list(
                Client.objects.filter(pk__in=batch, low_balance_alert_sent_at=now).values_list("pk", flat=True)
            )
            queue_emails([EmailRequest(LOW_BALANCE, pk, f"{event}:{pk}:{stamp}") for pk in claimed])
        claimed_total += len(claimed)
    return claimed_total


def reminder_cutoff(now, days):
    """Alerts sent before this instant are `days` or more business days old on `now`'s business date."""
    today = timezone.localdate(now)
    return datetime.combine(today - timedelta(days=days - 1), time.min, tzinfo=timezone.get_current_timezone())


def send_low_balance_alerts(*, now=None):
    """Queue one alert per client that crossed its threshold since its last alert, and the reminders when they
    are on. Returns an AlertRun."""
    now = now or timezone.now()
    rearmed = rearm_low_balance_alerts()
    alerted = _claim_and_queue(list(_low(low_balance_alert_sent_at__isnull=True)),
                               {"low_balance_alert_sent_at__isnull": True}, now, "voip.low_balance")
    reminded = 0
    days = VoipSettings.load().low_balance_reminder_days
    if days:
        stale = {"low_balance_alert_sent_at__lt": reminder_cutoff(now, days)}
        reminded = _claim_and_queue(list(_low(**stale)), stale, now, "voip.low_balance_reminder")
    return AlertRun(alerted=alerted, reminded=reminded, rearmed=rearmed)
