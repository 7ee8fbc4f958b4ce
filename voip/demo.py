"""The demo's VoIP billing: a rate package, Vodia and LesNet products and servers (the simulators `python3
run.py` starts), the VoIP services wired to tenants, DIDs and peers that exist there, CDR sources, and a month
of calls imported through the real pipeline, so that rating, the ledger's call debits, a low-balance alert and
an autosuspension are all there to see.

- `catalogue` / `wire_service` / `sources` are called by config.demo while it creates the data set.
- `load_calls` imports 30 days of calls, one day at a time, oldest first: each Vodia tenant's day is one push
  (voip.services.push.receive_push, as the PBX's POST would), each LesNet day one scheduled import
  (voip.services.fetching.import_source) of the file a private LesNet simulator serves for that day. After each
  day the low-balance alerts and the autosuspend sweep run as their jobs would, so a client whose credit runs
  out is suspended through the lifecycle (its Vodia extensions disabled on a private Vodia simulator) and its
  PBX makes no more calls. The imports and ledger entries are then dated on their day (the history a month of
  jobs would have left). It runs once: when the demo sources hold calls it does nothing.
  The last FUSION_HISTORY_DAYS days, the FusionPBX services' calls are written into a private FusionPBX
  simulator's `v_xml_cdr` as FreeSWITCH writes them (voip.demo_fusionpbx) and the FusionPBX source's scheduled
  import reads them from that database (import_source); the sweep suspends a FusionPBX service in the
  product's mode (extension mode: its extensions disabled in the simulator's database, the gateway up).
- `attach_simulators` runs on every start: it points the demo servers at the simulators run.py started
  (DEMO_VODIA_URL, DEMO_LESNET_URL, DEMO_FUSIONPBX_URL) and seeds them from the portal (tenants with their
  extensions, disabled where the portal suspended them; LesNet peers; the FusionPBX tenant with its gateway,
  the imported calls in its `v_xml_cdr` and the suspended services' extensions disabled), as provisioning.demo
  does for SmarterMail.
"""
import json
import logging
import os
import sqlite3
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from urllib.parse import urlsplit

import requests
from django.db.models import Q
from django.utils import timezone

from billing.models import CreditLedgerEntry, Product, Service
from billing.services.ledger import ledger_post
from portal.activity import Actor
from portal.models import Client
from provisioning import lifecycle
from provisioning.models import Server, ServerGroup
from provisioning.modules.fusionpbx.module import SUSPENSION as FUSION_SUSPENSION
from provisioning.modules.fusionpbx.options import EXTENSION as FUSION_EXTENSION_MODE
from provisioning.modules.fusionpbx.options import PRODUCT_OPTIONS as FUSION_OPTIONS
from provisioning.modules.fusionpbx.options import SERVER_SETTINGS as FUSION_SETTINGS
from provisioning.modules.fusionpbx.simulator import (
    DEFAULT_ESL_PASSWORD,
    DEFAULT_KEY,
    DEFAULT_SECRET,
    FusionPbxSimulator,
)
from provisioning.modules.lesnet.module import PRODUCT_OPTIONS as LESNET_OPTIONS
from provisioning.modules.lesnet.simulator import LesNetSimulator
from provisioning.modules.vodia.module import SUSPENSION as VODIA_SUSPENSION
from provisioning.modules.vodia.options import PRODUCT_OPTIONS as VODIA_OPTIONS
from provisioning.modules.vodia.simulator import DEFAULT_ADMIN, DEFAULT_PASSWORD, VodiaSimulator
from voip import demo_fusionpbx as fusion
from voip.demo_calls import CallProfile, day_legs
from voip.models import Cdr, CdrImport, CdrSource, RatePackage, VoipProduct
from voip.services.alerts import send_low_balance_alerts
from voip.services.autosuspend import run_sweep
from voip.services.decks import import_deck
from voip.services.fetching import import_source
from voip.services.push import receive_push

logger = logging.getLogger(__name__)

