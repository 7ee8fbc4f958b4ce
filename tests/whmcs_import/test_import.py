"""The WHMCS import of a small awkward database (awkward.py): what arrives, money per client, an imported login,
a re-run that changes nothing, a dry run that writes nothing, and no e-mail or provisioning on the way."""
from decimal import Decimal
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from billing.models import (
    AutomationSettings,
    InvoiceTaxLine,
    TaxRule,
    ConfigurableOption,
    CreditLedgerEntry,
    EmailLog,
    EmailTemplate,
    Invoice,
    InvoiceItem,
    OverwriteRule,
    Payment,
    Product,
    ProductPrice,
    Service,
    ServiceConfigOption,
)
from portal.models import ActivityLog, Client, ClientUser, Contact
from provisioning.models import ModuleCall, Server
from tests.whmcs_import.awkward import ALICE_PASSWORD, ENCRYPTION_HASH, SERVER_PASSWORD, SERVICE_PASSWORD
from whmcs_import.importer import run_import
from whmcs_import.models import ImportedRecord, PendingPasswordReset
from whmcs_import.source import SourceError, connect

pytestmark = pytest.mark.django_db
User = get_user_model()
MODELS = [Client, Contact, ClientUser, User, Product, ProductPrice, ConfigurableOption, Server, Service,
          ServiceConfigOption, Invoice, InvoiceItem, Payment, CreditLedgerEntry, OverwriteRule, ImportedRecord,
          PendingPasswordReset, TaxRule, InvoiceTaxLine]


def imported(whmcs_url, **kwargs):
    return run_import(database_url=whmcs_url, encryption_hash=ENCRYPTION_HASH, **kwargs)


def by_whmcs_id(model, source, whmcs_id):
    return model.objects.get(pk=ImportedRecord.objects.get(source=source, whmcs_id=str(whmcs_id)).local_id)


def counts():
    return {model.__name__: model.objects.count() for model in MODELS}


def snapshot():
    """Every imported row's values, to compare two runs."""
    return {model.__name__: sorted(map(repr, model.objects.order_by("pk").values()))
            for model in MODELS if model is not ImportedRecord}


def test_imports_every_row_or_reports_why(whmcs_url):
    report = imported(whmcs_url)
    assert counts() == {
        "Client": 3, "Contact": 1, "ClientUser": 2, "User": 2, "Product": 5, "ProductPrice": 5,
        "ConfigurableOption": 2, "Server": 1, "Service": 4, "ServiceConfigOption": 2, "Invoice": 6, "InvoiceItem": 8,
        "Payment": 5, "CreditLedgerEntry": 5, "OverwriteRule": 1, "ImportedRecord": 45, "PendingPasswordReset": 1,
        "TaxRule": 2, "InvoiceTaxLine": 3,
    }
    skipped = {(table, reason) for table, reason in report.skipped}
    assert ("tblhosting", "its client does not exist in WHMCS") in skipped
    assert ("tblusers", "not linked to any client") in skipped
    assert any(table == "tblaccounts" for table, _ in skipped)  # the expense without a client
    assert report.counts["tblinvoices"]["skipped"] == 1 and report.counts["tblinvoiceitems"]["skipped"] == 1


