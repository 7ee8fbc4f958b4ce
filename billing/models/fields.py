"""What the billing models share: the arguments of a money field, and zero money."""
from decimal import Decimal

MONEY = {"max_digits": 12, "decimal_places": 2}
ZERO = Decimal("0.00")