ACTOR = Actor.system("load_demo")
VODIA_SERVER = "Demo Vodia PBX (simulator)"
LESNET_SERVER = "Demo LesNet (simulator)"
VODIA_GROUP = "Demo Vodia servers"
LESNET_GROUP = "Demo LesNet servers"
VODIA_URL_VARIABLE = "DEMO_VODIA_URL"
LESNET_URL_VARIABLE = "DEMO_LESNET_URL"
FUSION_SERVER = "Demo FusionPBX (simulator)"
FUSION_GROUP = "Demo FusionPBX servers"
FUSION_URL_VARIABLE = "DEMO_FUSIONPBX_URL"
FUSION_PRODUCT = "Hosted PBX (FusionPBX)"
FUSION_SOURCE = "Demo FusionPBX call records"
FUSION_HISTORY_DAYS = 14
PACKAGE_NAME = "Standard 2026"
PUSH_SOURCE = "Demo Vodia PBX (push)"
LESNET_SOURCE = "Demo LesNet CDR files"
PUSH_USERNAME = "vodia-demo"
PUSH_PASSWORD = "demo-push-pass"
HISTORY_DAYS = 30
LESNET_ROWS_PER_DAY = 6  # set on the simulator too, so the daily import after the demo reads the same files
LESNET_SEED = 1

# A small but realistic deck: NANP per 6 s, London per minute with a connect fee, mobiles dearer, premium 1-900
# per minute, German mobiles per second; inbound DID minutes at a flat per-minute rate.
DECK = """prefix,destination,connect_fee,rate_per_minute,minimum_seconds,increment_seconds,direction
1,USA/Canada,0.0000,0.0095,6,6,outbound
1416,Canada Toronto,0.0000,0.0085,6,6,outbound
1514,Canada Montreal,0.0000,0.0085,6,6,outbound
1800,USA/Canada toll-free,0.0000,0.0000,1,1,outbound
1900,USA premium,0.5000,2.5000,60,60,outbound
44,United Kingdom,0.0150,0.0350,60,60,outbound
4420,United Kingdom London,0.0150,0.0250,60,60,outbound
447,United Kingdom mobile,0.0400,0.1200,30,6,outbound
49,Germany,0.0150,0.0300,60,60,outbound
4930,Germany Berlin,0.0150,0.0260,60,60,outbound
4915,Germany mobile,0.0400,0.1450,1,1,outbound
4916,Germany mobile,0.0400,0.1450,1,1,outbound
4917,Germany mobile,0.0400,0.1450,1,1,outbound
1,USA/Canada inbound DID,0.0000,0.0040,60,60,inbound
"""

NORTH_AMERICA = {"nanp": 88, "london": 6, "uk_mobile": 3, "berlin": 2, "de_mobile": 1}
EXPORTER = {"nanp": 35, "london": 15, "uk_mobile": 20, "berlin": 10, "de_mobile": 20}


@dataclass(frozen=True)
class DemoTenant:
    """A Vodia tenant of a demo service (its domain in the portal), with its DIDs and extensions."""

    domain: str
    tenant: str
    dids: tuple
    extensions: tuple
    profile: CallProfile


@dataclass(frozen=True)
class DemoPeer:
    """A LesNet peer of a demo service: the number in its CDR file's name, its peer id and DIDs."""

    domain: str
    account: str
    peer_id: str
    dids: tuple


