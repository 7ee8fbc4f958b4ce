"""Low-balance alerts (seed 002, voip-rating.md step 7): one alert per downward crossing of the threshold."""
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from billing.emails import LOW_BALANCE
from billing.models import CreditLedgerEntry, EmailLog
from billing.services.ledger import ledger_post
from portal.models import Client
from tests.factories import ClientFactory
from voip.services.alerts import AlertRun, send_low_balance_alerts
from voip.services.autosuspend import run_sweep

pytestmark = pytest.mark.django_db


def move(client, amount):
    ledger_post(client=client, kind=CreditLedgerEntry.Kind.ADJUSTMENT, amount=Decimal(amount), description="t")


def alerts(client):
    return list(EmailLog.objects.filter(client=client, template_name=LOW_BALANCE).values_list("event_key", flat=True))


def test_one_alert_per_crossing_and_armed_again_above_the_threshold():
    client = ClientFactory(low_balance_threshold=Decimal("10.00"))
    move(client, "25")
    assert send_low_balance_alerts() == AlertRun()
    move(client, "-15")  # exactly at the threshold: "at or below"
    assert send_low_balance_alerts().alerted == 1
    assert Client.objects.get(pk=client.pk).low_balance_alert_sent_at is not None
    move(client, "-5")
    assert send_low_balance_alerts() == AlertRun()  # still below: latched
    assert len(alerts(client)) == 1
    move(client, "20")  # 25 > 10: re-armed
    assert send_low_balance_alerts() == AlertRun(rearmed=1)
    move(client, "-20")
    later = timezone.now() + timedelta(days=1)
    assert send_low_balance_alerts(now=later).alerted == 1
    keys = alerts(client)
    assert len(keys) == 2 and len(set(keys)) == 2


def test_the_five_minute_sweep_re_arms_a_client_who_topped_up_the_same_day():
    client = ClientFactory(low_balance_threshold=Decimal("10.00"))
    send_low_balance_alerts()
    move(client, "50")
    run_sweep()
    assert Client.objects.get(pk=client.pk).low_balance_alert_sent_at is None


def test_a_blank_threshold_sends_nothing_and_a_closed_client_is_skipped():
    ClientFactory(low_balance_threshold=None)
    ClientFactory(low_balance_threshold=Decimal("5.00"), status=Client.Status.CLOSED)
    assert send_low_balance_alerts() == AlertRun()
    assert not EmailLog.objects.exists()


def test_the_alert_is_rendered_with_the_seed_merge_fields(settings):
    client = ClientFactory(low_balance_threshold=Decimal("10.00"), first_name="Dana")
    move(client, "4.5")
    from billing.emails import deliver

    send_low_balance_alerts()
    sent, failed = deliver()
    log = EmailLog.objects.get(client=client)
    assert (sent, failed, log.status) == (1, [], "sent")
    assert "Dana" in log.body and "4.50" in log.body and "10.00" in log.body


def reminders_every(days):
    from voip.models import VoipSettings

    VoipSettings.objects.update_or_create(singleton=True, defaults={"low_balance_reminder_days": days})


def test_reminders_are_off_by_default_one_email_per_crossing():
    client = ClientFactory(low_balance_threshold=Decimal("10.00"))
    start = timezone.now()
    send_low_balance_alerts(now=start)
    for day in range(1, 40):
        assert send_low_balance_alerts(now=start + timedelta(days=day)) == AlertRun()
    assert len(alerts(client)) == 1


def test_a_reminder_every_n_days_while_still_at_or_below_the_threshold():
    reminders_every(3)
    client = ClientFactory(low_balance_threshold=Decimal("10.00"))
    other = ClientFactory(low_balance_threshold=Decimal("10.00"))
    move(other, "50")  # above: never alerted nor reminded
    start = timezone.now().replace(hour=9, minute=0)
    assert send_low_balance_alerts(now=start).alerted == 1
    assert send_low_balance_alerts(now=start + timedelta(days=1)) == AlertRun()
    assert send_low_balance_alerts(now=start + timedelta(days=2)) == AlertRun()
    # Three business days later, even if this run starts a little earlier in the day than the alert's.
    assert send_low_balance_alerts(now=start + timedelta(days=3, minutes=-5)) == AlertRun(reminded=1)
    assert send_low_balance_alerts(now=start + timedelta(days=3, minutes=30)) == AlertRun()  # once per day
    assert send_low_balance_alerts(now=start + timedelta(days=5)) == AlertRun()
    assert send_low_balance_alerts(now=start + timedelta(days=6)) == AlertRun(reminded=1)
    keys = alerts(client)
    assert len(keys) == 3 and sum(key.startswith("voip.low_balance_reminder:") for key in keys) == 2
    assert alerts(other) == []


def test_no_reminder_after_the_credit_rose_and_a_new_crossing_alerts_again():
    reminders_every(1)
    client = ClientFactory(low_balance_threshold=Decimal("10.00"))
    start = timezone.now()
    send_low_balance_alerts(now=start)
    move(client, "20")  # above the threshold: re-armed, nothing to remind
    assert send_low_balance_alerts(now=start + timedelta(days=1)) == AlertRun(rearmed=1)
    move(client, "-20")
    assert send_low_balance_alerts(now=start + timedelta(days=2)) == AlertRun(alerted=1)
    assert [key.split(":")[0] for key in alerts(client)] == ["voip.low_balance", "voip.low_balance"]


def test_closed_clients_get_no_reminder():
    reminders_every(1)
    client = ClientFactory(low_balance_threshold=Decimal("10.00"))
    start = timezone.now()
    send_low_balance_alerts(now=start)
    Client.objects.filter(pk=client.pk).update(status=Client.Status.CLOSED)
    assert send_low_balance_alerts(now=start + timedelta(days=2)) == AlertRun()
