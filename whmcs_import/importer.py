"""The WHMCS import: every step in order, in one transaction (a dry run rolls it back), then the totals check.

Nothing is provisioned and nothing is e-mailed: rows are written with bulk_create/bulk_update, which call no
save() and send no model signals, and no billing or provisioning service (which would queue e-mails or call a
module) is used. One activity-log entry records the run."""
import time
from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone

from portal.activity import Actor, log_activity
from whmcs_import.report import Report
from whmcs_import.source import connect
from whmcs_import.steps import catalogue, money, people, services, settings, tax
from whmcs_import.writer import Mapping, Progress

STEPS = [
    ("currencies", people.import_currencies),
    ("client groups", people.import_client_groups),
    ("tax rules", tax.import_tax_rules),
    ("clients", people.import_clients),
    ("contacts", people.import_contacts),
    ("users", people.import_users),
    ("product groups", catalogue.import_product_groups),
    ("servers", catalogue.import_servers),
    ("server groups", catalogue.import_server_groups),
    ("products", catalogue.import_products),
    ("configurable options", catalogue.import_config_options),
    ("prices", catalogue.import_prices),
    ("services", services.import_services),
    ("VoIP clients", services.mark_voip_clients),
    ("invoices", money.import_invoices),
    ("invoice items", money.import_invoice_items),
    ("invoice tax lines", tax.import_invoice_tax_lines),
    ("transactions", money.import_transactions),
    ("credit", money.import_credit),
    ("e-mail templates", settings.import_email_templates),
    ("automation settings", settings.import_automation_settings),
    ("overwrite rules", settings.import_overwrite_rules),
    ("totals check", money.check_totals),
]


@dataclass
class Run:
    """What the steps share: the source, the report, the id mappings and the lookups built on the way."""

    source: object
    report: Report
    progress: Progress
    encryption_hash: str = ""
    mapping: Mapping = field(default_factory=Mapping)
    started_at: object = field(default_factory=timezone.now)
    currencies: dict = field(default_factory=dict)  # WHMCS currency id → code
    default_currency: str | None = None
    clients: dict = field(default_factory=dict)  # WHMCS id → portal pk, per table below
    client_currency: dict = field(default_factory=dict)
    client_region: dict = field(default_factory=dict)  # WHMCS client id → (country, state), for tax line names
    whmcs_credit: dict = field(default_factory=dict)
    product_groups: dict = field(default_factory=dict)
    products: dict = field(default_factory=dict)
    product_paytype: dict = field(default_factory=dict)
    deleted_group_id: int | None = None
    servers: dict = field(default_factory=dict)
    server_groups: dict = field(default_factory=dict)
    options: dict = field(default_factory=dict)  # "option id:product id" → pk
    choices: dict = field(default_factory=dict)  # "sub id:product id" → pk
    choices_by_sub: dict = field(default_factory=dict)
    services: dict = field(default_factory=dict)
    service_product: dict = field(default_factory=dict)
    voip_products: dict | None = None
    invoices: dict = field(default_factory=dict)
    invoice_taxes: dict = field(default_factory=dict)  # WHMCS invoice id → (client, taxrate, tax, taxrate2, tax2)
    tax_l2_compound: bool = False
    tax_inclusive: bool = False  # WHMCS's TaxType: its item amounts include tax
    tax_rounding: str = "invoice"  # WHMCS's TaxPerLineItem: "line" when on
    tax_rules: list = field(default_factory=list)  # tbltax rows
    settings_changed: dict = field(default_factory=dict)
    created: dict = field(default_factory=dict)  # WHMCS table → the WHMCS ids whose rows this run created


def run_import(*, database_url, dry_run=False, encryption_hash="", progress=None):
    """Import the WHMCS database at `database_url`; returns the Report. A dry run writes nothing."""
    report = Report(dry_run=dry_run)
    source = connect(database_url)
    run = Run(source=source, report=report, progress=progress or Progress(enabled=False),
              encryption_hash=encryption_hash)
    try:
        with transaction.atomic():
            for name, step in STEPS:
                started = time.monotonic()
                step(run)
                report.seconds[name] = time.monotonic() - started
            if source.repaired_text:
                report.notes.append(f"{source.repaired_text} text value(s) had Latin-1 mojibake (UTF-8 read as "
                                    "Latin-1) and were repaired.")
            log_activity(actor=Actor.system("import_whmcs"), action="whmcs.imported",
                         message="Imported a WHMCS database" + (" (dry run, rolled back)" if dry_run else ""),
                         data={"counts": {t: dict(c) for t, c in report.counts.items()},
                               "differences": len(report.differences), "settings_changed": list(run.settings_changed)})
            if dry_run:
                transaction.set_rollback(True)
    finally:
        source.close()
    return report
