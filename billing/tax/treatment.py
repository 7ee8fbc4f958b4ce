"""Which rates a client's invoice is charged, and why (docs/tax.md).

In order:
1. a tax-exempt client pays none;
2. EU reverse charge: the seller (settings.TAX_SELLER_COUNTRY) is in the EU and the client has a VAT number of
   another EU country that passed its check (VIES "valid", or format and check digits while VIES is off):
   0 %, with the legal note;
3. that VAT number could not be confirmed (VIES unavailable at the check, or not checked since VIES was turned
   on): the sale is taxed as B2C, and the invoice says why;
4. otherwise the tax rules of the client's address: the region's rule of each level, else the country's.
   For an EU seller this is OSS for consumers (the customer's country's rate, given rules per country) and the
   normal rate for a business in the seller's own country.

Rules are read for a whole batch of clients with one query (`RuleBook.for_clients`)."""
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from django.conf import settings

from billing.models import TaxRule, TaxTreatment
from billing.tax.compute import Level
from portal.vat import EU_COUNTRIES, vat_country

REVERSE_CHARGE_NOTE = "Reverse charge: VAT to be accounted for by the recipient, Article 196 Directive 2006/112/EC"
REVERSE_CHARGE_NAME = "VAT reverse charge"


class RuleBook:
    """The tax rules of some countries, read once: {country: {level: {region (upper, '' = country): Level}}}."""

    def __init__(self, rules=()):
        self._rules = defaultdict(lambda: defaultdict(dict))
        for rule in rules:
            self._rules[rule.country][rule.level][rule.region.upper()] = Level(
                rule.level, rule.name, rule.rate, rule.compound, rule.country, rule.region
            )

    @classmethod
    def for_countries(cls, countries):
        countries = {c for c in countries if c}
        return cls(TaxRule.objects.filter(country__in=countries)) if countries else cls()

    @classmethod
    def for_clients(cls, clients):
        return cls.for_countries({client.country for client in clients if not client.tax_exempt})

    def levels(self, country, region=""):
        region = " ".join((region or "").split()).upper()
        found = []
        for level in sorted(self._rules.get(country, {})):
            by_region = self._rules[country][level]
            rule = by_region.get(region) if region else None
            rule = rule or by_region.get("")
            if rule is not None:
                found.append(rule)
        return found


@dataclass(frozen=True)
class Decision:
    treatment: str
    levels: list
    note: str = ""
    evidence: dict = field(default_factory=dict)


def _evidence(client, treatment):
    checked = client.vat_checked_at
    return {
        "country": client.country, "region": client.state, "vat_number": client.vat_number,
        "vat_check": client.vat_check, "vat_checked_at": checked.isoformat() if checked else "",
        "seller_country": settings.TAX_SELLER_COUNTRY, "treatment": treatment,
    }


def vat_number_confirmed(client):
    """Whether the client's VAT number counts for reverse charge: VIES said valid, or (VIES off) it passed its
    format and check digits."""
    return client.vat_check == "valid" or (client.vat_check == "format" and not settings.VIES_ENABLED)


def decide(client, book):
    """The Decision for one client (its rules taken from `book`, read beforehand for the batch)."""
    if client.tax_exempt:
        return Decision(TaxTreatment.EXEMPT, [], "Tax exempt.", _evidence(client, TaxTreatment.EXEMPT))
    seller = settings.TAX_SELLER_COUNTRY
    number = client.vat_number
    cross_border = bool(number) and seller in EU_COUNTRIES and vat_country(number) in EU_COUNTRIES \
        and vat_country(number) != seller
    if cross_border and vat_number_confirmed(client):
        level = Level(1, REVERSE_CHARGE_NAME, Decimal("0.000"), False, client.country, "")
        return Decision(TaxTreatment.REVERSE_CHARGE, [level], REVERSE_CHARGE_NOTE,
                        _evidence(client, TaxTreatment.REVERSE_CHARGE))
    levels = book.levels(client.country, client.state)
    if cross_border:
        when = f"{client.vat_checked_at:%Y-%m-%d %H:%M} UTC" if client.vat_checked_at else "its last check"
        why = "VIES was unavailable at " + when if client.vat_check == "unavailable" else "it has not been checked with VIES"
        note = f"VAT number {number} could not be confirmed ({why}): taxed as a sale to a consumer."
        return Decision(TaxTreatment.VIES_UNAVAILABLE, levels, note, _evidence(client, TaxTreatment.VIES_UNAVAILABLE))
    return Decision(TaxTreatment.STANDARD, levels, "", _evidence(client, TaxTreatment.STANDARD))
