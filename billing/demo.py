"""The demo's tax setup (composed by config.demo): Canada's GST everywhere, Ontario's HST instead of it, Quebec's
QST as a second level beside the GST, and the EU's standard VAT rates (for OSS sales to EU consumers). The demo's
Canadian clients live in Ontario and Quebec, so their invoices show a one- and a two-level breakdown."""
from decimal import Decimal

from billing.models import TaxRule

CANADA = [  # (region, level, name, rate): a region's rule replaces the country's at its level
    ("", 1, "GST", "5.000"),
    ("ON", 1, "HST", "13.000"),
    ("QC", 2, "QST", "9.975"),
]
EU_VAT = {"AT": "20", "BE": "21", "DE": "19", "DK": "25", "ES": "21", "FI": "25.5", "FR": "20", "IE": "23", "IT": "22",
          "NL": "21", "PL": "23", "PT": "23", "SE": "25"}


def load_tax_rules():
    """The rules, once (loading twice adds nothing)."""
    if TaxRule.objects.exists():
        return
    rules = [TaxRule(country="CA", region=region, level=level, name=name, rate=Decimal(rate))
             for region, level, name, rate in CANADA]
    rules += [TaxRule(country=country, name="VAT", rate=Decimal(rate)) for country, rate in EU_VAT.items()]
    TaxRule.objects.bulk_create(rules)
