"""`python manage.py run_automation [--date YYYY-MM-DD] [--dry-run] [--mode daily|every_run]`: the automation
engine for one business date, in this process. With --dry-run it prints what would happen and changes nothing."""
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from billing.automation import engine, locks
from billing.automation.report import format_table
from portal.management.arguments import iso_date


class Command(BaseCommand):
    help = ("Run the automation engine (overdue suspension/termination with overrides, cancellation requests, client "
            "status update) for a business date. --dry-run prints the table of what would happen and changes nothing.")

    def add_arguments(self, parser):
        parser.add_argument("--date", type=iso_date, help="Run date (business time zone); default: today.")
        parser.add_argument("--dry-run", action="store_true", help="Only print what would happen.")
        parser.add_argument("--mode", choices=[engine.DAILY, engine.EVERY_RUN], default=engine.DAILY,
                            help="daily: everything (default); every_run: only overrides in 'every run' mode.")
        parser.add_argument("--threads", type=int, help="Provider calls at once (default AUTOMATION_CALL_THREADS).")

    def handle(self, *args, date, dry_run, mode, threads, **options):
        day = date or timezone.localdate()
        if dry_run:
            plan = engine.run_automation(date=day, dry_run=True, mode=mode)
        else:
            token = locks.acquire_pass_lock()
            if token is None:
                raise CommandError("Another automation pass is running; try again when it has finished.")
            try:
                plan = engine.run_automation(date=day, mode=mode, threads=threads)
            finally:
                locks.release_pass_lock(token)
        self.stdout.write(format_table(plan))
        for note in plan.notes:
            self.stdout.write(note)
        self.stdout.write(("Dry run, nothing changed: " if dry_run else "") + plan.summary)
