"""The FusionPBX module against a real PostgreSQL: a throwaway database (fusionpbx_test_<random>) with FusionPBX's
tables and column types, reached as a role that has exactly the grants docs/voip-providers.md §4.1 tells the
reseller to give; suspension, unsuspension, termination and the call-record import run against it (the event
socket is the simulator's fake). Needs PostgreSQL on 127.0.0.1:5432 as user postgres (or
FUSIONPBX_TEST_POSTGRES_URL): skipped without it locally, failing under REQUIRE_SERVICES=1."""
import os
import secrets
from datetime import UTC, datetime
from urllib.parse import urlsplit, urlunsplit

import pytest

from billing.models import Service
from provisioning import lifecycle
from provisioning.lifecycle import server_ref
from provisioning.models import ModuleCall
from provisioning.modules.base import CdrSourceRef, ModuleError
from provisioning.modules.fusionpbx.simulator import FusionPbxSimulator
from provisioning.registry import get_module
from provisioning.telephony.cdrs import CdrRecord
from tests.conftest import service_unavailable
from tests.provisioning.modules.fusionpbx.fixtures import TENANT, fusionpbx_settings
from tests.provisioning.modules.voip_fixtures import ACTOR, server_for, voip_service

pytestmark = [pytest.mark.django_db, pytest.mark.services]

ADMIN_URL = os.environ.get("FUSIONPBX_TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres")

# FusionPBX's column types (app_config.php): uuid keys, numeric epochs and durations, timestamptz stamps. Newer
# FusionPBX made v_gateways.enabled boolean while older installations keep text: one of each is tested.
SCHEMA = """
CREATE TABLE v_domains (domain_uuid uuid PRIMARY KEY, domain_parent_uuid uuid, domain_name text,
    domain_enabled text, domain_description text, insert_date timestamptz, insert_user uuid,
    update_date timestamptz, update_user uuid);
CREATE TABLE v_extensions (extension_uuid uuid PRIMARY KEY, domain_uuid uuid, extension text, number_alias text,
    password text, accountcode text, user_context text, enabled text, description text);
CREATE TABLE v_gateways (gateway_uuid uuid PRIMARY KEY, domain_uuid uuid, gateway text, profile text,
    enabled boolean, description text);
CREATE TABLE v_xml_cdr (xml_cdr_uuid uuid PRIMARY KEY, domain_uuid uuid, provider_uuid uuid, extension_uuid uuid,
    sip_call_id text, domain_name text, accountcode text, direction text, context text, caller_id_name text,
    caller_id_number text, caller_destination text, source_number text, destination_number text,
    start_epoch numeric, start_stamp timestamptz, answer_stamp timestamptz, answer_epoch numeric,
    end_epoch numeric, end_stamp timestamptz, duration numeric, mduration numeric, billsec numeric,
    billmsec numeric, hangup_cause text, leg char(1), missed_call boolean, status text, record_name text,
    bridge_uuid uuid, json jsonb);
"""
CDR_COLUMNS = ("xml_cdr_uuid", "domain_uuid", "extension_uuid", "domain_name", "direction", "caller_id_name",
               "caller_id_number", "caller_destination", "source_number", "destination_number", "start_epoch",
               "answer_epoch", "end_epoch", "start_stamp", "answer_stamp", "end_stamp", "duration", "billsec",
               "billmsec", "hangup_cause", "leg", "missed_call", "status")


def _url(base, *, user=None, password=None, database=None):
    parts = urlsplit(base)
    host = f"{parts.hostname}:{parts.port or 5432}"
    login = user if user is not None else (parts.username or "")
    if password:
        login += f":{password}"
    path = f"/{database}" if database else parts.path
    return urlunsplit((parts.scheme, f"{login}@{host}" if login else host, path, "", ""))


