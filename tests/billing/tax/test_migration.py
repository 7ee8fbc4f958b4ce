"""Migration billing.0015's data steps: each old per-country tax rate becomes a level 1 rule, each taxed invoice gets
its breakdown line (the rate it was issued with, on its taxable lines), and the credit-note sequence and e-mail
exist. The steps run here against today's models, with the old TaxRate table stood in for by its rows (migrating the
schema back and forth would need a transactional test, whose flush empties the rows other tests rely on)."""
from datetime import date
from decimal import Decimal as D
from importlib import import_module
from types import SimpleNamespace

import pytest
from django.apps import apps as current_apps

from billing.models import EmailTemplate, Invoice, InvoiceItem, InvoiceTaxLine, NumberSequence, TaxRule
from tests.factories import ClientFactory

pytestmark = pytest.mark.django_db
migration = import_module("billing.migrations.0015_tax_rules_credit_notes")


class _OldRates:
    """The rows of the TaxRate table as it was, for the data steps' `apps.get_model("billing", "TaxRate")`."""

    def __init__(self, rows):
        rates = [SimpleNamespace(country=c, name=n, rate=r) for c, n, r in rows]
        self.objects = SimpleNamespace(all=lambda: rates, values_list=lambda *f: [(r.country, r.name) for r in rates])


class _Apps:
    def __init__(self, old_rates):
        self.old_rates = old_rates

    def get_model(self, app, name):
        return self.old_rates if name == "TaxRate" else current_apps.get_model(app, name)


def test_rates_become_rules_and_taxed_invoices_get_their_line():
    apps = _Apps(_OldRates([("CA", "HST", D("13.000"))]))
    client = ClientFactory(country="CA")
    taxed = Invoice.objects.create(client=client, number="OLD-1", due_date=date(2026, 1, 1), subtotal=D("30.00"),
                                   tax_rate=D("13.000"), tax=D("2.60"), total=D("32.60"))
    InvoiceItem.objects.create(invoice=taxed, description="taxed", amount=D("20.00"), taxable=True)
    InvoiceItem.objects.create(invoice=taxed, description="not taxed", amount=D("10.00"), taxable=False)
    untaxed = Invoice.objects.create(client=client, number="OLD-2", due_date=date(2026, 1, 1), subtotal=D("5.00"),
                                     total=D("5.00"))
    migration.rates_to_rules(apps, None)
    migration.breakdown_of_taxed_invoices(apps, None)
    assert list(TaxRule.objects.values_list("country", "region", "level", "name", "rate")) == [
        ("CA", "", 1, "HST", D("13.000"))]
    assert list(InvoiceTaxLine.objects.filter(invoice=taxed).values_list("level", "name", "rate", "country", "base",
                                                                         "tax")) == [
        (1, "HST", D("13.000"), "CA", D("20.00"), D("2.60"))]
    assert not InvoiceTaxLine.objects.filter(invoice=untaxed).exists()
    assert NumberSequence.objects.filter(name="credit_note").exists()
    assert EmailTemplate.objects.filter(name="Credit Note Issued").exists()
