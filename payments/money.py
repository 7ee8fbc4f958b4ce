"""Amounts at gateways: integers in the currency's minor units (ISO 4217 exponent, portal.money.currency_decimals;
Stripe) or decimal strings with the gateway's decimals (PayPal), converted exactly both ways. An amount that is
not a whole number of the gateway's units is refused, never rounded."""
import re
from decimal import Decimal

from portal.money import currency_decimals

DECIMAL_TEXT = re.compile(r"\d{1,15}(\.\d{1,4})?")


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


def to_decimal_text(amount, currency, decimals):
    """An amount as the decimal string gateways such as PayPal take, with `decimals` places (the gateway's, which
    may differ from ISO 4217): Decimal('12.3') USD, 2 → '12.30'; Decimal('1500.00') JPY, 0 → '1500'. An amount
    with more places than that is refused, never rounded."""
    amount = Decimal(amount)
    exact = amount.quantize(Decimal(1).scaleb(-decimals))
    if exact != amount:
        raise ValueError(f"{amount} {currency} has more than the {decimals} decimals the gateway takes.")
    return f"{exact:f}"


def from_decimal_text(text, currency, decimals):
    """A gateway's decimal string back into a Decimal, exactly: '12.30' → Decimal('12.30'); anything that is not a
    plain non-negative number with at most `decimals` places → ValueError."""
    if not isinstance(text, str) or not DECIMAL_TEXT.fullmatch(text):
        raise ValueError(f"{text!r} is not a {currency} amount.")
    value = Decimal(text)
    if -value.as_tuple().exponent > decimals:
        raise ValueError(f"{text} {currency} has more than the {decimals} decimals the gateway uses.")
    return value