def test_money_per_client_equals_whmcs(whmcs_url):
    report = imported(whmcs_url)
    assert report.differences == []
    alice = by_whmcs_id(Client, "tblclients", 1)
    bob = by_whmcs_id(Client, "tblclients", 2)
    carol = by_whmcs_id(Client, "tblclients", 3)
    assert [c.credit_balance for c in (alice, bob, carol)] == [Decimal("25"), Decimal("10"), Decimal("7.5")]
    assert sum(i.total for i in alice.invoices.all()) == Decimal("65.00")
    partly = by_whmcs_id(Invoice, "tblinvoices", 2)
    assert (partly.status, partly.amount_paid, partly.balance) == ("unpaid", Decimal("20.00"), Decimal("30.00"))
    paid_with_credit = by_whmcs_id(Invoice, "tblinvoices", 3)
    assert (paid_with_credit.credit_applied, paid_with_credit.amount_paid, paid_with_credit.balance) == (
        Decimal("5.00"), Decimal("25.00"), Decimal("0.00"))
    refund = by_whmcs_id(Payment, "tblaccounts", 5)
    assert (refund.amount_out, refund.refund_of) == (Decimal("4.00"), by_whmcs_id(Payment, "tblaccounts", 1))
    assert by_whmcs_id(Payment, "tblaccounts", 1).fees == Decimal("0.59")
    # Carol's balance has no history in WHMCS: one opening-balance entry makes it up, and the report says so.
    assert carol.credit_entries.get().amount == Decimal("7.50")
    assert 3 in report.changed[("tblclients", "credit history does not add up to the credit balance: an "
                                              "opening-balance entry makes up the difference")]


def test_a_total_that_differs_is_reported(whmcs_url):
    imported(whmcs_url)
    alice = by_whmcs_id(Client, "tblclients", 1)
    Invoice.objects.filter(pk=by_whmcs_id(Invoice, "tblinvoices", 1).pk).update(total=Decimal("11.00"))
    from whmcs_import.importer import Run
    from whmcs_import.report import Report
    from whmcs_import.steps.money import check_totals
    from whmcs_import.writer import Progress

    run = Run(source=connect(whmcs_url), report=Report(), progress=Progress(enabled=False))
    run.clients = {1: alice.pk}
    run.whmcs_credit = {1: Decimal("25.00")}
    check_totals(run)
    assert run.report.differences == [{"client": 1, "what": "invoice totals", "whmcs": Decimal("65.00"),
                                       "portal": Decimal("66.00")}]


def test_awkward_values_arrive_right(whmcs_url):
    report = imported(whmcs_url)
    alice = by_whmcs_id(Client, "tblclients", 1)
    assert alice.notes == "Café réservé"  # mojibake from a Latin-1 column repaired
    assert Contact.objects.get().full_name == "Jürgen Müller"  # real Latin-1 read right
    bob = by_whmcs_id(Client, "tblclients", 2)
    assert (bob.currency, bob.tax_exempt, bob.status, bob.language, bob.country) == ("CAD", True, "inactive", "french", "US")
    mail_product = by_whmcs_id(Product, "tblproducts", 1)
    # -1 marks a cycle not offered: only monthly and annually in USD, monthly in CAD.
    assert sorted(mail_product.prices.values_list("currency", "cycle", "price", "setup_fee")) == [
        ("CAD", "monthly", Decimal("7.00"), Decimal("0.00")), ("USD", "annually", Decimal("50.00"), Decimal("0.00")),
        ("USD", "monthly", Decimal("5.00"), Decimal("1.50"))]
    options = mail_product.module_options  # by the seed's option numbers: 1 and 7 kept; 20 and 21 refused, defaulted
    assert (options["disk_tranche_size_gb"], options["max_users"], options["dkim_key_size"]) == ("2.00", 25, "2048")
    assert 1 in report.changed[("tblproducts", "module option 20 (dkim_key_size) refused: Option 20 (dkim_key_size): "
                                               "must be one of 1024, 2048, not '4096'. — the default is used")]
    assert mail_product.auto_accept_on_payment and mail_product.server_group.servers.get().password == SERVER_PASSWORD
    assert by_whmcs_id(Product, "tblproducts", 4).prices.count() == 0  # a free product has no prices
    onetime = by_whmcs_id(Product, "tblproducts", 3)
    assert list(onetime.prices.values_list("cycle", "price", "setup_fee")) == [("onetime", Decimal("100.00"), Decimal("0.00"))]
    assert by_whmcs_id(Product, "tblproducts", 4).name == "Mail Basic (WHMCS #4)"  # duplicate name in its group
    service = by_whmcs_id(Service, "tblhosting", 1)
    assert (service.password, service.username, service.disk_usage_mb, service.disk_limit_mb) == (
        SERVICE_PASSWORD, "arden", Decimal("512"), Decimal("1024"))
    assert (service.cancellation_type, service.cancellation_reason) == ("end_of_period", "Moving away")
    assert {(o.option.code, o.choice.code, o.quantity) for o in service.config_options.all()} == {
        ("mailboxes", "mailbox", 10), ("mailbox_type", "enhanced", 1)}
    orphan = by_whmcs_id(Service, "tblhosting", 2)  # product deleted in WHMCS, zero dates
    assert orphan.product.retired and orphan.product.name == "Deleted WHMCS product #9"
    assert (orphan.next_due_date, orphan.registration_date.isoformat()) == (None, "2020-01-01")
    assert (orphan.status, orphan.suspend_reason, orphan.suspend_reason_text) == ("suspended", "overdue", "Overdue on Payment")
    voip = by_whmcs_id(Service, "tblhosting", 3)
    assert voip.module_data["tenant"] == "rucken.wat1.ictvoip.ca"
    assert voip.module_data["dids"] == ["15484815577", "15197830020"] and voip.module_data["search_string"] == "8300"
    biennial = by_whmcs_id(Service, "tblhosting", 4)
    assert (biennial.billing_cycle, biennial.recurring_amount, biennial.status) == ("annually", Decimal("12.00"), "cancelled")
    assert by_whmcs_id(Invoice, "tblinvoices", 1).items.get().service == service
    assert by_whmcs_id(Invoice, "tblinvoices", 6).number == "2026-0003-W6"
    assert by_whmcs_id(Invoice, "tblinvoices", 6).kind == "add_funds"
    template = EmailTemplate.objects.get(name="Invoice Created")
    assert template.body == "Dear {{ client_first_name }},\n\nYour invoice is ready & waiting."
    settings = AutomationSettings.load()
    assert (settings.suspend_days, settings.terminate_days, settings.termination_enabled,
            settings.client_status_update, settings.invoice_days_before_due) == (7, 40, True, "products_login", 10)
    assert settings.override_cron_mode == "every_run"
    rule = OverwriteRule.objects.get()
    assert (rule.product, rule.suspend_days, rule.terminate_days) == (mail_product, 3, 20)
    assert report.password_resets == ["bob@example.com"]


