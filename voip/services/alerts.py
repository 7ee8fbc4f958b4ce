"""Low-balance alerts (seed 002, voip-rating.md step 7): a latch per client.

- credit at or below the client's threshold (blank = off) and the latch clear → the "Low Balance Alert" is
  queued and the latch set (Client.low_balance_alert_sent_at);
- credit above the threshold (or the threshold removed) → the latch is cleared, arming the next alert.

Alerts go out daily; the latch is also re-armed every five minutes by the autosuspend sweep, so a client who
tops up and falls again the same day still gets the next alert. Both steps are set-based UPDATEs; the alert
claim is conditional (two runs never both claim a client) and each crossing has its own e-mail event key.
"""
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from billing.emails import LOW_BALANCE, EmailRequest, queue_emails
from portal.models import Client

CLAIM_BATCH = 1000


def rearm_low_balance_alerts():
    """Clear the latch of every client whose credit is above its threshold again. Returns how many."""
    return Client.objects.filter(low_balance_alert_sent_at__isnull=False).filter(
        Q(low_balance_threshold__isnull=True) | Q(credit_balance__gt=F("low_balance_threshold"))
    ).update(low_balance_alert_sent_at=None)


def send_low_balance_alerts(*, now=None):
    """Queue one alert per client that crossed its threshold since its last alert. Returns (alerted, re-armed)."""
    now = now or timezone.now()
    rearmed = rearm_low_balance_alerts()
    due = (
        Client.objects.filter(
            low_balance_threshold__isnull=False, low_balance_alert_sent_at__isnull=True,
            credit_balance__lte=F("low_balance_threshold"),
        )
        .exclude(status=Client.Status.CLOSED)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    ids = list(due)
    alerted = 0
    for start in range(0, len(ids), CLAIM_BATCH):
        batch = ids[start : start + CLAIM_BATCH]
        with transaction.atomic():
            Client.objects.filter(pk__in=batch, low_balance_alert_sent_at__isnull=True).update(
                low_balance_alert_sent_at=now
            )
            claimed = list(
                Client.objects.filter(pk__in=batch, low_balance_alert_sent_at=now).values_list("pk", flat=True)
            )
            stamp = now.strftime("%Y%m%dT%H%M%S.%f")
            queue_emails([EmailRequest(LOW_BALANCE, pk, f"voip.low_balance:{pk}:{stamp}") for pk in claimed])
        alerted += len(claimed)
    return alerted, rearmed