VODIA_TENANTS = (
    DemoTenant("acme.example", "acme.pbx.example", ("14169671111", "14169671112"), ("100", "101", "102", "110"),
               CallProfile((5, 11), 0.65, 0.88, NORTH_AMERICA)),
    DemoTenant("northwind.example", "northwind.pbx.example", ("15148881234",), ("200", "201"),
               CallProfile((1, 4), 0.8, 0.85, EXPORTER)),
    DemoTenant("northwind-sales.example", "northwind-sales.pbx.example", ("15148881300",), ("300", "301", "302"),
               CallProfile((1, 3), 0.85, 0.8, EXPORTER)),
)
# The Hosted PBX (FusionPBX) services: extensions of one shared FusionPBX domain (voip.demo_fusionpbx.TENANT),
# so the product suspends in extension mode. Initech's calls use up her credit until her unpaid invoice exceeds
# it: the sweep suspends her extensions; Globex's stay up.
FUSION_SERVICES = (
    fusion.FusionService("globex-pbx.example", ("12175289100",), ("500", "501", "502"),
                         CallProfile((2, 5), 0.7, 0.85, NORTH_AMERICA)),
    fusion.FusionService("initech-pbx.example", ("15125550140", "15125550141"), ("400", "401", "402"),
                         CallProfile((4, 8), 0.85, 0.85, EXPORTER)),
)
LESNET_PEERS = (DemoPeer("globex-trunk.example", "11330", "D4E3CD2BFC791", ("12175288000", "12175288001")),)

# VoIP client settings: (has VoIP service, low-balance threshold).
CLIENT_SETTINGS = {
    "alice@acme.example": (True, Decimal("25.00")),
    "frank@northwind.example": (True, Decimal("10.00")),
    "bob@globex.example": (False, None),  # LesNet cannot suspend a peer: autosuspend is off for this client
}
# Top-ups during the month: (client e-mail, days back, amount).
TOPUPS = (
    ("alice@acme.example", 30, "15.00"),
    ("alice@acme.example", 16, "10.00"),
    ("bob@globex.example", 30, "60.00"),
    ("carol@initech.example", 30, "12.00"),
)


# --- the catalogue and services (called by config.demo inside its transaction) -----------------------------


def servers():
    """{"vodia" | "lesnet" | "fusionpbx": (server, group)}: the demo's simulators, created once."""
    rows = {
        "vodia": (VODIA_SERVER, VODIA_GROUP, {
            "module": "vodia", "hostname": "127.0.0.1", "port": 9996, "use_tls": False, "verify_tls": False,
            "username": DEFAULT_ADMIN, "password": DEFAULT_PASSWORD,
            "notes": "The Vodia PBX simulator started by `python3 run.py`."}),
        "lesnet": (LESNET_SERVER, LESNET_GROUP, {
            "module": "lesnet", "hostname": "127.0.0.1", "port": 9995, "use_tls": False, "verify_tls": False,
            "notes": "The LesNet CDR file simulator started by `python3 run.py`."}),
        "fusionpbx": (FUSION_SERVER, FUSION_GROUP, {
            "module": "fusionpbx", "hostname": "127.0.0.1", "port": 9997, "use_tls": False, "verify_tls": False,
            "username": DEFAULT_KEY, "password": DEFAULT_SECRET,
            "settings": FUSION_SETTINGS.clean({"event_socket_password": DEFAULT_ESL_PASSWORD}),
            "notes": "The FusionPBX simulator started by `python3 run.py` (its database is a SQLite file, its "
                     "FreeSWITCH event socket a fake one: see the module settings)."}),
    }
    found = {}
    for key, (name, group_name, defaults) in rows.items():
        server, _ = Server.objects.get_or_create(name=name, defaults=defaults)
        group, _ = ServerGroup.objects.get_or_create(name=group_name)
        group.servers.add(server)
        found[key] = (server, group)
    return found


