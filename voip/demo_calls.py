"""The demo's call traffic: one day of a Vodia tenant's calls as the `json:` legs the PBX pushes
(provisioning.modules.vodia.simulator.json_leg, cdr-formats.md §4), deterministic for a tenant and a day offset.

Each profile says how busy a tenant is and where it calls; the numbers are real-looking and valid (NANP area
codes, London and Berlin landlines, UK and German mobiles), so that every call rates against the demo deck's
prefixes. The same profile and day always give the same calls (seeded by the tenant and how many days back),
so the demo's totals do not depend on the date it is loaded.
"""
import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import phonenumbers

from provisioning.modules.vodia.simulator import json_leg


def valid_number(make):
    """`make` drawing again until its number is valid (phonenumbers): a made-up subscriber number can fall in a
    range no carrier has, and the rating reports such a call as invalid. The draws come from the caller's seeded
    generator, so the result stays deterministic for a tenant and a day, and valid on every date."""
    def draw(rng):
        while True:
            number = make(rng)
            if phonenumbers.is_valid_number(phonenumbers.parse(number)):
                return number
    draw.__doc__ = make.__doc__
    return draw


# Where calls go: (weight, number maker). Each maker returns a valid E.164 number with "+".
NANP_AREAS = ("212", "312", "415", "416", "514", "604", "617", "713", "905", "613")


@valid_number
def _nanp(rng):
    return f"+1{rng.choice(NANP_AREAS)}{rng.randint(2, 9)}{rng.randint(10, 99)}{rng.randint(1000, 9999)}"


@valid_number
def _london(rng):
    return f"+4420{rng.choice('378')}{rng.randint(100, 999)}{rng.randint(1000, 9999)}"


@valid_number
def _uk_mobile(rng):
    return f"+447{rng.choice('4589')}{rng.randint(10, 99)}{rng.randint(100000, 999999)}"


@valid_number
def _berlin(rng):
    return f"+4930{rng.randint(2, 9)}{rng.randint(100000, 999999)}"


@valid_number
def _de_mobile(rng):
    return f"+49{rng.choice(('151', '160', '170', '176'))}{rng.randint(1000000, 9999999)}"


DESTINATIONS = {"nanp": _nanp, "london": _london, "uk_mobile": _uk_mobile, "berlin": _berlin, "de_mobile": _de_mobile}


@dataclass(frozen=True)
class CallProfile:
    """How a tenant calls: calls per business day (min, max), the share of outbound calls, the share answered
    and the destinations of outbound calls as {DESTINATIONS key: weight}."""

    calls_per_day: tuple
    outbound_share: float
    answered_share: float
    destinations: dict


def _duration(rng):
    """Billable seconds: many short calls, most of a few minutes, some long ones."""
    roll = rng.random()
    if roll < 0.3:
        return rng.randint(8, 60)
    if roll < 0.85:
        return rng.randint(61, 420)
    return rng.randint(421, 1800)


def day_legs(*, tenant, dids, extensions, profile, days_back, today):
    """The json legs of `tenant`'s calls on the day `days_back` days before `today` (a date), in call order:
    two legs per outbound call (the extension's and the trunk's), one trunk leg per inbound call. Calls are
    spread over the business day (13:00–23:00 UTC, 8:00–18:00 in Toronto)."""
    rng = random.Random(f"demo:{tenant}:{days_back}")
    day = today - timedelta(days=days_back)
    opening = int(datetime(day.year, day.month, day.day, 13, tzinfo=UTC).timestamp())
    count = rng.randint(*profile.calls_per_day)
    starts = sorted(opening + rng.randint(0, 10 * 3600) for _ in range(count))
    kinds, weights = zip(*profile.destinations.items())
    legs = []
    for number, at in enumerate(starts):
        call_id = f"{tenant}-{day.isoformat()}-{number}"
        extension = rng.choice(extensions)
        answered = rng.random() < profile.answered_share
        connect = at + rng.randint(3, 20) if answered else None
        end = connect + _duration(rng) if answered else at + rng.randint(15, 40)
        if rng.random() < profile.outbound_share:
            remote = DESTINATIONS[rng.choices(kinds, weights)[0]](rng)
            legs.append(json_leg(call_id=call_id, direction="I", extension=extension,
                                 extension_name=f"User {extension}", local_party=remote, remote_party=extension,
                                 start=at, connect=connect, end=end, system=tenant))
            legs.append(json_leg(call_id=f"{call_id}-trunk", primary_call_id=call_id, direction="O",
                                 trunk="SIP Trunk", local_party=extension, remote_party=remote, start=at,
                                 connect=connect, end=end, system=tenant))
        else:
            legs.append(json_leg(call_id=call_id, direction="I", trunk="SIP Trunk", local_party=rng.choice(dids),
                                 remote_party=_nanp(rng), start=at, connect=connect, end=end, system=tenant))
    return legs
