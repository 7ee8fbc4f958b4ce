"""Import a WHMCS 8.x database: docs/whmcs-migration.md.

    python manage.py import_whmcs --database-url mysql://user:pass@host/whmcs [--dry-run]
        [--encryption-hash HASH] [--report report.json] [--progress]

Reads WHMCS read-only; writes everything in one transaction (a dry run rolls it back); run it again to bring over
what changed since (rows are matched by their WHMCS id). Sends no e-mail and provisions nothing."""
import os

from django.core.management.base import BaseCommand, CommandError

from whmcs_import.importer import run_import
from whmcs_import.source import SourceError
from whmcs_import.writer import Progress


class Command(BaseCommand):
    help = "Import clients, products, services, invoices and settings from a WHMCS 8.x database (read-only)."

    def add_arguments(self, parser):
        parser.add_argument("--database-url", required=True, help="mysql://user:password@host:port/whmcs")
        parser.add_argument("--dry-run", action="store_true", help="Import everything, report, and roll it all back.")
        parser.add_argument("--encryption-hash", default=os.environ.get("WHMCS_ENCRYPTION_HASH", ""),
                            help="$cc_encryption_hash from WHMCS's configuration.php, to decrypt server and service "
                                 "passwords (or the WHMCS_ENCRYPTION_HASH environment variable). Without it they "
                                 "are left empty and listed.")
        parser.add_argument("--report", help="Also save the full report (every row id) as JSON to this file.")
        parser.add_argument("--progress", action="store_true", help="Show progress on stderr even when not a terminal.")

    def handle(self, *args, database_url, dry_run, encryption_hash, report, progress, **options):
        try:
            result = run_import(database_url=database_url, dry_run=dry_run, encryption_hash=encryption_hash,
                                progress=Progress(enabled=True if progress else None, stream=self.stderr._out))
        except SourceError as exc:
            raise CommandError(str(exc)) from exc
        if report:
            result.save(report)
        self.stdout.write(result.text())