@pytest.fixture
def postgres():
    """A fresh FusionPBX-shaped database and a portal role with the documented grants; dropped afterwards."""
    try:
        import psycopg
    except ImportError as exc:
        service_unavailable(f"psycopg is not installed: {exc}")
    try:
        admin = psycopg.connect(ADMIN_URL, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as exc:
        service_unavailable(f"PostgreSQL not reachable at {ADMIN_URL}: {' '.join(str(exc).split())[:200]}")
    suffix = secrets.token_hex(4)
    name, role, reader, password = f"fusionpbx_test_{suffix}", f"portal_{suffix}", f"cdrs_{suffix}", secrets.token_hex(8)
    admin.execute(f"CREATE DATABASE {name}")
    try:
        admin.execute(f"CREATE ROLE {role} LOGIN PASSWORD '{password}'")
        admin.execute(f"CREATE ROLE {reader} LOGIN PASSWORD '{password}'")
        with psycopg.connect(_url(ADMIN_URL, database=name), autocommit=True) as db:
            db.execute(SCHEMA)
            db.execute(f"GRANT SELECT ON v_domains, v_extensions, v_gateways, v_xml_cdr TO {role}")
            db.execute(f"GRANT UPDATE (enabled) ON v_gateways, v_extensions TO {role}")
            db.execute(f"GRANT SELECT ON v_domains, v_extensions, v_xml_cdr TO {reader}")
            yield {"admin": _url(ADMIN_URL, database=name), "url": _url(ADMIN_URL, user=role, password=password,
                                                                          database=name),
                   "reader": reader, "password": password, "name": name, "db": db}
    finally:
        admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        admin.execute(f"DROP ROLE IF EXISTS {role}")
        admin.execute(f"DROP ROLE IF EXISTS {reader}")
        admin.close()


@pytest.fixture
def pbx(postgres):
    """The simulator (REST add-on and fake event socket) and the same domain copied into PostgreSQL."""
    simulator = FusionPbxSimulator().start()
    simulator.add_domain(TENANT, extensions=["101", "102", "103"], gateways=["carrier"], dids=["15484815577"])
    domain = simulator.domain(TENANT)
    db = postgres["db"]
    db.execute("INSERT INTO v_domains (domain_uuid, domain_name, domain_enabled) VALUES (%s, %s, 'true')",
               (domain.domain_uuid, TENANT))
    for ext in domain.extensions.values():
        db.execute("INSERT INTO v_extensions (extension_uuid, domain_uuid, extension, number_alias, enabled) "
                   "VALUES (%s, %s, %s, '', 'true')", (ext.extension_uuid, domain.domain_uuid, ext.extension))
    for gateway in domain.gateways.values():
        db.execute("INSERT INTO v_gateways (gateway_uuid, domain_uuid, gateway, profile, enabled) "
                   "VALUES (%s, %s, %s, %s, true)", (gateway.gateway_uuid, domain.domain_uuid, gateway.gateway,
                                                     gateway.profile))
    yield simulator, domain
    simulator.stop()


@pytest.fixture
def pg_server(pbx, postgres, db):
    from provisioning.modules.fusionpbx.simulator import DEFAULT_KEY, DEFAULT_SECRET

    simulator, _ = pbx
    return server_for(simulator, "fusionpbx", username=DEFAULT_KEY, password=DEFAULT_SECRET,
                      settings=fusionpbx_settings(simulator, database_url=postgres["url"]))


def flags(postgres):
    db = postgres["db"]
    gateways = dict(db.execute("SELECT gateway, enabled FROM v_gateways").fetchall())
    extensions = dict(db.execute("SELECT extension, enabled FROM v_extensions").fetchall())
    return gateways, extensions


def insert_cdrs(postgres, rows):
    with postgres["db"].cursor() as cursor:
        for row in rows:
            values = [row.get(name) for name in CDR_COLUMNS]
            values = [datetime.fromisoformat(v.replace("+00", "+00:00")) if name.endswith("_stamp") and v else v
                      for name, v in zip(CDR_COLUMNS, values, strict=True)]
            cursor.execute(f"INSERT INTO v_xml_cdr ({', '.join(CDR_COLUMNS)}) "
                           f"VALUES ({', '.join(['%s'] * len(CDR_COLUMNS))})", values)


def test_gateway_mode_switches_the_boolean_enabled_column_and_tells_the_switch(pg_server, pbx, postgres):
    simulator, domain = pbx
    service = voip_service("fusionpbx", pg_server, {"tenant": TENANT, "extensions": ["101"]}, status="active")
    lifecycle.service_suspend(service=service, actor=ACTOR, reason=Service.SuspendReason.VOIP_CREDIT, mode="gateway")
    gateway = next(iter(domain.gateways))
    assert flags(postgres) == ({"carrier": False}, {"101": "true", "102": "true", "103": "true"})
    assert simulator.event_socket.commands[-1] == f"sofia profile external killgw {gateway}"
    service.refresh_from_db()
    assert service.status == Service.Status.SUSPENDED
    assert service.module_data["fusionpbx_suspension"] == {"mode": "gateway", "gateways": [gateway], "extensions": []}
    lifecycle.service_unsuspend(service=service, actor=ACTOR)
    assert flags(postgres)[0] == {"carrier": True}
    assert simulator.event_socket.commands[-1] == "sofia profile external rescan"


def test_extension_mode_switches_the_text_enabled_column_of_the_services_extensions_only(pg_server, pbx, postgres):
    simulator, _ = pbx
    service = voip_service("fusionpbx", pg_server, {"tenant": TENANT, "extensions": ["101", "102"]}, status="active",
                           auto_suspend_mode="extension")
    lifecycle.service_suspend(service=service, actor=ACTOR, reason=Service.SuspendReason.MANUAL)
    assert flags(postgres) == ({"carrier": True}, {"101": "false", "102": "false", "103": "true"})
    assert simulator.event_socket.commands[-1] == "reloadxml"
    lifecycle.service_unsuspend(service=service, actor=ACTOR)
    assert flags(postgres)[1] == {"101": "true", "102": "true", "103": "true"}
    lifecycle.service_terminate(service=service, actor=ACTOR)
    assert flags(postgres)[1] == {"101": "false", "102": "false", "103": "true"}
    assert "nothing was deleted" in ModuleCall.objects.get(action="terminate").response_summary


def test_cdr_import_pages_by_end_epoch_and_uuid_through_ties_and_reads_numeric_epochs(pg_server, pbx, postgres,
                                                                                     monkeypatch):
    simulator, _ = pbx
    monkeypatch.setattr("provisioning.modules.fusionpbx.module.CDR_PAGE", 4)
    rows = simulator.seed_cdrs(TENANT, 15, seed=4)
    for row in rows[5:9]:  # four calls ending in the same second: the uuid breaks the tie across pages
        row["end_epoch"] = rows[5]["end_epoch"]
    insert_cdrs(postgres, rows)
    source = CdrSourceRef(id=1, kind="fusionpbx", server=server_ref(pg_server), options={"domains": [TENANT]})
    items = list(get_module("fusionpbx").fetch_cdrs(source, None))
    expected = sorted(rows, key=lambda r: (r["end_epoch"], r["xml_cdr_uuid"]))
    assert [item.external_id for item in items] == [r["xml_cdr_uuid"] for r in expected]
    assert all(isinstance(item, CdrRecord) and item.account == TENANT for item in items)
    for item, row in zip(items, expected, strict=True):
        assert item.billsec == row["billsec"] and item.fields[2] == row["extension"]
        if row["billsec"]:
            assert item.answer_time == datetime.fromtimestamp(row["answer_epoch"], UTC)
    cut = expected[10]["end_epoch"]
    later = list(get_module("fusionpbx").fetch_cdrs(source, datetime.fromtimestamp(cut, UTC)))
    assert [item.external_id for item in later] == [r["xml_cdr_uuid"] for r in expected if r["end_epoch"] >= cut]


def test_a_cdr_source_may_use_its_own_read_only_role(pg_server, pbx, postgres):
    simulator, _ = pbx
    insert_cdrs(postgres, simulator.seed_cdrs(TENANT, 3))
    source = CdrSourceRef(id=1, kind="fusionpbx", server=server_ref(pg_server), username=postgres["reader"],
                          password=postgres["password"])
    assert len(list(get_module("fusionpbx").fetch_cdrs(source, None))) == 3


def test_test_connection_checks_the_grants_the_docs_ask_for(pg_server, postgres):
    module = get_module("fusionpbx")
    assert "is readable" in module.test_connection(server_ref(pg_server)).message
    postgres["db"].execute(f"REVOKE UPDATE (enabled) ON v_extensions FROM {urlsplit(postgres['url']).username}")
    with pytest.raises(ModuleError, match=r"may not update v_extensions.enabled. Grant it: GRANT UPDATE \(enabled\)") \
            as info:
        module.test_connection(server_ref(pg_server))
    assert info.value.permanent


@pytest.mark.parametrize("change, expected, permanent", [
    ({"user": "nobody_here"}, "refused the login", True),
    ({"database": "no_such_fusionpbx"}, "does not exist", True),
])
def test_postgres_errors_become_sentences_saying_what_to_fix(pg_server, pbx, postgres, change, expected, permanent):
    simulator, _ = pbx
    pg_server.settings = fusionpbx_settings(simulator, database_url=_url(postgres["url"], **change))
    pg_server.save()
    service = voip_service("fusionpbx", pg_server, {"tenant": TENANT, "extensions": ["101"]}, status="active")
    with pytest.raises(ModuleError, match=expected) as info:
        lifecycle.service_suspend(service=service, actor=ACTOR, reason=Service.SuspendReason.MANUAL)
    assert info.value.permanent is permanent
    assert simulator.event_socket.commands == []  # nothing changed, so the switch was told nothing
    assert postgres["password"] not in info.value.message


def test_an_unreachable_postgres_is_a_temporary_error(pg_server, pbx, postgres):
    simulator, _ = pbx
    pg_server.settings = fusionpbx_settings(simulator, database_url="postgres://portal:secret@127.0.0.1:1/fusionpbx",
                                            connect_timeout=2)
    pg_server.save()
    service = voip_service("fusionpbx", pg_server, {"tenant": TENANT, "extensions": ["101"]}, status="active")
    with pytest.raises(ModuleError, match=r"Could not reach the FusionPBX database postgres://portal@127.0.0.1:1/") \
            as info:
        lifecycle.service_suspend(service=service, actor=ACTOR, reason=Service.SuspendReason.MANUAL)
    assert not info.value.permanent and "secret" not in info.value.message
