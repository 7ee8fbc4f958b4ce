"""Sums of call costs as exact Decimals."""
from decimal import ROUND_HALF_UP, Decimal

from voip.rating.engine import COST_QUANTUM


def exact_sum(value):
    """A database SUM of costs as the exact Decimal: SQLite adds DECIMAL columns as floating point, so its sum
    of 4-place costs carries float noise far below 0.0001, which quantizing removes (MariaDB sums exactly)."""
    return Decimal(value or 0).quantize(COST_QUANTUM, rounding=ROUND_HALF_UP)