def test_without_the_encryption_hash_passwords_stay_empty_and_are_listed(whmcs_url):
    report = run_import(database_url=whmcs_url)
    assert by_whmcs_id(Service, "tblhosting", 1).password == "" and Server.objects.get().password == ""
    assert dict(report.missing_secrets) == {"tblservers": [1], "tblhosting": [1]}


def test_an_imported_bcrypt_password_signs_in_and_is_rehashed(whmcs_url, client):
    imported(whmcs_url)
    alice = User.objects.get(username="alice@example.com")
    assert alice.password.startswith("whmcs_bcrypt$$2y$")
    response = client.post(reverse("clientarea:login"), {"username": "alice@example.com", "password": "wrong"})
    assert response.status_code == 200  # refused
    response = client.post(reverse("clientarea:login"), {"username": "alice@example.com", "password": ALICE_PASSWORD})
    assert response.status_code == 302 and client.get(reverse("clientarea:dashboard")).status_code == 200
    alice.refresh_from_db()
    assert alice.password.startswith("md5$")  # re-hashed with the preferred hasher (tests prefer MD5 for speed)
    assert alice.check_password(ALICE_PASSWORD)
    imported(whmcs_url)  # a re-run keeps the portal's password: WHMCS's hash did not change
    alice.refresh_from_db()
    assert alice.password.startswith("md5$")


def test_md5_era_logins_get_a_reset_only_when_staff_send_them(whmcs_url):
    imported(whmcs_url)
    bob = User.objects.get(username="bob@example.com")
    assert not bob.has_usable_password() and mail.outbox == []
    call_command("send_whmcs_password_resets")
    assert [m.to for m in mail.outbox] == [["bob@example.com"]]
    assert "/password-reset/" in mail.outbox[0].body
    call_command("send_whmcs_password_resets")
    assert len(mail.outbox) == 1  # each login once


