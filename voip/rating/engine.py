"""Rating one call: shared/voip-rating.md steps 1 (eligibility), 4 (billable seconds) and 5 (cost), with
step 2 (numbers.Normaliser) and step 3 (deck.Deck) plugged in.

Costs are exact: `precise_cost` is the spec's Decimal formula; `cost_units` computes the same quantized cost
in integers (units of 0.0001), which is what bulk rating uses. Prices have at most 8 decimal places and
durations at most deck.MAX_SECONDS, so every Decimal step of the formula is exact in its 28-digit context
and the two agree on every input (tests/voip/test_fast_path.py checks it on random inputs).
"""
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Context, Decimal, localcontext

from .deck import INBOUND, OUTBOUND
from .numbers import E164, INTERNAL

RATED = "rated"
UNRATED = "unrated"
IGNORED = "ignored"
INVALID = "invalid"
STATUSES = (RATED, UNRATED, IGNORED, INVALID)

AFTER_MINIMUM = "after_minimum"
WHOLE_DURATION = "whole_duration"
INCREMENT_MODES = (AFTER_MINIMUM, WHOLE_DURATION)

COST_QUANTUM = Decimal("0.0001")  # cost has 4 decimal places (§1 "Rounding")
COST_SCALE = 10_000  # units of COST_QUANTUM per currency unit
_SPEC_CONTEXT = Context(prec=28, rounding=ROUND_HALF_EVEN)  # Python's default context, pinned
_SIXTY = Decimal(60)
# cost_units: (60 × connect fee + billed × rate per minute) in 1e-8 units, over 60 × 10^4, rounded half up.
_DENOMINATOR = 60 * 10_000
_HALF = _DENOMINATOR // 2


def billable_seconds(secs, rate, mode=AFTER_MINIMUM):
    """Step 4: the seconds billed, or None when the call is free altogether, connect fee included
    (`secs == 0` or shorter than the rate's `nocharge_below`). 0 means the connect fee alone (the call fitted
    in the rate's free seconds)."""
    if secs <= 0 or secs < rate.nocharge_below:
        return None
    billable = secs - rate.free_seconds
    if billable <= 0:
        return 0
    minimum = rate.minimum_seconds
    if billable <= minimum:
        return minimum
    increment = rate.increment_seconds
    if mode == AFTER_MINIMUM:  # the minimum block in full, then whole increments (ASTPP, Kazoo, CGRateS)
        return minimum + -(-(billable - minimum) // increment) * increment
    return -(-billable // increment) * increment  # the whole duration in increments (A2Billing, Magnus)


def precise_cost(rate, billed):
    """Step 5, unrounded: connect_fee + billed × rate_per_minute / 60, in Decimal."""
    with localcontext(_SPEC_CONTEXT):
        return rate.connect_fee + Decimal(billed) * rate.rate_per_minute / _SIXTY


def quantize_cost(precise):
    """Step 5: the debited cost, 4 places, half up (passed explicitly: the default context rounds half-even)."""
    return precise.quantize(COST_QUANTUM, rounding=ROUND_HALF_UP)


def cost_units(rate, billed):
    """quantize_cost(precise_cost(rate, billed)) in integer units of 0.0001, without Decimal."""
    return (60 * rate.connect_fee_units + billed * rate.rate_units + _HALF) // _DENOMINATOR


def format_units(units):
    """Units of 0.0001 as a plain decimal string with exactly 4 places (no separators, ever)."""
    whole, fraction = divmod(units, COST_SCALE)
    return f"{whole}.{fraction:04d}"


@dataclass(slots=True)
class RatingResult:
    status: str
    reason: str = ""
    e164: str = ""
    rate: object = None  # the deck.Rate applied (status RATED)
    billed_seconds: int = 0
    cost_units: int = 0  # the cost in units of 0.0001
    charged: bool = False  # False when the call was free altogether (no connect fee either)

    @property
    def cost(self):
        """The amount debited, a Decimal with 4 places."""
        return Decimal(self.cost_units).scaleb(-4)

    @property
    def precise_cost(self):
        """The unrounded cost, kept for audit and re-rating (§5: stored with at least 6 places)."""
        if not self.charged:
            return Decimal(0)
        return precise_cost(self.rate, self.billed_seconds)


_ZERO_SECONDS = "zero billable seconds (no connect fee)"
_NO_ANSWER_TIME = "answered call without an answer time"


class Rater:
    """Rates calls against one deck with one client configuration (normaliser, increment mode)."""

    def __init__(self, deck, normaliser, *, increment_mode=AFTER_MINIMUM):
        if increment_mode not in INCREMENT_MODES:
            raise ValueError(f"increment mode must be one of {', '.join(INCREMENT_MODES)}, not {increment_mode!r}")
        self.deck = deck
        self.normaliser = normaliser
        self.increment_mode = increment_mode
        self._lookups = {direction: deck.indexes[direction].lookup for direction in (OUTBOUND, INBOUND)}

    def rate(self, *, direction, number, billsec, answer_time, ignore_reason=""):
        """Rate one call. `number` is the rated number as the PBX wrote it: the dialled number of an outbound
        call, the called DID of an inbound one; `direction` picks the deck's outbound or inbound rates."""
        return self._rate(direction, number, billsec, answer_time, ignore_reason)

    def rate_record(self, record):
        """Rate a cdr_formats.CdrRecord."""
        return self._rate(record.direction, record.number, record.billsec, record.answer_time, record.ignore_reason)

    def _rate(self, direction, number, billsec, answer_time, ignore_reason):
        if ignore_reason:  # step 1: not answered, or not a call that is billed (format rules)
            return RatingResult(IGNORED, ignore_reason)
        if billsec == 0:  # step 1: zero seconds cost nothing, not even the connect fee
            return RatingResult(IGNORED, _ZERO_SECONDS)
        normalised = self.normaliser(number)
        if normalised.kind != E164:  # step 2: internal numbers are zero-rated, bad ones reported
            status = IGNORED if normalised.kind == INTERNAL else INVALID
            return RatingResult(status, normalised.reason)
        e164 = normalised.e164
        if answer_time is None:
            return RatingResult(INVALID, _NO_ANSWER_TIME, e164)
        rate = self._lookups[direction](e164, answer_time)
        if rate is None:  # step 3: never silently free
            return RatingResult(UNRATED, f"no {direction} rate matches {e164}", e164)
        billed = billable_seconds(billsec, rate, self.increment_mode)
        if billed is None:
            return RatingResult(RATED, f"shorter than {rate.nocharge_below} s: not charged", e164, rate)
        return RatingResult(RATED, "", e164, rate, billed, cost_units(rate, billed), True)

