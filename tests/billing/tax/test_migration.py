"""Migration billing.0012: each old per-country tax rate becomes a level 1 rule, each taxed invoice gets its
breakdown line (the rate it was issued with, on its taxable lines), and the credit-note sequence and e-mail exist."""
from datetime import date
from decimal import Decimal as D

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [("billing", "0011_seed_service_welcome_email")]
AFTER = [("billing", "0012_tax_rules_credit_notes")]


@pytest.mark.django_db(transaction=True, serialized_rollback=True)  # keeps the rows migrations seed
def test_rates_become_rules_and_taxed_invoices_get_their_line():
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    old = executor.loader.project_state([*BEFORE, ("portal", "0009_client_vat_number")]).apps
    old.get_model("billing", "TaxRate").objects.create(country="CA", name="HST", rate=D("13.000"))
    client = old.get_model("portal", "Client").objects.create(first_name="A", last_name="B", email="a@example.com",
                                                              country="CA")
    Invoice, Item = old.get_model("billing", "Invoice"), old.get_model("billing", "InvoiceItem")
    taxed = Invoice.objects.create(client=client, number="OLD-1", due_date=date(2026, 1, 1), subtotal=D("30.00"),
                                   tax_rate=D("13.000"), tax=D("2.60"), total=D("32.60"))
    Item.objects.create(invoice=taxed, description="taxed", amount=D("20.00"), taxable=True)
    Item.objects.create(invoice=taxed, description="not taxed", amount=D("10.00"), taxable=False)
    untaxed = Invoice.objects.create(client=client, number="OLD-2", due_date=date(2026, 1, 1), subtotal=D("5.00"),
                                     total=D("5.00"))
    executor = MigrationExecutor(connection)
    executor.migrate(AFTER)
    new = executor.loader.project_state(AFTER).apps
    rules = list(new.get_model("billing", "TaxRule").objects.values_list("country", "region", "level", "name", "rate"))
    assert rules == [("CA", "", 1, "HST", D("13.000"))]
    lines = new.get_model("billing", "InvoiceTaxLine").objects
    assert list(lines.filter(invoice_id=taxed.pk).values_list("level", "name", "rate", "country", "base", "tax")) == [
        (1, "HST", D("13.000"), "CA", D("20.00"), D("2.60"))]
    assert not lines.filter(invoice_id=untaxed.pk).exists()
    assert new.get_model("billing", "NumberSequence").objects.filter(name="credit_note").exists()
    assert new.get_model("billing", "EmailTemplate").objects.filter(name="Credit Note Issued").exists()
