import pytest

from billing.models import InvoiceItem, TaxRule
from billing.services.invoices import Line, invoice_create
from portal.activity import Actor
from provisioning.simulation.vies import ViesSimulator


def rule(country, rate, *, name="VAT", level=1, region="", compound=False):
    return TaxRule.objects.create(country=country, region=region, level=level, name=name, rate=rate, compound=compound)


def invoice_of(client, *amounts, taxable=True):
    lines = [Line(InvoiceItem.Kind.ITEM, f"Line {n}", amount, taxable=taxable) for n, amount in enumerate(amounts, 1)]
    return invoice_create(client=client, lines=lines, actor=Actor.system("test"), apply_credit=False)


def breakdown(invoice):
    return [(t.name, t.rate, t.base, t.tax) for t in invoice.tax_lines.order_by("level")]


@pytest.fixture
def vies(settings):
    """The VIES simulator, with the portal pointed at it (no call leaves the machine)."""
    sim = ViesSimulator().start()
    settings.VIES_ENABLED, settings.VIES_URL, settings.VIES_TIMEOUT = True, sim.url, 2
    yield sim
    sim.stop()


@pytest.fixture
def eu_seller(settings):
    settings.TAX_SELLER_COUNTRY = "DE"
    rule("DE", "19.000")
    rule("FR", "20.000")
    rule("NL", "21.000", name="BTW")