def product_spec(group):
    """config.demo's catalogue rows for the VoIP products: key → (group, name, type, monthly, provisioning)."""
    voip_servers = servers()
    vodia = {"module": "vodia", "server_group": voip_servers["vodia"][1]}
    lesnet = {"module": "lesnet", "server_group": voip_servers["lesnet"][1]}
    fusionpbx = {"module": "fusionpbx", "server_group": voip_servers["fusionpbx"][1]}
    return {
        "voip_metered": (group, "VoIP Metered", Product.Type.VOIP, "5.00",
                         {**vodia, "module_options": VODIA_OPTIONS.clean({"default_region": "CA"})}),
        "voip_business": (group, "VoIP Business", Product.Type.VOIP, "29.00",
                          {**vodia, "module_options": VODIA_OPTIONS.clean({"default_region": "CA"})}),
        "sip_trunk": (group, "SIP Trunk (LesNet)", Product.Type.VOIP, "15.00",
                      {**lesnet, "module_options": LESNET_OPTIONS.clean({"default_region": "US"})}),
        "hosted_pbx": (group, FUSION_PRODUCT, Product.Type.VOIP, "19.00",
                       {**fusionpbx, "module_options": FUSION_OPTIONS.clean(
                           {"auto_suspend_mode": FUSION_EXTENSION_MODE, "default_region": "US"})}),
    }


def rate_products(products):
    """The rate package, and every VoIP product rated with it."""
    package = RatePackage.objects.create(
        name=PACKAGE_NAME, description="Demo deck: North America, UK and Germany (landlines and mobiles).")
    result = import_deck(package=package, lines=DECK.splitlines(keepends=True), replace=True, skip_bad_rows=False,
                         actor=ACTOR)
    if not result.ok:
        raise ValueError(f"The demo rate deck is refused: {result.refused}")
    VoipProduct.objects.bulk_create([VoipProduct(product=product, rate_package=package)
                                     for product, _ in products.values() if product.type == Product.Type.VOIP])
    return package


def wire_service(service):
    """Point a demo VoIP service at its simulator server with the tenant or peer that exists there."""
    voip_servers = servers()
    if service.product.module == "fusionpbx":
        hosted = next(f for f in FUSION_SERVICES if f.domain == service.domain)
        service.server = voip_servers["fusionpbx"][0]
        service.module_data = {"tenant": fusion.TENANT, "dids": list(hosted.dids),
                               "extensions": list(hosted.extensions)}
        service.save(update_fields=["server", "module_data"])
        return
    tenant = next((t for t in VODIA_TENANTS if t.domain == service.domain), None)
    if tenant is not None:
        service.server = voip_servers["vodia"][0]
        service.module_data = {"tenant": tenant.tenant, "dids": list(tenant.dids), "search_string": tenant.extensions[0]}
    peer = next((p for p in LESNET_PEERS if p.domain == service.domain), None)
    if peer is not None:
        service.server = voip_servers["lesnet"][0]
        service.module_data = {"peer_id": peer.peer_id, "dids": list(peer.dids),
                               "cdr_url": f"{service.server.base_url.rstrip('/')}/cdr/{peer.account}_0000.txt"}
    service.save(update_fields=["server", "module_data"])


def sources():
    """The Vodia push source (no schedule: the PBX pushes), the daily LesNet source and the daily FusionPBX
    source (it reads v_xml_cdr from the FusionPBX server's database)."""
    voip_servers = servers()
    CdrSource.objects.get_or_create(name=PUSH_SOURCE, defaults={
        "kind": CdrSource.Kind.VODIA, "server": voip_servers["vodia"][0], "schedule": CdrSource.Schedule.MANUAL,
        "push_username": PUSH_USERNAME, "push_password": PUSH_PASSWORD, "options": {"default_region": "CA"}})
    CdrSource.objects.get_or_create(name=LESNET_SOURCE, defaults={
        "kind": CdrSource.Kind.LESNET, "server": voip_servers["lesnet"][0], "schedule": CdrSource.Schedule.DAILY,
        "time_zone": "UTC", "options": {"default_region": "US"}})
    CdrSource.objects.get_or_create(name=FUSION_SOURCE, defaults={
        "kind": CdrSource.Kind.FUSIONPBX, "server": voip_servers["fusionpbx"][0],
        "schedule": CdrSource.Schedule.DAILY,
        "time_zone": "UTC", "options": {"default_region": "US"}})


def client_settings():
    for email, (has_voip, threshold) in CLIENT_SETTINGS.items():
        Client.objects.filter(email=email).update(has_voip_service=has_voip, low_balance_threshold=threshold)


