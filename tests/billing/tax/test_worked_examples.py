"""The worked examples of docs/tax.md, each with its exact amounts, through the whole path (rules → invoice →
tax lines). Change an example here and there together."""
from decimal import Decimal as D

import pytest

from billing.models import Invoice, TaxTreatment
from billing.tax.compute import Level, compute
from billing.tax.treatment import REVERSE_CHARGE_NOTE
from tests.billing.tax.conftest import breakdown, invoice_of, rule
from tests.factories import ClientFactory

pytestmark = pytest.mark.django_db


def test_example_1_exclusive_prices(settings):
    rule("DE", "19.000")
    invoice = invoice_of(ClientFactory(country="DE"), D("100.00"), D("19.99"))
    assert (invoice.subtotal, invoice.tax, invoice.total) == (D("119.99"), D("22.80"), D("142.79"))  # 22.7981 → 22.80
    assert breakdown(invoice) == [("VAT", D("19.000"), D("119.99"), D("22.80"))]
    assert invoice.tax_rate == D("19.000") and not invoice.prices_include_tax


def test_example_2_inclusive_prices(settings):
    settings.TAX_PRICES_INCLUDE_TAX = True
    rule("NL", "21.000", name="BTW")
    invoice = invoice_of(ClientFactory(country="NL"), D("10.00"))
    # net = 10.00 / 1.21 = 8.2644… → 8.26; the tax is what is left of the price: 1.74
    assert (invoice.subtotal, invoice.tax, invoice.total) == (D("8.26"), D("1.74"), D("10.00"))
    assert breakdown(invoice) == [("BTW", D("21.000"), D("8.26"), D("1.74"))]
    assert invoice.prices_include_tax and invoice.items.get().amount == D("10.00")


def test_example_3_two_levels_not_compound():
    rule("CA", "5.000", name="GST")
    rule("CA", "7.000", name="PST", level=2, region="British Columbia")
    invoice = invoice_of(ClientFactory(country="CA", state="british columbia"), D("33.33"))
    # GST 1.6665 → 1.67; PST on the same base 2.3331 → 2.33
    assert breakdown(invoice) == [("GST", D("5.000"), D("33.33"), D("1.67")), ("PST", D("7.000"), D("33.33"), D("2.33"))]
    assert (invoice.subtotal, invoice.tax, invoice.total) == (D("33.33"), D("4.00"), D("37.33"))
    assert (invoice.tax_rate, invoice.tax_rate2) == (D("5.000"), D("7.000"))
    other_province = invoice_of(ClientFactory(country="CA", state="Alberta"), D("33.33"))
    assert breakdown(other_province) == [("GST", D("5.000"), D("33.33"), D("1.67"))]


def test_example_4_two_levels_compound():
    rule("CA", "5.000", name="GST")
    rule("CA", "9.975", name="QST", level=2, region="Quebec", compound=True)
    invoice = invoice_of(ClientFactory(country="CA", state="Quebec"), D("100.00"))
    # QST on 100.00 + 5.00 = 105.00: 10.47375 → 10.47 (not compounding it would be 9.975 → 9.98)
    assert breakdown(invoice) == [("GST", D("5.000"), D("100.00"), D("5.00")), ("QST", D("9.975"), D("105.00"), D("10.47"))]
    assert (invoice.subtotal, invoice.tax, invoice.total) == (D("100.00"), D("15.47"), D("115.47"))
    flat = compute([(D("100.00"), True)], [Level(1, "GST", D("5")), Level(2, "QST", D("9.975"))])
    assert (flat.tax, flat.gross) == (D("14.98"), D("114.98"))


def test_example_4b_compound_with_inclusive_prices(settings):
    settings.TAX_PRICES_INCLUDE_TAX = True
    rule("CA", "5.000", name="GST")
    rule("CA", "9.975", name="QST", level=2, region="Quebec", compound=True)
    invoice = invoice_of(ClientFactory(country="CA", state="Quebec"), D("115.47"))
    # net = 115.47 / (1.05 × 1.09975) = 99.9999… → 100.00; GST 5.00; QST takes the rest: 10.47
    assert breakdown(invoice) == [("GST", D("5.000"), D("100.00"), D("5.00")), ("QST", D("9.975"), D("105.00"), D("10.47"))]
    assert (invoice.subtotal, invoice.tax, invoice.total) == (D("100.00"), D("15.47"), D("115.47"))


@pytest.mark.parametrize(("rounding", "tax"), [("invoice", D("0.32")), ("line", D("0.33"))])
def test_example_5_rounding_per_invoice_or_per_line(settings, rounding, tax):
    settings.TAX_ROUNDING = rounding
    rule("US", "10.000", name="Sales tax")
    invoice = invoice_of(ClientFactory(country="US"), D("1.05"), D("1.05"), D("1.05"))
    # per invoice: 3.15 × 10 % = 0.315 → 0.32 (once); per line: 0.105 → 0.11, three times = 0.33
    assert (invoice.subtotal, invoice.tax, invoice.total) == (D("3.15"), tax, D("3.15") + tax)
    assert invoice.tax_rounding == rounding


def test_example_6_reverse_charge(eu_seller):
    client = ClientFactory(country="FR", company_name="Exemple Services SARL", vat_number="FR40303265045",
                           vat_check="format")
    invoice = invoice_of(client, D("100.00"))
    assert (invoice.subtotal, invoice.tax, invoice.total) == (D("100.00"), D("0.00"), D("100.00"))
    assert breakdown(invoice) == [("VAT reverse charge", D("0.000"), D("100.00"), D("0.00"))]
    assert invoice.tax_treatment == TaxTreatment.REVERSE_CHARGE
    assert invoice.tax_note == REVERSE_CHARGE_NOTE == ("Reverse charge: VAT to be accounted for by the recipient, "
                                                       "Article 196 Directive 2006/112/EC")
    assert invoice.tax_evidence["vat_number"] == "FR40303265045" and invoice.tax_evidence["country"] == "FR"


def test_example_7_oss_b2c_and_same_country_b2b(eu_seller):
    consumer = invoice_of(ClientFactory(country="FR", company_name=""), D("100.00"))
    assert breakdown(consumer) == [("VAT", D("20.000"), D("100.00"), D("20.00"))]  # France's rate, not Germany's
    assert (consumer.total, consumer.tax_treatment, consumer.tax_note) == (D("120.00"), TaxTreatment.STANDARD, "")
    german_business = ClientFactory(country="DE", vat_number="DE136695976", vat_check="format")
    domestic = invoice_of(german_business, D("100.00"))
    assert breakdown(domestic) == [("VAT", D("19.000"), D("100.00"), D("19.00"))]
    assert Invoice.objects.get(pk=domestic.pk).total == D("119.00")


def test_tax_exempt_and_untaxed_lines():
    rule("DE", "19.000")
    exempt = invoice_of(ClientFactory(country="DE", tax_exempt=True), D("50.00"))
    assert (exempt.tax, exempt.total, breakdown(exempt), exempt.tax_treatment) == (D("0.00"), D("50.00"), [], "exempt")
    untaxed = invoice_of(ClientFactory(country="DE"), D("50.00"), taxable=False)
    assert (untaxed.tax, untaxed.total) == (D("0.00"), D("50.00"))
    assert breakdown(untaxed) == [("VAT", D("19.000"), D("0.00"), D("0.00"))]  # the rate it was issued with is kept
