"""Disk-tranche billing (seed 000, SmarterMail product options 1-4 and 16).

When an invoice is generated, the service's stored disk usage (Service.disk_usage_mb, written by the usage
cron) is billed in tranches above the included allowance:

    over_gb  = usage_mb / 1024 - disk_included_gb                      (1 GB = 1024 MB)
    tranches = ceil(over_gb / disk_tranche_size_gb), 0 when over_gb <= 0   (a started tranche is billed)
    tranches = min(tranches, disk_tranche_max) when disk_tranche_max > 0
    amount   = quantize(tranches * disk_tranche_price)

docs/billing.md has the boundary examples. Disk billing is off unless both the tranche size and price are set.
"""
import math
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError

from billing.money import MB_PER_GB
from portal.money import ZERO, quantize

# Product.module_options keys (docs/module-options.md gives the SmarterMail option numbers).
SIZE = "disk_tranche_size_gb"  # option 1
PRICE = "disk_tranche_price"  # option 2
MAX = "disk_tranche_max"  # option 3
DESCRIPTION = "disk_billing_description"  # option 4
INCLUDED = "disk_included_gb"  # option 16
DEFAULT_DESCRIPTION = "Disk usage {usage_gb} GB: {tranches} tranche(s) above {included_gb} GB included"
PLACEHOLDERS = ("tranches", "usage_gb", "included_gb")


@dataclass(frozen=True)
class TrancheRule:
    size_gb: Decimal
    price: Decimal
    max_tranches: int
    included_gb: Decimal
    description: str

    def tranches(self, usage_mb):
        if usage_mb is None:
            return 0
        over_gb = Decimal(usage_mb) / MB_PER_GB - self.included_gb
        if over_gb <= 0:
            return 0
        count = math.ceil(over_gb / self.size_gb)
        return min(count, self.max_tranches) if self.max_tranches else count

    def charge(self, usage_mb):
        """(tranches, amount, description) for one period, or None when nothing is billed."""
        count = self.tranches(usage_mb)
        if not count:
            return None
        usage_gb = quantize(Decimal(usage_mb) / MB_PER_GB)
        text = self.description.format(tranches=count, usage_gb=usage_gb, included_gb=_plain(self.included_gb))
        return count, quantize(self.price * count), text[:500]


def tranche_rule(options):
    """The product's tranche rule, or None when disk billing is off. Raises ValidationError naming the option."""
    options = options or {}
    if options.get(SIZE) in (None, "") or options.get(PRICE) in (None, ""):
        return None
    size = _decimal(options, SIZE, positive=True)
    price = _decimal(options, PRICE)
    included = _decimal(options, INCLUDED) if options.get(INCLUDED) not in (None, "") else ZERO
    raw_max = options.get(MAX) or 0
    try:
        max_tranches = int(raw_max)
        if max_tranches < 0 or str(raw_max).strip() != str(max_tranches):
            raise ValueError
    except (TypeError, ValueError):
        raise ValidationError({MAX: f"{MAX} must be a whole number, 0 for no cap (got {raw_max!r})."}) from None
    description = options.get(DESCRIPTION) or DEFAULT_DESCRIPTION
    try:
        description.format(**{name: "" for name in PLACEHOLDERS})
    except (KeyError, IndexError, ValueError) as exc:
        raise ValidationError(
            {DESCRIPTION: f"{DESCRIPTION} may only use the placeholders {{tranches}}, {{usage_gb}}, {{included_gb}} ({exc})."}
        ) from None
    return TrancheRule(size, price, max_tranches, included, description)


def _decimal(options, key, *, positive=False):
    try:
        value = Decimal(str(options[key]).strip())
    except (InvalidOperation, ValueError):
        raise ValidationError({key: f"{key} must be a number (got {options[key]!r})."}) from None
    if not value.is_finite() or value < 0 or (positive and value == 0):
        raise ValidationError({key: f"{key} must be {'more than' if positive else 'at least'} 0."})
    return value


def _plain(value):
    """10 for 10.000, 2.5 for 2.50: the allowance as people write it."""
    return value.quantize(Decimal(1)) if value == value.to_integral() else value.normalize()
