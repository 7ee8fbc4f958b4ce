"""The demo's calls are valid on every date: its generators are seeded by the tenant and the day, so a number
that only some seeds make (an unassigned range, a mobile number one digit short) turns up on some dates and not
others — the suite once went red on 2026-12-07 that way. These tests run each generator over a whole year with
the date given (the LesNet simulator's clock frozen on each day) and check every call the rating would see."""
import time
from datetime import UTC, date, datetime, timedelta

import pytest

from provisioning.modules.lesnet.simulator import LesNetSimulator
from provisioning.telephony.numbers import E164, Normaliser
from voip import demo as voip_demo
from voip import demo_calls, demo_fusionpbx

# A leap year, so 29 February is among the dates.
YEAR = [date(2028, 1, 1) + timedelta(days=offset) for offset in range(366)]
OUTBOUND_PREFIXES = {line.split(",")[0] for line in voip_demo.DECK.splitlines()[1:] if line.endswith(",outbound")}


def rated_prefix(e164):
    """The deck prefix an E.164 number (digits) rates at, or None: the longest outbound prefix it starts with."""
    return max((p for p in OUTBOUND_PREFIXES if e164.startswith(p)), key=len, default=None)


def problems(numbers, region):
    """The numbers that the rating would not rate against the demo deck, with why."""
    normalise = Normaliser(region)
    found = []
    for number in numbers:
        result = normalise(number)
        if result.kind != E164:
            found.append((number, result.kind, result.reason))
        elif rated_prefix(result.e164) is None:
            found.append((number, "no rate", result.e164))
    return found


def test_the_vodia_tenants_dial_only_valid_numbers_on_every_day_of_their_history():
    # Vodia calls are seeded by how many days back they are, not by the date: the history is every seed.
    bad = []
    for tenant in voip_demo.VODIA_TENANTS:
        for day in YEAR[:voip_demo.HISTORY_DAYS + 1]:
            legs = demo_calls.day_legs(tenant=tenant.tenant, dids=tenant.dids, extensions=tenant.extensions,
                                       profile=tenant.profile, days_back=(day - YEAR[0]).days, today=day)
            trunk_legs = [leg for leg in legs if leg.get("trunk")]
            remote = [leg["remote_party"] for leg in trunk_legs if leg["direction"] == "O"]
            callers = [leg["remote_party"] for leg in trunk_legs if leg["direction"] == "I"]
            bad += [(tenant.tenant, day, *problem) for problem in problems(remote + callers, "US")]
    assert bad == []


def test_the_fusionpbx_services_dial_only_valid_numbers_on_every_day_of_a_year():
    bad = []
    for service in voip_demo.FUSION_SERVICES:
        for day in YEAR:
            rows = demo_fusionpbx.day_rows(service, day, {})
            outbound = [row["destination_number"] for row in rows if row["direction"] == "outbound"]
            callers = [row["caller_id_number"] for row in rows if row["direction"] == "inbound"]
            bad += [(service.domain, day, *problem) for problem in problems(outbound + callers, "US")]
    assert bad == []


@pytest.fixture
def lesnet():
    """The demo's LesNet simulator (its peers and knobs), not serving: only its files are read."""
    simulator = LesNetSimulator(rows_per_day=voip_demo.LESNET_ROWS_PER_DAY, seed=voip_demo.LESNET_SEED)
    simulator.seed(voip_demo.lesnet_seed())
    return simulator


def test_the_lesnet_files_hold_only_valid_numbers_on_every_day_of_a_year(lesnet):
    bad = []
    for day in YEAR:
        # Freeze the simulator's clock on the morning after `day`: its files then hold `day`'s calls.
        morning = datetime(day.year, day.month, day.day, 6, tzinfo=UTC) + timedelta(days=1)
        lesnet.advance(morning.timestamp() - lesnet.now())
        assert lesnet.day() == day
        for peer in lesnet.peers.values():
            rows = lesnet.rows(peer)
            assert len(rows) == voip_demo.LESNET_ROWS_PER_DAY
            numbers = [number for _, source, destination, _ in rows for number in (source, destination)]
            bad += [(peer.account, day, *problem) for problem in problems(numbers, "US")]
    assert bad == []


def test_a_number_maker_draws_again_until_its_number_is_valid():
    # +1 555 0100…: a fictional range phonenumbers does not call valid; the maker must skip it.
    draws = iter(["+15550100123", "+15550100456", "+12125551234"])
    maker = demo_calls.valid_number(lambda rng: next(draws))
    assert maker(None) == "+12125551234"
    assert next(draws, "exhausted") == "exhausted"


def test_the_same_day_gives_the_same_calls_whenever_it_is_generated():
    service = voip_demo.FUSION_SERVICES[1]
    first = demo_fusionpbx.day_rows(service, date(2026, 12, 7), {})
    time.sleep(0.01)
    assert demo_fusionpbx.day_rows(service, date(2026, 12, 7), {}) == first
