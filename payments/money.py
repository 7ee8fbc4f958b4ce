"""Amounts at gateways: integers in the currency's minor units (ISO 4217 exponent, portal.money.currency_decimals),
converted exactly both ways. An amount that is not a whole number of minor units is refused, never rounded."""
from decimal import Decimal

from portal.money import currency_decimals


def whole_minor_units(amount, currency):
    """Whether a gateway can take the amount exactly: 12.35 KWD (12350 fils) yes, 1500.50 JPY no."""
    value = Decimal(amount).scaleb(currency_decimals(currency.upper()))
    return value == value.to_integral_value()


def to_minor(amount, currency):
    """Decimal('12.34') USD → 1234; Decimal('1500') JPY → 1500; Decimal('1500.50') JPY → ValueError."""
    if not whole_minor_units(amount, currency):
        raise ValueError(f"{amount} {currency} is not a whole number of the currency's minor units.")
    return int(Decimal(amount).scaleb(currency_decimals(currency.upper())))


def from_minor(units, currency):
    """1234 USD → Decimal('12.34'); 1500 JPY → Decimal('1500'); exact (no rounding)."""
    if isinstance(units, bool) or not isinstance(units, int):
        raise TypeError(f"A gateway amount must be an integer of minor units, not {units!r}.")
    return Decimal(units).scaleb(-currency_decimals(currency.upper()))