# --- a month of calls ----------------------------------------------------------------------------------------


def load_calls(*, now=None):
    """Import the demo month of calls (see the module's doc). Returns how many calls were stored, 0 when the demo
    sources hold calls already or the demo's VoIP catalogue is missing."""
    names = (PUSH_SOURCE, LESNET_SOURCE, FUSION_SOURCE)
    demo_sources = CdrSource.objects.filter(name__in=names)
    found = {source.name: source for source in demo_sources}
    if len(found) < len(names) or Cdr.objects.filter(source__in=demo_sources).exists():
        return 0
    push_source, lesnet_source, fusion_source = (found[name] for name in names)
    now = now or timezone.now()
    today = now.astimezone(UTC).date()
    services = {s.domain: s for s in Service.objects.filter(domain__in=[t.domain for t in VODIA_TENANTS])}
    hosted = _hosted_services()
    with _private_simulators(now) as (vodia, lesnet, fusionpbx):
        for days_back in range(HISTORY_DAYS, 0, -1):
            day_end = datetime.combine(today - timedelta(days=days_back), time(23, 30), tzinfo=UTC)
            _topups(days_back, day_end)
            live = set(Service.objects.filter(pk__in=[s.pk for s in services.values()], status=Service.Status.ACTIVE)
                       .values_list("domain", flat=True))
            for tenant in VODIA_TENANTS:
                if tenant.domain not in live:
                    continue  # suspended: its extensions are disabled, the PBX makes no calls
                legs = day_legs(tenant=tenant.tenant, dids=tenant.dids, extensions=tenant.extensions,
                                profile=tenant.profile, days_back=days_back, today=today)
                _backdate(receive_push(source=push_source, body=json.dumps(legs).encode(), account=tenant.tenant),
                          day_end)
            if days_back <= FUSION_HISTORY_DAYS:
                _fusion_day(fusion_source, fusionpbx, hosted, day_end)
            lesnet.advance((now - timedelta(days=days_back - 1)).timestamp() - lesnet.now())  # serves that day
            cdr_import = import_source(source_id=lesnet_source.pk)
            if cdr_import is not None:
                _backdate(cdr_import, day_end)
            send_low_balance_alerts(now=day_end)
            run_sweep(threads=1)
    return Cdr.objects.filter(source__in=demo_sources).count()


def _hosted_services():
    """{portal service id: FusionService} of the demo's Hosted PBX services."""
    spec = {f.domain: f for f in FUSION_SERVICES}
    return {pk: spec[domain] for pk, domain in Service.objects.filter(
        product__module="fusionpbx", domain__in=spec).values_list("pk", "domain")}


def _fusion_day(source, simulator, hosted, day_end):
    """One day of the FusionPBX services: the live ones' calls written into the simulator's v_xml_cdr (a
    suspended service's extensions are disabled: it makes no calls), then the source's scheduled import, dated
    at the day's end (so the next day's import reads from there, as the daily job would)."""
    active = Service.objects.filter(pk__in=hosted, status=Service.Status.ACTIVE).values_list("pk", flat=True)
    for pk in active:
        fusion.write_calls(simulator.db_path, hosted[pk], day_end.date())
    cdr_import = import_source(source_id=source.pk)
    if cdr_import is not None:
        _backdate(cdr_import, day_end)
    CdrSource.objects.filter(pk=source.pk).update(last_imported_up_to=day_end)


@contextmanager
def _private_simulators(now):
    """A Vodia, a LesNet and a FusionPBX simulator in this process for the history: the sweep disables
    extensions on the first and the third, the LesNet imports fetch each day's file from the second (its clock
    moved to that day), the FusionPBX imports read the third's database."""
    vodia = VodiaSimulator().start()
    lesnet = LesNetSimulator(rows_per_day=LESNET_ROWS_PER_DAY, seed=LESNET_SEED).start()
    fusionpbx = FusionPbxSimulator().start()
    try:
        vodia.seed(vodia_seed())
        lesnet.seed(lesnet_seed())
        fusionpbx.seed(fusion.seed(FUSION_SERVICES))
        _point_servers(vodia.url, lesnet.url)
        _point_fusion(fusionpbx.url, fusionpbx.database_url, fusionpbx.event_socket.port,
                      fusionpbx.event_socket.password)
        yield vodia, lesnet, fusionpbx
    finally:
        vodia.stop()
        lesnet.stop()
        fusionpbx.stop()


