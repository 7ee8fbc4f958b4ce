"""Import legacy VoIP pipe lines (seed 002) for existing services: docs/voip-providers.md §2.

    python manage.py import_voip_lines lines.csv [--dry-run]

The CSV has a header with `service` (the service id) and `line`, optionally `search_string` and `cdr_url`.
A bad row is reported on stderr with its line number and the good rows are saved.
"""
import csv

from django.core.management.base import BaseCommand, CommandError

from billing.models import Service
from portal.activity import Actor
from provisioning.voip_services import (
    IdentifierError,
    VoipIdentifiers,
    clean_identifiers,
    identifier_keys,
    merge_identifiers,
    parse_legacy_line,
    product_number_settings,
    set_voip_identifiers,
    voip_kind,
)

REQUIRED = ("service", "line")
OPTIONAL = ("search_string", "cdr_url")


class Command(BaseCommand):
    help = "Import legacy VoIP pipe lines ('tenant | DID | DID | ext', 'peer | DID') for existing services."

    def add_arguments(self, parser):
        parser.add_argument("file", help="CSV with a header: service, line[, search_string][, cdr_url].")
        parser.add_argument("--dry-run", action="store_true", help="Check every row; save nothing.")

    def handle(self, *args, file, dry_run, **options):
        try:
            with open(file, encoding="utf-8-sig", newline="") as handle:
                self._import(csv.DictReader(handle), file, dry_run)
        except (OSError, UnicodeDecodeError, csv.Error) as exc:
            raise CommandError(f"Cannot read {file}: {exc}") from exc

    def _import(self, reader, file, dry_run):
        header = [name.strip().lower() for name in reader.fieldnames or []]
        missing = [name for name in REQUIRED if name not in header]
        if missing:
            raise CommandError(f"{file}: the header needs the column(s) {', '.join(missing)} "
                               f"(found: {', '.join(header) or 'nothing'}).")
        reader.fieldnames = header
        counts = {"saved": 0, "unchanged": 0, "bad": 0}
        actor = Actor.system("import_voip_lines")
        for row in reader:
            line = reader.line_num
            try:
                service, identifiers = self._row(row)
            except (IdentifierError, ValueError) as exc:
                counts["bad"] += 1
                self.stderr.write(f"line {line}: {exc}")
                continue
            if dry_run:
                counts["saved"] += 1
                continue
            changed = set_voip_identifiers(service=service, identifiers=identifiers, actor=actor)
            counts["saved" if changed else "unchanged"] += 1
        verb = "would be saved" if dry_run else "saved"
        self.stdout.write(f"{counts['saved']} service(s) {verb}, {counts['unchanged']} unchanged, "
                          f"{counts['bad']} bad line(s).")

    @staticmethod
    def _row(row):
        raw_id = (row.get("service") or "").strip()
        if not raw_id.isdigit():
            raise ValueError(f"service {raw_id!r} is not a service id")
        service = Service.objects.select_related("product").filter(pk=int(raw_id)).first()
        if service is None:
            raise ValueError(f"there is no service {raw_id}")
        kind = voip_kind(service)
        if not kind:
            raise ValueError(f"service {raw_id} ({service.domain}) is not a VoIP service (its product's module is "
                             f"{service.product.module or 'none'})")
        region, local_npa = product_number_settings(service.product)
        current = VoipIdentifiers.from_module_data(kind, service.module_data)
        identifiers = merge_identifiers(current, parse_legacy_line(kind, row.get("line") or "", region=region,
                                                                   local_npa=local_npa))
        keys = identifier_keys(kind)
        extra = {key: (row.get(key) or "").strip() for key in OPTIONAL if key in keys and (row.get(key) or "").strip()}
        if extra:
            values = {**identifiers.as_module_data(), **extra}
            identifiers = clean_identifiers(kind, values, region=region, local_npa=local_npa)
        return service, identifiers
