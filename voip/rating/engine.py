"""Rating one call: shared/voip-rating.md steps 1 (eligibility), 4 (billable seconds) and 5 (cost), with
step 2 (provisioning.telephony.numbers.Normaliser) and step 3 (deck.Deck) plugged in, and step 10 (time-of-day
rates: a call split by periods.split, its billed seconds shared between the parts' rates by price_parts).

Costs are exact: `precise_cost` is the spec's Decimal formula; `cost_units` computes the same quantized cost
in integers (units of 0.0001), which is what bulk rating uses. Prices have at most 8 decimal places and
durations at most MAX_SECONDS (provisioning.telephony.calls), so every Decimal step of the formula is exact in
its 28-digit context and the two agree on every input (tests/voip/test_fast_path.py checks it on random inputs).
"""
from dataclasses import dataclass
from datetime import UTC
from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Context, Decimal, localcontext

from provisioning.telephony.calls import INBOUND, OUTBOUND
from provisioning.telephony.numbers import E164, INTERNAL

from .periods import NoRateAt, describe, split

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


def price_parts(parts, secs, billed, mode=AFTER_MINIMUM):
    """Step 10: share the `billed` seconds of a call split into `parts` ([(offset, rate)], periods.split)
    between the parts' rates: `[(rate, seconds)]`, one entry per rate, first part first, summing to `billed`.

    The call is billed once, by the first part's rate (its free seconds, no-charge time, minimum, increment and
    connect fee: step 4 as for any call), so a split never bills more seconds than the same call without one.
    The minimum block is priced at the first part's rate; every later increment at the rate of the part in
    which it starts (an increment that straddles a boundary is priced whole at the rate it started in), and
    the rounding up of the last increment at the rate of the part it started in. Each priced second is thus
    fixed once the call has reached it, so a longer call never costs less."""
    first = parts[0][1]
    minimum, increment, free = first.minimum_seconds, first.increment_seconds, first.free_seconds
    shares = {id(first): [first, min(minimum, billed)]}
    if billed > minimum:
        origin = minimum if mode == AFTER_MINIMUM else 0  # where the increments start counting
        last = len(parts) - 1
        for position, (offset, rate) in enumerate(parts):
            low = max(0, offset - free)  # the part's billable seconds, counted after the free ones
            high = parts[position + 1][0] - free if position < last else secs - free
            if high <= low:
                continue
            first_block = max(0, -(-(low - origin) // increment))
            end_block = -(-(high - origin) // increment)  # one past the last increment that starts in the part
            if end_block <= first_block:
                continue
            seconds = min(origin + end_block * increment, billed) - max(origin + first_block * increment, minimum)
            if seconds > 0:
                shares.setdefault(id(rate), [rate, 0])[1] += seconds
    return [(rate, seconds) for rate, seconds in shares.values() if seconds or rate is first]


def parts_cost_units(first, shares):
    """cost_units of a split call: the first rate's connect fee, the shares priced, rounded once."""
    return (60 * first.connect_fee_units + sum(seconds * rate.rate_units for rate, seconds in shares)
            + _HALF) // _DENOMINATOR


def parts_precise_cost(first, shares):
    """precise_cost of a split call: connect_fee + Σ seconds × rate_per_minute / 60 (one division)."""
    with localcontext(_SPEC_CONTEXT):
        return first.connect_fee + sum(
            (Decimal(seconds) * rate.rate_per_minute for rate, seconds in shares), Decimal(0)) / _SIXTY


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
    # A call split by time-of-day periods (step 10): [(rate, billed seconds)] per rate, first part first;
    # empty when one rate priced the whole call.
    parts: tuple = ()

    @property
    def cost(self):
        """The amount debited, a Decimal with 4 places."""
        return Decimal(self.cost_units).scaleb(-4)

    @property
    def precise_cost(self):
        """The unrounded cost, kept for audit and re-rating (§5: stored with at least 6 places)."""
        if not self.charged:
            return Decimal(0)
        if self.parts:
            return parts_precise_cost(self.rate, self.parts)
        return precise_cost(self.rate, self.billed_seconds)


_ZERO_SECONDS = "zero billable seconds (no connect fee)"
_NO_ANSWER_TIME = "answered call without an answer time"


class Rater:
    """Rates calls against one deck with one client configuration (normaliser, increment mode, and the time zone
    the deck's time-of-day periods are read in)."""

    def __init__(self, deck, normaliser, *, increment_mode=AFTER_MINIMUM, time_zone=UTC):
        if increment_mode not in INCREMENT_MODES:
            raise ValueError(f"increment mode must be one of {', '.join(INCREMENT_MODES)}, not {increment_mode!r}")
        self.deck = deck
        self.normaliser = normaliser
        self.increment_mode = increment_mode
        self.time_zone = time_zone
        self._lookups = {direction: deck.indexes[direction].lookup for direction in (OUTBOUND, INBOUND)}
        # Decks with a time-of-day rate take the splitting path; the others keep the one-lookup path.
        self._timed = {direction: deck.indexes[direction] for direction in (OUTBOUND, INBOUND)
                       if deck.indexes[direction].timed}

    def rate(self, *, direction, number, billsec, answer_time, ignore_reason=""):
        """Rate one call. `number` is the rated number as the PBX wrote it: the dialled number of an outbound
        call, the called DID of an inbound one; `direction` picks the deck's outbound or inbound rates."""
        return self._rate(direction, number, billsec, answer_time, ignore_reason)

    def rate_record(self, record):
        """Rate a provisioning.telephony.cdrs.CdrRecord."""
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
        if direction in self._timed:
            return self._rate_split(self._timed[direction], direction, e164, billsec, answer_time)
        rate = self._lookups[direction](e164, answer_time)
        if rate is None:  # step 3: never silently free
            return RatingResult(UNRATED, f"no {direction} rate matches {e164}", e164)
        billed = billable_seconds(billsec, rate, self.increment_mode)
        if billed is None:
            return RatingResult(RATED, f"shorter than {rate.nocharge_below} s: not charged", e164, rate)
        return RatingResult(RATED, "", e164, rate, billed, cost_units(rate, billed), True)


    def _rate_split(self, index, direction, e164, billsec, answer_time):
        """Step 10: the call's parts by time-of-day period, priced by price_parts."""
        groups = index.candidates(e164, answer_time)
        if not groups:
            return RatingResult(UNRATED, f"no {direction} rate matches {e164}", e164)
        try:
            parts = split(groups, answer_time, billsec, self.time_zone)
        except NoRateAt as exc:
            local = exc.local
            return RatingResult(UNRATED, f"no {direction} rate matches {e164} on {local:%a %Y-%m-%d %H:%M:%S} "
                                f"({local.tzname()})", e164)
        rate = parts[0][1]
        billed = billable_seconds(billsec, rate, self.increment_mode)
        if billed is None:
            return RatingResult(RATED, f"shorter than {rate.nocharge_below} s: not charged", e164, rate)
        if len(parts) == 1:
            return RatingResult(RATED, "", e164, rate, billed, cost_units(rate, billed), True)
        shares = price_parts(parts, billsec, billed, self.increment_mode)
        if len(shares) == 1:  # the later parts fell in the first rate's increments
            return RatingResult(RATED, "", e164, rate, billed, cost_units(rate, billed), True)
        note = "split by time of day: " + ", ".join(
            f"{seconds} s at {part.rate_per_minute.normalize():f}/min "
            f"({describe(part.days, part.start_time, part.end_time)})"
            for part, seconds in shares
        )
        return RatingResult(RATED, note, e164, rate, billed, parts_cost_units(rate, shares), True, tuple(shares))
