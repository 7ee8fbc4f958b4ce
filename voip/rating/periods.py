"""Time-of-day rates (shared/voip-rating.md step 10): a rate may apply on some days of the week between a local
start and end time. Periods are read in the client's time zone from the call's UTC instant; a call crossing a
period boundary is split into parts, each priced with the rate in effect (see engine.price_parts for how the
billed seconds are shared between the parts).

Days are kept as ISO weekday digits, Monday 1 to Sunday 7 ("12345" is Monday to Friday; "" every day). A
period runs from `start_time` (inclusive, blank = midnight) to `end_time` (exclusive, blank = the end of the
day) on each of its days; it never crosses midnight: a night rate is two periods, or the all-day rate of the
prefix (a rate without a period, which applies whenever no period of the prefix covers the instant).
"""
import bisect
from datetime import UTC, datetime, time

DAY_SECONDS = 86_400
ALL_DAYS = "1234567"
DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_DAY_NUMBERS = {name: str(number) for number, name in enumerate(DAY_NAMES, 1)}
_DAY_NUMBERS.update({str(number): str(number) for number in range(1, 8)})
for _number, _long in enumerate(("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"), 1):
    _DAY_NUMBERS[_long] = str(_number)


def parse_days(text):
    """Days of the week as canonical ISO digits ("12345"): names or numbers (Monday = 1), separated by commas or
    spaces, with ranges ("mon-fri", "sat,sun", "fri-mon" wraps over the weekend, "1-5"). Blank is every day,
    returned as "". Raises ValueError naming what is not a day."""
    days = set()
    for item in text.replace(";", ",").replace(" ", ",").lower().split(","):
        item = item.strip()
        if not item:
            continue
        first, _dash, last = item.partition("-")
        if first.strip() not in _DAY_NUMBERS or (_dash and last.strip() not in _DAY_NUMBERS):
            raise ValueError(f"days must be weekday names or numbers (mon-fri, sat,sun, 1-5), not {text!r}")
        start = int(_DAY_NUMBERS[first.strip()])
        end = int(_DAY_NUMBERS[last.strip()]) if _dash else start
        span = (end - start) % 7
        days.update(str((start - 1 + step) % 7 + 1) for step in range(span + 1))
    digits = "".join(sorted(days))
    return "" if digits == ALL_DAYS else digits


def valid_days(days):
    """Canonical ISO digits: distinct, in order, 1 to 7."""
    return isinstance(days, str) and set(days) <= set(ALL_DAYS) and days == "".join(sorted(set(days)))


def format_days(days):
    """ISO digits as text for people and deck files: "mon-fri", "sat,sun", "mon,wed-fri"; "" for every day."""
    if not days or days == ALL_DAYS:
        return ""
    numbers = sorted(int(day) for day in days)
    runs, start, previous = [], numbers[0], numbers[0]
    for number in numbers[1:] + [None]:
        if number is not None and number == previous + 1:
            previous = number
            continue
        name = DAY_NAMES[start - 1]
        runs.append(name if start == previous else f"{name}-{DAY_NAMES[previous - 1]}")
        if number is not None:
            start = previous = number
    return ",".join(runs)


def parse_time(text, name):
    """HH:MM or HH:MM:SS as a time; blank is None; "24:00" (the end of the day) is None too."""
    value = text.strip()
    if not value or value in ("24:00", "24:00:00"):
        return None
    try:
        moment = time.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{name} must be a time of day HH:MM, not {text!r}") from None
    if moment.tzinfo is not None or moment.microsecond:
        raise ValueError(f"{name} must be a local time of day HH:MM without a zone, not {text!r}")
    return moment


def format_time(moment):
    if moment is None:
        return ""
    return moment.strftime("%H:%M:%S" if moment.second else "%H:%M")


def day_mask(days):
    """Bit `weekday()` (Monday 0) set for each day; every day when blank."""
    mask = 0
    for day in days or ALL_DAYS:
        mask |= 1 << (int(day) - 1)
    return mask


def second_of_day(moment):
    return moment.hour * 3600 + moment.minute * 60 + moment.second


def describe(days, start_time, end_time):
    """A period for people: "mon-fri 08:00–18:00", "sat,sun", "all day"."""
    start = format_time(start_time) if start_time is not None and second_of_day(start_time) else ""
    end = format_time(end_time)
    days = format_days(days)
    if not days and not start and not end:
        return "all day"
    if not start and not end:
        return days
    return f"{days or 'every day'} {start or '00:00'}–{end or '24:00'}"


def pick(groups, weekday, second):
    """The rate for a local instant: the first group (longest prefix first) with a rate whose period covers it;
    in a group, rates with a period come before all-day rates, then the usual tie-break (deck._tie_break)."""
    for group in groups:
        for rate in group:
            if rate.day_mask >> weekday & 1 and rate.start_second <= second < rate.end_second:
                return rate
    return None


class NoRateAt(Exception):
    """No rate of the call's number covers this local instant (`local`)."""

    def __init__(self, local):
        super().__init__(local)
        self.local = local


def split(groups, answer_time, billsec, time_zone):
    """The parts of a call: `[(offset, rate), …]`, `offset` the part's first second counted from the answer,
    the first part at 0, no two neighbours with the same rate. `groups`: the rates valid at the answer time that
    match the number, per prefix, longest first (PrefixIndex.candidates). Instants are whole seconds (the answer
    time's fraction is dropped). Raises NoRateAt when no rate covers some instant of the call."""
    cuts = set()
    for group in groups:
        for rate in group:
            if rate.timed:
                cuts.add(rate.start_second)
                cuts.add(rate.end_second)
    if not cuts:  # no period among the candidates: one rate for the whole call
        return [(0, groups[0][0])]
    cuts.discard(0)
    cuts.add(DAY_SECONDS)
    cuts = sorted(cuts)
    start = int(answer_time.replace(microsecond=0).timestamp())
    fixed = time_zone is UTC
    parts = []
    offset = 0
    while offset < billsec:
        instant = start + offset
        local = datetime.fromtimestamp(instant, time_zone)
        second = second_of_day(local)
        rate = pick(groups, local.weekday(), second)
        if rate is None:
            raise NoRateAt(local)
        if not parts or parts[-1][1] is not rate:
            parts.append((offset, rate))
        # The next cut in local wall-clock time; a change of UTC offset (DST) on the way is a cut too, after
        # which the wall clock is read again (an hour repeated or skipped is rated by the time it shows).
        following = instant + cuts[bisect.bisect_right(cuts, second)] - second
        if not fixed:
            before = local.utcoffset()
            if datetime.fromtimestamp(following, time_zone).utcoffset() != before:
                following = _offset_change(instant, following, time_zone, before)
        offset = following - start
    return parts


def _offset_change(low, high, time_zone, before):
    """The first whole second in (low, high] whose UTC offset differs from `before` (bisection)."""
    while high - low > 1:
        middle = (low + high) // 2
        if datetime.fromtimestamp(middle, time_zone).utcoffset() == before:
            low = middle
        else:
            high = middle
    return high
