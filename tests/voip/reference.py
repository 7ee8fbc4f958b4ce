"""A straightforward implementation of shared/voip-rating.md steps 3–5, written from the spec's text with no
regard for speed: a linear scan for the longest prefix, the Decimal formula for the cost. The fast code in
voip/rating must give exactly the same answers (test_fast_path.py)."""
import math
from decimal import ROUND_HALF_UP, Decimal


def reference_lookup(rates, number, direction, when):
    candidates = [
        rate for rate in rates
        if rate.direction == direction
        and (rate.valid_from is None or rate.valid_from <= when)
        and (rate.valid_to is None or when < rate.valid_to)
    ]
    for length in range(len(number), 0, -1):
        matching = [rate for rate in candidates if rate.prefix == number[:length]]
        if matching:
            return min(matching, key=lambda rate: (-rate.weight, rate.rate_per_minute, rate.id))
    return None


def reference_billed(secs, rate, mode):
    """None when the call costs nothing at all (no connect fee)."""
    if secs == 0 or secs < rate.nocharge_below:
        return None
    d = max(0, secs - rate.free_seconds)
    minimum, inc = rate.minimum_seconds, rate.increment_seconds
    if d == 0:
        return 0
    if d <= minimum:
        return minimum
    if mode == "after_minimum":
        return minimum + math.ceil((d - minimum) / Decimal(inc)) * inc
    return max(minimum, math.ceil(d / Decimal(inc)) * inc)


def reference_cost(rate, billed):
    precise = rate.connect_fee + Decimal(billed) * rate.rate_per_minute / Decimal(60)
    return precise.quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP)
