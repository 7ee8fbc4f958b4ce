"""A LesNet CDR file simulator (shared/providers/lesnet.md §4). LesNet publishes no API and no file layout, so
this serves the portal's *synthetic* default layout: `GET /cdr/{account}_{NNNN}.txt` → 200 text/plain,
regenerated once per (simulated) day from the peer and the day, 404 for an unknown file.

Each file holds the previous day's calls, comma-separated without a header, e.g.
`2026-01-15 14:03:22,12045550123,12046664021,125`: inbound rows (to one of the peer's DIDs), outbound rows
(from one), unmatched rows (neither) and, with the `malformed` knob, bad lines. Knobs: `delimiter`, `header`,
`utc_offset_hours` (timestamps written in that offset), `malformed`, `rows_per_day`, `basic_auth`.

Run it alone with `python manage.py run_simulator lesnet --port 9995`.
"""
import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import phonenumbers

from provisioning.simulation.base import Response, Simulator, route
from provisioning.simulation.http_basic import basic_credentials, same_secret

HEADER = ("Date", "Source", "Destination", "Seconds")
# Area codes in service in the United States and Canada: a made-up number in them is a call the demo deck rates.
AREA_CODES = ("201", "212", "217", "303", "312", "404", "415", "416", "512", "604", "617", "713", "905", "972")
MALFORMED = ("this is not a call record", "2026-13-45 99:99:99,12045550123,12046664021,10", "2026-01-15 10:00:00,1")


class TextResponse(Response):
    def encode(self):
        return str(self.body or "").encode(), "text/plain; charset=utf-8"


@dataclass
class SimPeer:
    account: str  # the number in the file name (e.g. 11330)
    peer_id: str
    dids: tuple
    suffix: str = "0000"

    @property
    def file_name(self):
        return f"{self.account}_{self.suffix}.txt"


class LesNetSimulator(Simulator):
    name = "lesnet"

    def __init__(self, *, latency_ms=0, delimiter=",", header=False, utc_offset_hours=0, malformed=0, rows_per_day=12,
                 basic_auth=None, seed=1):
        super().__init__(latency_ms=latency_ms)
        self.peers = {}  # file name -> SimPeer
        self.delimiter = delimiter
        self.header = header
        self.utc_offset_hours = utc_offset_hours
        self.malformed = malformed
        self.rows_per_day = rows_per_day
        self.basic_auth = basic_auth  # (user, password) or None
        self.seed_value = seed

    def failure_response(self, status):
        return TextResponse(status, f"Injected failure {status}\n")

    def not_found(self, request, allowed_methods):
        return TextResponse(405 if allowed_methods else 404, "Not Found\n")

    @route("GET", "/cdr/{name}")
    def cdr_file(self, request, name):
        if self.basic_auth and not self._authorised(request):
            return TextResponse(401, "Unauthorized\n", headers={"WWW-Authenticate": 'Basic realm="LesNet"'})
        with self.lock:
            peer = self.peers.get(name)
            if peer is None:
                return TextResponse(404, "Not Found\n")
            return TextResponse(200, self.file_text(peer))

    def _authorised(self, request):
        user, password = basic_credentials(request) or ("", "")
        return same_secret(f"{user}:{password}", f"{self.basic_auth[0]}:{self.basic_auth[1]}")

    # --- the file ----------------------------------------------------------------------------------------

    def day(self):
        """The simulated day whose calls the files hold: yesterday, in UTC."""
        return (datetime.fromtimestamp(self.now(), UTC) - timedelta(days=1)).date()

    def rows(self, peer):
        """The day's calls as (UTC datetime, source, destination, seconds), deterministic per peer and day."""
        day = self.day()
        rng = random.Random(f"{peer.account}:{peer.peer_id}:{day.isoformat()}:{self.seed_value}")
        start = datetime(day.year, day.month, day.day, tzinfo=UTC)
        rows = []
        for _ in range(self.rows_per_day):
            at = start + timedelta(seconds=rng.randint(0, 86_399))
            other = _north_american_number(rng)
            did = rng.choice(peer.dids) if peer.dids else other
            roll = rng.random()
            if roll < 0.4:
                source, destination = other, did
            elif roll < 0.85:
                source, destination = did, other
            else:
                source, destination = other, _north_american_number(rng)
            rows.append((at, source, destination, rng.randint(0, 1800)))
        return sorted(rows)

    def file_text(self, peer):
        offset = timedelta(hours=self.utc_offset_hours)
        lines = [self.delimiter.join(HEADER)] if self.header else []
        for at, source, destination, seconds in self.rows(peer):
            written = (at + offset).strftime("%Y-%m-%d %H:%M:%S")
            lines.append(self.delimiter.join((written, source, destination, str(seconds))))
        for index in range(self.malformed):
            lines.insert(min(len(lines), 2 + index * 3), MALFORMED[index % len(MALFORMED)])
        return "\n".join(lines) + "\n"

    # --- state for tests and the demo --------------------------------------------------------------------

    def add_peer(self, account, peer_id, dids, suffix="0000"):
        with self.lock:
            peer = SimPeer(str(account), peer_id, tuple(dids), suffix)
            self.peers[peer.file_name] = peer
            return peer

    def url_for(self, account, suffix="0000"):
        return f"{self.url}/cdr/{account}_{suffix}.txt"

    def snapshot(self):
        with self.lock:
            return {"day": self.day().isoformat(), "files": {
                name: {"peer_id": p.peer_id, "dids": list(p.dids), "text": self.file_text(p)}
                for name, p in self.peers.items()}}

    def seed(self, data):
        """{"peers": [{"account", "peer_id", "dids", "suffix"?}]}."""
        for row in data.get("peers", []):
            self.add_peer(row["account"], row["peer_id"], row.get("dids", ()), row.get("suffix", "0000"))

    def reset(self):
        super().reset()
        with self.lock:
            self.peers.clear()

    def set_knobs(self, data):
        super().set_knobs(data)
        for key in ("delimiter", "header", "utc_offset_hours", "malformed", "rows_per_day"):
            if key in data:
                setattr(self, key, data[key])
        if "basic_auth" in data:
            self.basic_auth = tuple(data["basic_auth"]) if data["basic_auth"] else None


def _north_american_number(rng):
    """A valid North American number as LesNet writes it (1 + ten digits), drawn from `rng`: a random number in
    an unassigned range would be a call the portal reports as invalid, and the files must be the same valid
    calls whatever day they are made for."""
    while True:
        number = f"1{rng.choice(AREA_CODES)}{rng.choice('2345678')}{rng.randint(10, 99)}{rng.randint(1000, 9999)}"
        if phonenumbers.is_valid_number(phonenumbers.parse(f"+{number}")):
            return number