def _topups(days_back, at):
    for email, when, amount in TOPUPS:
        client = Client.objects.filter(email=email).first()
        if when != days_back or client is None:
            continue
        entry, _ = ledger_post(client=client, kind=CreditLedgerEntry.Kind.TOPUP, amount=Decimal(amount), actor=ACTOR,
                               description="Funds added by card (demo)", idempotency_key=f"demo:{email}:topup:{when}")
        CreditLedgerEntry.objects.filter(pk=entry.pk).update(created_at=at - timedelta(hours=14))


def _backdate(cdr_import, at):
    """Date an import and its call debits on the day it would have run."""
    CdrImport.objects.filter(pk=cdr_import.pk).update(created_at=at, started_at=at, heartbeat_at=at, finished_at=at)
    CreditLedgerEntry.objects.filter(idempotency_key__startswith=f"cdr:{cdr_import.pk}:").update(created_at=at)


# --- the simulators run.py starts ------------------------------------------------------------------------------


def vodia_seed():
    """The Vodia simulator's state from the portal: each demo tenant with its extensions, those the portal's
    suspension disabled marked disabled."""
    data = dict(Service.objects.filter(domain__in=[t.domain for t in VODIA_TENANTS], status__in=lifecycle.LIVE)
                .values_list("domain", "module_data"))
    tenants = []
    for tenant in VODIA_TENANTS:
        if tenant.domain not in data:
            continue
        suspension = (data[tenant.domain] or {}).get(VODIA_SUSPENSION) or {}
        tenants.append({"name": tenant.tenant, "extensions": list(tenant.extensions),
                        "disabled": list(suspension.get("extensions") or ())})
    return {"tenants": tenants}


def lesnet_seed():
    return {"peers": [{"account": p.account, "peer_id": p.peer_id, "dids": list(p.dids)} for p in LESNET_PEERS]}


def _point_servers(vodia_url, lesnet_url):
    """Point the demo servers (and the LesNet services' CDR file URLs) at the given simulators."""
    for name, url in ((VODIA_SERVER, vodia_url), (LESNET_SERVER, lesnet_url)):
        if url:
            parts = urlsplit(url)
            Server.objects.filter(name=name).update(hostname=parts.hostname, port=parts.port,
                                                    use_tls=parts.scheme == "https")
    if not lesnet_url:
        return
    for peer in LESNET_PEERS:
        for service in Service.objects.filter(domain=peer.domain, server__name=LESNET_SERVER):
            service.module_data = {**service.module_data,
                                   "cdr_url": f"{lesnet_url.rstrip('/')}/cdr/{peer.account}_0000.txt"}
            Service.objects.filter(pk=service.pk).update(module_data=service.module_data)


def _point_fusion(url, database_url, event_socket_port, event_socket_password):
    """Point the demo FusionPBX server at a simulator: its REST add-on (the server's address), its database
    and its event socket (the server's module settings)."""
    server = Server.objects.filter(name=FUSION_SERVER).first()
    if server is None:
        return
    parts = urlsplit(url)
    settings = FUSION_SETTINGS.clean({**server.settings, "database_url": database_url,
                                      "event_socket_host": parts.hostname, "event_socket_port": event_socket_port,
                                      "event_socket_password": event_socket_password})
    Server.objects.filter(pk=server.pk).update(hostname=parts.hostname, port=parts.port,
                                               use_tls=parts.scheme == "https", settings=settings)


