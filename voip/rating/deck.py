"""Rate decks (shared/voip-rating.md §1 "Rate" and step 3): prefix rates and the longest-prefix index."""
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, time
from decimal import Decimal

from provisioning.telephony.calls import DIRECTIONS, MAX_SECONDS, OUTBOUND
from provisioning.telephony.numbers import CACHE_LIMIT

from .periods import DAY_SECONDS, day_mask, pick, second_of_day, valid_days

#: Prices carry at most 8 decimal places and stay below a million (a DecimalField(14, 8) holds them); with
#: durations bounded by MAX_SECONDS (provisioning.telephony.calls) this keeps every Decimal step of the cost
#: formula exact in the default 28-digit context, which is what lets the integer fast path equal it (see
#: engine.cost_units).
PRICE_PLACES = 8
MAX_PRICE = Decimal("999999.99999999")
PRICE_UNIT = 10**PRICE_PLACES  # prices are also kept as integers in units of 1e-8
MAX_PREFIX_DIGITS = 15  # E.164 numbers have at most 15 digits


@dataclass(frozen=True, slots=True)
class Rate:
    """One prefix rate. Prices are per minute; `valid_from ≤ t < valid_to`, either end open (None).
    `id` breaks the last tie between rates of one prefix (lowest wins); a deck file uses the line number."""

    prefix: str
    destination: str
    connect_fee: Decimal
    rate_per_minute: Decimal
    minimum_seconds: int
    increment_seconds: int
    free_seconds: int = 0
    nocharge_below: int = 0
    valid_from: datetime | None = None
    valid_to: datetime | None = None
    weight: int = 0
    direction: str = OUTBOUND
    id: int = 0
    # Time of day (step 10, periods.py): ISO weekday digits ("12345"; "" every day) and a local start and end
    # time (None: midnight / the end of the day), in the client's time zone.
    days: str = ""
    start_time: time | None = None
    end_time: time | None = None
    # The prices as integers in units of 1e-8, for the integer fast path.
    connect_fee_units: int = field(init=False, repr=False, compare=False)
    rate_units: int = field(init=False, repr=False, compare=False)
    # The period as a weekday bit mask and seconds of the day, and whether the rate has a period at all.
    day_mask: int = field(init=False, repr=False, compare=False)
    start_second: int = field(init=False, repr=False, compare=False)
    end_second: int = field(init=False, repr=False, compare=False)
    timed: bool = field(init=False, repr=False, compare=False)

    def __post_init__(self):
        if not (0 < len(self.prefix) <= MAX_PREFIX_DIGITS and self.prefix.isascii() and self.prefix.isdigit()):
            raise ValueError(f"prefix must be 1 to {MAX_PREFIX_DIGITS} digits, not {self.prefix!r}")
        if self.direction not in DIRECTIONS:
            raise ValueError(f"direction must be outbound or inbound, not {self.direction!r}")
        object.__setattr__(self, "connect_fee_units", _price_units("connect_fee", self.connect_fee))
        object.__setattr__(self, "rate_units", _price_units("rate_per_minute", self.rate_per_minute))
        for name in ("minimum_seconds", "free_seconds", "nocharge_below"):
            _check_seconds(name, getattr(self, name), lowest=0)
        _check_seconds("increment_seconds", self.increment_seconds, lowest=1)
        if type(self.weight) is not int:
            raise ValueError(f"weight must be a whole number, not {self.weight!r}")
        for name in ("valid_from", "valid_to"):
            value = getattr(self, name)
            if value is not None and value.tzinfo is None:
                raise ValueError(f"{name} must be an aware datetime")
        if self.valid_from is not None and self.valid_to is not None and self.valid_from >= self.valid_to:
            raise ValueError("valid_from must be before valid_to")
        self._set_period()

    def _set_period(self):
        if not valid_days(self.days):
            raise ValueError(f"days must be ISO weekday digits in order (Monday 1), not {self.days!r}")
        for name in ("start_time", "end_time"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, time) or value.tzinfo is not None or value.microsecond):
                raise ValueError(f"{name} must be a local time of day (whole seconds), not {value!r}")
        start = 0 if self.start_time is None else second_of_day(self.start_time)
        end = DAY_SECONDS if self.end_time is None else second_of_day(self.end_time)
        if start >= end:
            raise ValueError("start_time must be before end_time (a period cannot cross midnight: use two rates)")
        mask = day_mask(self.days)
        object.__setattr__(self, "day_mask", mask)
        object.__setattr__(self, "start_second", start)
        object.__setattr__(self, "end_second", end)
        object.__setattr__(self, "timed", mask != 0b1111111 or start != 0 or end != DAY_SECONDS)

    @property
    def timeless(self):
        return self.valid_from is None and self.valid_to is None

    def valid_at(self, when):
        return (self.valid_from is None or self.valid_from <= when) and (self.valid_to is None or when < self.valid_to)


