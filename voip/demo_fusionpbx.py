"""The demo's FusionPBX part (used by voip.demo): one shared tenant domain on the FusionPBX simulator, with the
extensions of two clients' "Hosted PBX (FusionPBX)" services and one SIP gateway, and their calls as the rows
FreeSWITCH's xml_cdr module writes into FusionPBX's `v_xml_cdr`.

The simulator keeps FusionPBX's tables in a SQLite file, the database the portal's FusionPBX module and CDR
source read (`database_url`). Call rows are written straight into that file, as FreeSWITCH writes them into
FusionPBX's database; a suspension the portal made is re-applied the same way when a freshly started simulator
is seeded (the module switched the extensions off in the database: a new file must hold the same state).

Calls are deterministic for a tenant, its extensions and a day, so re-seeding the simulator on every start
writes the very rows the demo imported (the next scheduled import finds them all known and adds nothing).
"""
import random
import sqlite3
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from provisioning.modules.fusionpbx.simulator import ClosingConnection, sim_uuid
from voip.demo_calls import DESTINATIONS, CallProfile, _duration, _nanp

NAMESPACE = uuid.UUID("3b0c8f4e-2f7a-4d0e-9d55-5e6f0a1b2c3d")  # the demo's xml_cdr_uuid namespace
TENANT = "hosted.fusion.example"  # one FusionPBX domain shared by the demo clients: extension mode suspends
GATEWAY = "carrier"


@dataclass(frozen=True)
class FusionService:
    """A demo Hosted PBX service: its portal domain, the extensions and DIDs it has in the shared tenant."""

    domain: str
    dids: tuple
    extensions: tuple
    profile: CallProfile


def seed(services):
    """The simulator's /_simulator/seed body: the shared tenant with every service's extensions and DIDs, and
    its gateway (extensions the portal suspended are disabled afterwards: `disable_extensions`)."""
    return {"domains": [{
        "name": TENANT, "gateways": [GATEWAY],
        "extensions": [ext for service in services for ext in service.extensions],
        "dids": [did for service in services for did in service.dids],
    }]}


def database_path(database_url):
    """The file of the simulator's `sqlite:///…` database URL."""
    if not database_url.startswith("sqlite:///"):
        raise ValueError(f"The FusionPBX simulator's database URL is not a SQLite file: {database_url!r}")
    return database_url[len("sqlite:///"):]


def disable_extensions(path, extensions):
    """Disable the given extensions of the tenant in the simulator's database, as the portal's extension-mode
    suspension or termination did in the database it ran against."""
    if not extensions:
        return 0
    with _open(path) as db:
        marks = ", ".join("?" * len(extensions))
        sql = f"UPDATE v_extensions SET enabled = 'false' WHERE domain_uuid = ? AND extension IN ({marks})"
        return db.execute(sql, (sim_uuid(TENANT), *extensions)).rowcount


def write_calls(path, service, day):
    """Write `service`'s calls of `day` (a date) into v_xml_cdr, as FreeSWITCH does; returns how many rows.
    Rows already there (same xml_cdr_uuid) are left as they are."""
    with _open(path) as db:
        uuids = dict(db.execute("SELECT extension, extension_uuid FROM v_extensions WHERE domain_uuid = ?",
                                (sim_uuid(TENANT),)).fetchall())
        rows = day_rows(service, day, uuids)
        for row in rows:
            db.execute(f"INSERT OR IGNORE INTO v_xml_cdr ({', '.join(row)}) VALUES ({', '.join('?' * len(row))})",
                       tuple(row.values()))
    return len(rows)


def day_rows(service, day, extension_uuids):
    """The v_xml_cdr rows of a service's calls on `day`: outbound calls to the profile's destinations, inbound
    calls to its DIDs, now and then a call between two of its extensions (local: not rated). Business hours
    13:00–23:00 UTC."""
    rng = random.Random(f"demo-fusionpbx:{service.domain}:{day.isoformat()}")
    profile = service.profile
    opening = int(datetime(day.year, day.month, day.day, 13, tzinfo=UTC).timestamp())
    count = rng.randint(*profile.calls_per_day)
    kinds, weights = zip(*profile.destinations.items())
    rows = []
    for number, start in enumerate(sorted(opening + rng.randint(0, 10 * 3600) for _ in range(count))):
        extension = rng.choice(service.extensions)
        answered = rng.random() < profile.answered_share
        ring = rng.randint(3, 20) if answered else rng.randint(15, 40)
        billsec = _duration(rng) if answered else 0
        roll = rng.random()
        if roll < 0.08 and len(service.extensions) > 1:
            other = rng.choice([e for e in service.extensions if e != extension])
            direction, caller, dialled, destination = "local", extension, other, other
        elif roll < profile.outbound_share:
            remote = DESTINATIONS[rng.choices(kinds, weights)[0]](rng)
            direction, caller, dialled, destination = "outbound", extension, remote, remote
        else:
            direction, caller, dialled, destination = "inbound", _nanp(rng), rng.choice(service.dids), extension
        rows.append(_row(service, day, number, direction, extension_uuids.get(extension), caller, dialled,
                         destination, start, ring, billsec))
    return rows


def _row(service, day, number, direction, extension_uuid, caller, dialled, destination, start, ring, billsec):
    answered = billsec > 0
    answer = start + ring if answered else 0
    end = answer + billsec if answered else start + ring
    return {
        "xml_cdr_uuid": str(uuid.uuid5(NAMESPACE, f"{service.domain}/{day.isoformat()}/{number}")),
        "domain_uuid": sim_uuid(TENANT), "domain_name": TENANT, "extension_uuid": extension_uuid,
        "direction": direction, "caller_id_name": "", "caller_id_number": caller, "caller_destination": dialled,
        "source_number": caller, "destination_number": destination, "start_epoch": start, "answer_epoch": answer,
        "end_epoch": end, "start_stamp": _stamp(start), "answer_stamp": _stamp(answer), "end_stamp": _stamp(end),
        "duration": end - start, "billsec": billsec, "billmsec": billsec * 1000,
        "missed_call": "true" if not answered and direction == "inbound" else "false",
        "hangup_cause": "NORMAL_CLEARING" if answered else "NO_ANSWER", "leg": "a",
        "status": "answered" if answered else "missed", "record_name": None, "bridge_uuid": None,
    }


def _stamp(epoch):
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d %H:%M:%S+00") if epoch else None


def _open(path):
    """A connection to the simulator's file that commits and closes at the end of the block."""
    return ClosingConnection(sqlite3.connect(f"file:{path}?mode=rw", uri=True, timeout=10))

