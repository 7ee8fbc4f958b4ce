"""Celery tasks of billing: thin wrappers that take ids or a date, call one service function and own the
retry policy. Every task is safe to run twice or at once (see each service function)."""
from datetime import date as date_type
from datetime import timedelta

from celery import shared_task
from django.utils import timezone

from billing import emails
from billing.services.generation import generate_invoices as generate
from billing.services.payments import after_invoices_paid
from portal.activity import Actor
from portal.jobs import track_job

EMAIL_RETRIES = 5


@shared_task(time_limit=1800, soft_time_limit=1700)
def generate_invoices(run_date=None):
    """Daily: bill what is due on one business date (default: today) (billing.services.generation.generate_invoices)."""
    day = date_type.fromisoformat(run_date) if run_date else timezone.localdate()
    with track_job("invoice_generation") as summary:
        summary["summary"] = f"{day}: {generate(date=day, actor=Actor.system('generate_invoices')).summary}"
    return summary["summary"]


@shared_task(bind=True, max_retries=EMAIL_RETRIES, time_limit=300, soft_time_limit=280)
def send_emails(self, log_ids):
    """Send queued e-mails; rows the mail server refused are retried with backoff, then marked failed."""
    sent, failed = emails.deliver(log_ids=log_ids)
    if failed:
        if self.request.retries >= EMAIL_RETRIES:
            emails.give_up(failed)
        else:
            raise self.retry(kwargs={"log_ids": failed}, countdown=60 * 2**self.request.retries)
    return sent


@shared_task(time_limit=300, soft_time_limit=280)
def send_stale_emails():
    """Every few minutes: send rows queued long ago whose task was lost (a broker restart, a crash)."""
    with track_job("email_queue") as summary:
        sent, failed = emails.deliver(older_than=timedelta(minutes=10))
        summary["summary"] = f"{sent} sent, {len(failed)} deferred"


@shared_task(bind=True, max_retries=5, time_limit=600, soft_time_limit=570)
def invoice_paid_follow_up(self, invoice_ids):
    """After a payment commits: accept auto-accept orders and unsuspend services suspended for non-payment.
    A temporary module error is retried with backoff; a permanent one waits for staff (lifecycle's retry queue)."""
    result = after_invoices_paid(invoice_ids=invoice_ids, actor=Actor.system("payment_follow_up"))
    if any(not error.permanent for _, error in result.failed) and self.request.retries < self.max_retries:
        raise self.retry(countdown=60 * 2**self.request.retries)
    return {"accepted": len(result.accepted), "unsuspended": len(result.unsuspended), "failed": len(result.failed)}


# What billing's services queue once their transaction commits (billing.hooks, answered in billing/apps.py).
def send_emails_later(log_ids):
    send_emails.delay(log_ids=log_ids)


def follow_up_paid_invoices_later(invoice_ids):
    invoice_paid_follow_up.delay(invoice_ids=invoice_ids)
