"""Tax rules (WHMCS's tax rules: by country, or country and state/region, on two levels, the second of which may
compound on the first) and the tax breakdown each invoice and credit note keeps as rows (docs/tax.md)."""
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

from billing.models.fields import MONEY, ZERO
from portal.models import country_code


class TaxRule(models.Model):
    """The tax charged at one level to clients of a country, or of one state/region of it. A region's rule
    replaces the country-wide rule of the same level; a level without a rule charges nothing."""

    class Level(models.IntegerChoices):
        FIRST = 1, "Level 1"
        SECOND = 2, "Level 2"

    country = models.CharField(max_length=2, validators=[country_code], help_text="Two-letter ISO code, e.g. DE.")
    region = models.CharField(
        "state or region", max_length=100, blank=True,
        help_text="As clients enter it in their address (compared without regard to case). Blank: the whole country.",
    )
    level = models.PositiveSmallIntegerField(choices=Level.choices, default=Level.FIRST)
    name = models.CharField(max_length=60, help_text="Shown on invoices, e.g. 'VAT', 'GST' or 'PST'.")
    rate = models.DecimalField(
        max_digits=6, decimal_places=3, validators=[MinValueValidator(0), MaxValueValidator(100)],
        help_text="Percent, e.g. 21.000.",
    )
    compound = models.BooleanField(
        default=False, help_text="Level 2 only: charged on the price plus the level 1 tax (as Quebec's QST was)."
    )

    class Meta:
        ordering = ["country", "region", "level"]
        permissions = [("view_tax_report", "Can see the tax report (net, tax and gross per country and rate)")]
        constraints = [
            models.UniqueConstraint(fields=["country", "region", "level"], name="tax_rule_one_per_region_and_level",
                                    violation_error_message="A tax rule for this country, region and level exists."),
            models.CheckConstraint(condition=Q(compound=False) | Q(level=2), name="tax_rule_compound_only_level_2",
                                   violation_error_message="Only a level 2 rule can compound."),
        ]

    def __str__(self):
        where = f"{self.country}/{self.region}" if self.region else self.country
        return f"{where} level {self.level}: {self.name} {self.rate.normalize()}%"

    def clean(self):
        self.country = (self.country or "").upper()
        self.region = " ".join((self.region or "").split())
        if self.compound and self.level != self.Level.SECOND:
            raise ValidationError({"compound": "Only a level 2 rule can compound on level 1."})
        clash = TaxRule.objects.filter(country=self.country, region__iexact=self.region, level=self.level)
        clash = clash.exclude(pk=self.pk).first()
        if clash is not None:
            where = f"{self.country}, region {self.region}" if self.region else f"{self.country} (whole country)"
            raise ValidationError(
                f"This rule overlaps '{clash}': {where} already has a level {self.level} rule. Change that one instead."
            )


class TaxLine(models.Model):
    """One rate of a document's tax breakdown: what it was charged on (base) and how much."""

    level = models.PositiveSmallIntegerField(default=1)
    name = models.CharField(max_length=60)
    rate = models.DecimalField(max_digits=6, decimal_places=3)
    compound = models.BooleanField(default=False)
    country = models.CharField(max_length=2, blank=True)
    region = models.CharField(max_length=100, blank=True)
    base = models.DecimalField(**MONEY, default=ZERO, help_text="The net amount the rate was charged on.")
    tax = models.DecimalField(**MONEY, default=ZERO)

    class Meta:
        abstract = True
        ordering = ["level", "id"]

    def __str__(self):
        return f"{self.name} {self.rate.normalize()}%: {self.tax}"


class InvoiceTaxLine(TaxLine):
    invoice = models.ForeignKey("billing.Invoice", on_delete=models.CASCADE, related_name="tax_lines")

    class Meta(TaxLine.Meta):
        constraints = [models.UniqueConstraint(fields=["invoice", "level"], name="invoice_tax_line_one_per_level")]
