from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand

from api.whmcs.coverage import render, table


class Command(BaseCommand):
    help = "Print the WHMCS API coverage table, or with --write update it in docs/whmcs-api.md."

    def add_arguments(self, parser):
        parser.add_argument("--write", action="store_true")

    def handle(self, *args, write=False, **options):
        if not write:
            self.stdout.write(table())
            return
        path = Path(settings.BASE_DIR) / "docs" / "whmcs-api.md"
        path.write_text(render(path.read_text()))
        self.stdout.write(f"Updated {path}")
