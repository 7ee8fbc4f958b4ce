"""A straightforward implementation of shared/voip-rating.md steps 3–5, written from the spec's text with no
regard for speed: a linear scan for the longest prefix, the Decimal formula for the cost. The fast code in
voip/rating must give exactly the same answers (test_fast_path.py)."""
import math
from datetime import time, timedelta
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


def reference_rate_at(rates, number, direction, answered, instant, time_zone):
    """Step 10 read literally: among the rates valid at the answer time, the longest prefix with a rate whose
    period covers the local instant; in it, rates with a period before all-day ones, then the step-3 tie-break."""
    local = instant.astimezone(time_zone)
    second = local.hour * 3600 + local.minute * 60 + local.second

    def covers(rate):
        days = rate.days or "1234567"
        start = 0 if rate.start_time is None else rate.start_time.hour * 3600 + rate.start_time.minute * 60 \
            + rate.start_time.second
        end = 86400 if rate.end_time is None else rate.end_time.hour * 3600 + rate.end_time.minute * 60 \
            + rate.end_time.second
        return str(local.isoweekday()) in days and start <= second < end

    def has_period(rate):
        return bool(rate.days and rate.days != "1234567") or rate.start_time not in (None, time(0)) or \
            rate.end_time is not None

    valid = [rate for rate in rates if rate.direction == direction
             and (rate.valid_from is None or rate.valid_from <= answered)
             and (rate.valid_to is None or answered < rate.valid_to)]
    for length in range(len(number), 0, -1):
        matching = [rate for rate in valid if rate.prefix == number[:length] and covers(rate)]
        if matching:
            return min(matching, key=lambda rate: (not has_period(rate), -rate.weight, rate.rate_per_minute, rate.id))
    return None


def reference_split_cost(rates, number, direction, answered, secs, time_zone, mode):
    """The cost of a call under step 10, second by second: None when some second has no rate (unrated). Billed
    seconds by step 4 with the rate at the answer; the minimum block at that rate; every other billed second at
    the rate of the second its increment starts at."""
    start = answered.replace(microsecond=0)
    rate_at = {}

    def at(offset):
        if offset not in rate_at:
            rate_at[offset] = reference_rate_at(rates, number, direction, answered,
                                                start + timedelta(seconds=offset), time_zone)
        return rate_at[offset]

    if any(at(offset) is None for offset in range(secs)):
        return None
    first = at(0)
    billed = reference_billed(secs, first, mode)
    if billed is None:
        return Decimal(0)
    minimum, inc, free = first.minimum_seconds, first.increment_seconds, first.free_seconds
    total = Decimal(0)
    for position in range(billed):
        if position < minimum:
            rate = first
        else:
            block = minimum + (position - minimum) // inc * inc if mode == "after_minimum" else position // inc * inc
            rate = at(free + block)
        total += rate.rate_per_minute
    precise = first.connect_fee + total / Decimal(60)
    return precise.quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP)