def fusion_disabled_extensions():
    """The extensions the portal switched off in FusionPBX: those its extension-mode suspensions recorded, and
    a terminated service's (termination in extension mode disables them)."""
    rows = Service.objects.filter(product__module="fusionpbx", domain__in=[f.domain for f in FUSION_SERVICES],
                                  status__in=(Service.Status.SUSPENDED, Service.Status.TERMINATED))
    disabled = []
    for status, data in rows.values_list("status", "module_data"):
        data = data or {}
        if status == Service.Status.TERMINATED:
            disabled += data.get("extensions") or []
        else:
            disabled += (data.get(FUSION_SUSPENSION) or {}).get("extensions") or []
    return disabled


def fusion_history():
    """(FusionService, day) of every day whose calls the demo imported for a Hosted PBX service: one query."""
    spec = {f.domain: f for f in FUSION_SERVICES}
    rows = (Cdr.objects.filter(source__name=FUSION_SOURCE, service__domain__in=spec)
            .values_list("service__domain", "cdr_import__created_at").order_by().distinct())
    days = sorted({(domain, at.astimezone(UTC).date()) for domain, at in rows}, key=lambda row: (row[1], row[0]))
    return [(spec[domain], day) for domain, day in days]


def _attach_fusion(url):
    """Seed the FusionPBX simulator run.py started (a fresh database each start) from the portal: the tenant
    with its extensions and gateway, the demo's calls in v_xml_cdr, the suspended services' extensions
    disabled; and point the demo server at it. Returns the number of call rows written."""
    state = requests.get(f"{url.rstrip('/')}/_simulator/state", timeout=10)
    state.raise_for_status()
    state = state.json()
    requests.post(f"{url.rstrip('/')}/_simulator/seed", json=fusion.seed(FUSION_SERVICES),
                  timeout=10).raise_for_status()
    path = fusion.database_path(state["database_url"])
    written = sum(fusion.write_calls(path, service, day) for service, day in fusion_history())
    fusion.disable_extensions(path, fusion_disabled_extensions())
    socket = state["event_socket"]
    _point_fusion(url, state["database_url"], socket["port"], socket["password"])
    return written


def attach_simulators(vodia_url=None, lesnet_url=None, fusion_url=None):
    """Point the demo's VoIP servers at the simulators run.py started and seed them from the portal. Returns
    {"vodia": tenants seeded, "lesnet": peers seeded, "fusionpbx": call rows written} for the simulators reached
    (none without URLs)."""
    vodia_url = vodia_url or os.environ.get(VODIA_URL_VARIABLE, "")
    lesnet_url = lesnet_url or os.environ.get(LESNET_URL_VARIABLE, "")
    fusion_url = fusion_url or os.environ.get(FUSION_URL_VARIABLE, "")
    if not Server.objects.filter(Q(name=VODIA_SERVER) | Q(name=LESNET_SERVER) | Q(name=FUSION_SERVER)).exists():
        return {}
    _point_servers(vodia_url, lesnet_url)
    seeded = {}
    for key, url, data, knobs in (
        ("vodia", vodia_url, vodia_seed(), None),
        ("lesnet", lesnet_url, lesnet_seed(), {"rows_per_day": LESNET_ROWS_PER_DAY}),
    ):
        if not url:
            continue
        try:
            if knobs:
                requests.post(f"{url.rstrip('/')}/_simulator/knobs", json=knobs, timeout=10).raise_for_status()
            requests.post(f"{url.rstrip('/')}/_simulator/seed", json=data, timeout=10).raise_for_status()
        except requests.RequestException as exc:
            logger.warning("Could not seed the %s simulator at %s: %s", key, url, exc)
            continue
        seeded[key] = len(data.get("tenants") or data.get("peers") or ())
    if fusion_url:
        try:
            seeded["fusionpbx"] = _attach_fusion(fusion_url)
        except (requests.RequestException, sqlite3.Error, KeyError, ValueError) as exc:
            logger.warning("Could not seed the FusionPBX simulator at %s: %s", fusion_url, exc)
    return seeded