def test_nothing_is_emailed_or_provisioned(whmcs_url, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        imported(whmcs_url)
    assert mail.outbox == [] and EmailLog.objects.count() == 0 and ModuleCall.objects.count() == 0
    assert list(ActivityLog.objects.values_list("action", flat=True)) == ["whmcs.imported"]


def test_a_rerun_changes_nothing(whmcs_url):
    imported(whmcs_url)
    before_counts, before = counts(), snapshot()
    report = imported(whmcs_url)
    assert counts() == before_counts and snapshot() == before
    assert all(counter["created"] == 0 and counter["updated"] == 0 for counter in report.counts.values()), report.text()


def test_a_rerun_updates_what_changed_in_whmcs(whmcs_url):
    imported(whmcs_url)
    Service.objects.filter(pk=by_whmcs_id(Service, "tblhosting", 1).pk).update(recurring_amount=Decimal("1.00"),
                                                                                module_data={"kept": "yes"})
    InvoiceItem.objects.filter(invoice=by_whmcs_id(Invoice, "tblinvoices", 2)).update(amount=Decimal("1.00"))
    report = imported(whmcs_url)
    service = by_whmcs_id(Service, "tblhosting", 1)
    assert service.recurring_amount == Decimal("15.00") and service.module_data == {"kept": "yes"}
    assert report.counts["tblhosting"]["updated"] == 1 and Service.objects.count() == 4
    items = by_whmcs_id(Invoice, "tblinvoices", 2).items.all()
    assert [item.amount for item in items] == [Decimal("40.00"), Decimal("5.00")]  # the invoice's items replaced
    assert report.counts["tblinvoiceitems"]["updated"] == 2 and InvoiceItem.objects.count() == 8


def test_a_dry_run_writes_nothing(whmcs_url):
    before = counts()
    report = imported(whmcs_url, dry_run=True)
    assert counts() == before and AutomationSettings.objects.count() == 0 and ActivityLog.objects.count() == 0
    assert report.counts["tblclients"]["created"] == 3 and "DRY RUN" in report.text()


def test_the_command_prints_the_report_and_saves_it(whmcs_url, tmp_path):
    out, err = StringIO(), StringIO()
    call_command("import_whmcs", "--database-url", whmcs_url, "--dry-run", "--report", str(tmp_path / "r.json"),
                 stdout=out, stderr=err)
    assert "tblclients" in out.getvalue() and "bob@example.com" in out.getvalue()
    assert err.getvalue() == ""  # no progress display when stderr is not a terminal…
    call_command("import_whmcs", "--database-url", whmcs_url, "--dry-run", "--progress", stdout=out, stderr=err)
    assert "invoices: 7/7 in" in err.getvalue()  # …unless asked for
    assert '"password_resets_needed"' in (tmp_path / "r.json").read_text()


def test_the_source_is_read_only(whmcs_url):
    source = connect(whmcs_url)
    try:
        with pytest.raises(Exception, match="READ ONLY|read-only|read only"):
            source.connection.cursor().execute("DELETE FROM tblclients")
    finally:
        source.close()


def test_a_bad_url_is_a_clear_error():
    with pytest.raises(SourceError, match="mysql://"):
        connect("postgres://x/y")


def test_queries_do_not_grow_with_rows(whmcs_url, whmcs_bigger_url):
    with CaptureQueriesContext(connection) as small:
        imported(whmcs_url)
    with CaptureQueriesContext(connection) as rerun_small:
        imported(whmcs_url)
    with CaptureQueriesContext(connection) as bigger:
        imported(whmcs_bigger_url)  # 40 more clients, logins, services, 80 invoices, items and payments
    with CaptureQueriesContext(connection) as rerun_bigger:
        imported(whmcs_bigger_url)
    assert len(rerun_bigger) == len(rerun_small)
    assert len(bigger) <= len(small) + 10  # the new rows are inserted in the same batches


def lines_of(invoice):
    return [(line.level, line.name, line.rate, line.compound, line.country, line.region, line.base, line.tax)
            for line in invoice.tax_lines.order_by("level")]


def test_invoices_get_their_tax_breakdown(whmcs_url):
    report = imported(whmcs_url)
    compound = by_whmcs_id(Invoice, "tblinvoices", 7)  # QST compounds on GST (TaxL2Compound on)
    assert (compound.tax_rate, compound.tax_rate2, compound.tax, compound.total) == (
        Decimal("5.000"), Decimal("9.975"), Decimal("15.47"), Decimal("125.47"))
    assert lines_of(compound) == [
        (1, "GST", Decimal("5.000"), False, "CA", "", Decimal("100.00"), Decimal("5.00")),
        (2, "QST", Decimal("9.975"), True, "CA", "Quebec", Decimal("105.00"), Decimal("10.47"))]
    # A rate no rule has any more: named "Tax"; charged on the taxed items only.
    assert lines_of(by_whmcs_id(Invoice, "tblinvoices", 2)) == [
        (1, "Tax", Decimal("11.111"), False, "CA", "", Decimal("45.00"), Decimal("5.00"))]
    assert not by_whmcs_id(Invoice, "tblinvoices", 1).tax_lines.exists()
    assert report.counts["tblinvoices (tax lines)"]["created"] == 3
    assert not any("tax2" in what for _, what in report.changed)  # level 2 is a line of its own now


def test_a_changed_tax_line_is_put_back_and_the_others_are_left_alone(whmcs_url):
    imported(whmcs_url)
    compound = by_whmcs_id(Invoice, "tblinvoices", 7)
    untouched = InvoiceTaxLine.objects.get(invoice=compound, level=1)
    InvoiceTaxLine.objects.filter(invoice=compound, level=2).update(tax=Decimal("1.00"))
    report = imported(whmcs_url)
    assert InvoiceTaxLine.objects.get(invoice=compound, level=2).tax == Decimal("10.47")
    assert InvoiceTaxLine.objects.get(invoice=compound, level=1).pk == untouched.pk
    assert report.counts["tblinvoices (tax lines)"] == {"created": 0, "updated": 1, "unchanged": 2}


def test_tax_rules_are_imported_and_overlaps_refused(whmcs_url):
    report = imported(whmcs_url)
    assert sorted(TaxRule.objects.values_list("country", "region", "level", "name", "rate", "compound")) == [
        ("CA", "", 1, "GST", Decimal("5.000"), False), ("CA", "Quebec", 2, "QST", Decimal("9.975"), True)]
    assert report.skipped[("tbltax", "applies to every country: a portal tax rule is for one country (add one rule "
                                     "per country in the staff area)")] == [3]
    assert report.skipped[("tbltax", "overlaps WHMCS tax rule #1 (same country, state and level)")] == [4]
    assert by_whmcs_id(TaxRule, "tbltax", 2).name == "QST"
    # WHMCS rounds per line item (TaxPerLineItem on); the portal's TAX_ROUNDING is the environment's to set.
    assert "WHMCS's TaxPerLineItem is on: set TAX_ROUNDING=line in the portal's environment (it is now invoice)." \
        in report.notes
    assert not any("TAX_PRICES_INCLUDE_TAX" in note for note in report.notes)  # Exclusive, as the portal's default


def test_a_tax_rule_overlapping_a_portal_rule_is_refused(whmcs_url):
    TaxRule.objects.create(country="CA", region="quebec", level=2, name="TVQ", rate=Decimal("9.975"))
    report = imported(whmcs_url)
    assert report.skipped[("tbltax", "overlaps the portal's rule 'TVQ' (same country, state and level): change "
                                     "that one")] == [2]
    assert TaxRule.objects.filter(level=2).get().name == "TVQ"


def test_tax_ids_become_vat_numbers_when_valid_and_other_tax_ids_outside_the_eu_are_kept(whmcs_url):
    report = imported(whmcs_url)
    alice, bob = by_whmcs_id(Client, "tblclients", 1), by_whmcs_id(Client, "tblclients", 2)
    carol = by_whmcs_id(Client, "tblclients", 3)
    assert (carol.vat_number, carol.vat_check) == ("123456789 RT0001", "foreign")
    assert (alice.vat_number, alice.vat_check) == ("DE136695976", "format") and alice.vat_checked_at is not None
    assert (bob.vat_number, bob.vat_check, bob.vat_checked_at) == ("", "", None)
    assert report.changed[("tblclients", "tax_id 'DE136695977' not imported: The VAT number DE136695977 fails its "
                                         "check digit: look for a mistyped digit.")] == [2]


def test_clients_with_a_voip_service_are_marked(whmcs_url):
    imported(whmcs_url)
    marked = {whmcs_id: by_whmcs_id(Client, "tblclients", whmcs_id).has_voip_service for whmcs_id in (1, 2, 3)}
    assert marked == {1: False, 2: True, 3: False}  # Bob has the active Vodia PBX service


def test_invoices_record_how_whmcs_figured_the_tax(whmcs_url):
    imported(whmcs_url)
    assert set(Invoice.objects.values_list("prices_include_tax", "tax_rounding")) == {(False, "line")}


def test_with_inclusive_prices_the_base_is_the_taxed_items_less_their_tax(whmcs_url):
    """WHMCS's Inclusive tax type: item amounts are gross. Invoice 7 so priced (115.47 for the taxed item) has the
    same breakdown as its exclusive twin."""
    from types import SimpleNamespace

    from whmcs_import.importer import Run
    from whmcs_import.report import Report
    from whmcs_import.steps.tax import import_invoice_tax_lines
    from whmcs_import.writer import Progress

    imported(whmcs_url)
    invoice = by_whmcs_id(Invoice, "tblinvoices", 7)
    source = SimpleNamespace(rows=lambda sql: [{"k": 7, "v": Decimal("115.47")}])
    run = Run(source=source, report=Report(), progress=Progress(enabled=False), tax_inclusive=True,
              tax_l2_compound=True, invoices={7: invoice.pk}, client_region={3: ("CA", "Quebec")},
              invoice_taxes={7: (3, Decimal("5.000"), Decimal("5.00"), Decimal("9.975"), Decimal("10.47"))})
    import_invoice_tax_lines(run)
    assert run.report.counts["tblinvoices (tax lines)"] == {"created": 0, "updated": 2, "unchanged": 0}  # renamed
    assert [(line[0], line[6], line[7]) for line in lines_of(invoice)] == [
        (1, Decimal("100.00"), Decimal("5.00")), (2, Decimal("105.00"), Decimal("10.47"))]


def test_whmcs_has_voip_service_field_is_carried_over_where_it_exists(whmcs_url):
    """Seed 002 sets WHMCS up with a "Has VoIP Service" client field: its Yes/No wins over the services."""
    from types import SimpleNamespace

    from whmcs_import.importer import Run
    from whmcs_import.report import Report
    from whmcs_import.steps.services import mark_voip_clients
    from whmcs_import.writer import Progress

    imported(whmcs_url)
    answers = {"tblcustomfields": [{"id": 9, "fieldname": "Has VoIP Service|Has VoIP Service"}],
               "tblcustomfieldsvalues": [{"relid": 1, "value": "Yes"}, {"relid": 2, "value": "No"},
                                         {"relid": 99, "value": "Yes"}]}
    source = SimpleNamespace(rows=lambda sql, params=(): answers[sql.split("FROM ")[1].split()[0]])
    clients = {w: by_whmcs_id(Client, "tblclients", w).pk for w in (1, 2, 3)}
    run = Run(source=source, report=Report(), progress=Progress(enabled=False), clients=clients)
    mark_voip_clients(run)
    assert dict(Client.objects.values_list("pk", "has_voip_service")) == {
        clients[1]: True, clients[2]: False, clients[3]: False}  # Bob's Vodia service is not autosuspended
    assert run.report.counts["tblclients (Has VoIP Service)"] == {"updated": 2, "unchanged": 0}