def _price_units(name, value):
    if not isinstance(value, Decimal) or not value.is_finite():
        raise ValueError(f"{name} must be a decimal number, not {value!r}")
    if value < 0 or value > MAX_PRICE:
        raise ValueError(f"{name} must be between 0 and {MAX_PRICE}, not {value}")
    units = value.scaleb(PRICE_PLACES)
    if units != units.to_integral_value():
        raise ValueError(f"{name} has more than {PRICE_PLACES} decimal places: {value}")
    return int(units)


def _check_seconds(name, value, *, lowest):
    if type(value) is not int or not lowest <= value <= MAX_SECONDS:
        raise ValueError(f"{name} must be a whole number of seconds from {lowest} to {MAX_SECONDS}, not {value!r}")


def _tie_break(rate):
    """Step 3: higher weight, then cheaper rate per minute, then lowest id; step 10: before all that, a rate
    with a time-of-day period comes before the prefix's all-day rates (which apply outside the periods)."""
    return (not rate.timed, -rate.weight, rate.rate_per_minute, rate.id)


class PrefixIndex:
    """Longest-prefix lookup over the rates of one direction, built once per deck.

    A dict from prefix to its rates (sorted by the tie-break), probed from the longest prefix length the deck
    has down to the shortest; length is decided first, so a cheaper shorter prefix never wins (ASTPP#273).
    The matches of each distinct number are cached: a deck without validity dates caches the winning rate,
    one with dates the matching buckets, longest first, which are then filtered by the call's time. An index
    with time-of-day rates (`timed`) is read through `candidates` (Rater, Deck.lookup), which leaves the choice
    between periods to periods.pick/split; its `lookup` ignores periods.
    """

    def __init__(self, rates):
        buckets = defaultdict(list)
        for rate in rates:
            buckets[rate.prefix].append(rate)
        self._buckets = {prefix: tuple(sorted(group, key=_tie_break)) for prefix, group in buckets.items()}
        self._lengths = tuple(sorted({len(prefix) for prefix in self._buckets}, reverse=True))
        self.timeless = all(rate.timeless for group in self._buckets.values() for rate in group)
        # Any time-of-day rate: the Rater splits calls (periods.split) over PrefixIndex.candidates.
        self.timed = any(rate.timed for group in self._buckets.values() for rate in group)
        self._cache = {}
        self.lookup = self._lookup_timeless if self.timeless and not self.timed else self._lookup_dated

    def __len__(self):
        return sum(len(group) for group in self._buckets.values())

    def matches(self, number):
        """Buckets of rates whose prefix starts `number`, longest prefix first."""
        buckets = self._buckets
        found = []
        for length in self._lengths:
            if length <= len(number):
                group = buckets.get(number[:length])
                if group is not None:
                    found.append(group)
        return tuple(found)

    def longest(self, number):
        """The rates of the longest prefix that starts `number` (best first), or None."""
        buckets = self._buckets
        size = len(number)
        for length in self._lengths:
            if length <= size:
                group = buckets.get(number[:length])
                if group is not None:
                    return group
        return None

    def _lookup_timeless(self, number, when=None):
        try:
            return self._cache[number]
        except KeyError:
            pass
        group = self.longest(number)
        rate = None if group is None else group[0]
        self._remember(number, rate)
        return rate

    def _lookup_dated(self, number, when):
        matches = self._cache.get(number)
        if matches is None:
            matches = self.matches(number)
            self._remember(number, matches)
        for group in matches:
            for rate in group:
                if rate.valid_at(when):
                    return rate
        return None

    def candidates(self, number, when):
        """The rates valid at `when` whose prefix starts `number`: one tuple per prefix (longest first, each in
        tie-break order); empty groups left out."""
        matches = self._cache.get(number)
        if matches is None:
            matches = self.matches(number)
            self._remember(number, matches)
        found = []
        for group in matches:
            valid = tuple(rate for rate in group if rate.valid_at(when))
            if valid:
                found.append(valid)
        return found

    def _remember(self, number, value):
        if len(self._cache) >= CACHE_LIMIT:
            self._cache.clear()
        self._cache[number] = value


class Deck:
    """A rate deck: the rates of a package, indexed per direction."""

    def __init__(self, rates):
        self.rates = tuple(rates)
        self.indexes = {direction: PrefixIndex(r for r in self.rates if r.direction == direction)
                        for direction in DIRECTIONS}

    def __len__(self):
        return len(self.rates)

    @property
    def timed(self):
        return any(index.timed for index in self.indexes.values())

    def lookup(self, number, direction, when, time_zone=UTC):
        """The rate for E.164 digits `number` on a call of `direction` answered at `when`, or None. Time-of-day
        periods are read in `time_zone`."""
        index = self.indexes[direction]
        if not index.timed:
            return index.lookup(number, when)
        local = when.astimezone(time_zone)
        return pick(index.candidates(number, when), local.weekday(), second_of_day(local))
