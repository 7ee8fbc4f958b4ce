"""`python manage.py invoice_voip_usage [--date YYYY-MM-DD]`: the monthly postpaid call invoices for a run date
(the month before it is billed), in this process. Running it again for the same date bills nothing twice."""

from django.core.management.base import BaseCommand
from django.utils import timezone

from portal.activity import Actor
from portal.jobs import track_job
from portal.management.arguments import iso_date
from voip.services.invoicing import ACTOR_NAME, invoice_usage, previous_period


class Command(BaseCommand):
    help = ("Invoice the postpaid VoIP calls of the calendar month before --date (default: today, business time "
            "zone): one invoice per client, one line per service. Idempotent.")

    def add_arguments(self, parser):
        parser.add_argument("--date", type=iso_date, help="Run date; the month before it is billed.")

    def handle(self, *args, date, **options):
        day = date or timezone.localdate()
        start, end = previous_period(day)
        self.stdout.write(f"Invoicing postpaid calls of {start} – {end} (invoices dated {day})…")
        with track_job("voip_usage_invoicing") as summary:
            result = invoice_usage(run_date=day, actor=Actor.system(ACTOR_NAME))
            summary["summary"] = result.summary
        self.stdout.write(result.summary)
