"""The FusionPBX simulator itself: the REST add-on's paths, auth, status codes and error bodies; its SQLite file with
FusionPBX's column names; the event socket's framing and the switch's stale cache; deterministic call records."""
import socket
import sqlite3

import requests

from provisioning.modules.fusionpbx.simulator import DEFAULT_KEY, DEFAULT_SECRET, ENDPOINT, FusionPbxSimulator
from tests.provisioning.modules.fusionpbx.fixtures import TENANT

KEY = (DEFAULT_KEY, DEFAULT_SECRET)


def rest(sim, body, auth=KEY):
    return requests.post(sim.url + ENDPOINT, json=body, auth=auth, timeout=5)


def test_fusionpbx_answers_like_the_rest_add_on(fusionpbx):
    assert rest(fusionpbx, {"action": "domain-details"}, auth=None).json() == {"error": "unauthorized"}
    assert rest(fusionpbx, {"action": "domain-details"}, auth=(DEFAULT_KEY, "nope")).status_code == 401
    missing = rest(fusionpbx, {})
    assert missing.status_code == 400 and missing.json() == {
        "error": {"error": "missing required parameter(s)", "missing_parameters": ["action"]}}
    assert rest(fusionpbx, {"action": "explode"}).json() == {"error": "unknown action"}
    assert rest(fusionpbx, {"action": "domain-details"}).json() == {
        "error": "missing required parameter domain_uuid or domain_name"}
    assert rest(fusionpbx, {"action": "domain-details", "domain_name": "x.example"}).status_code == 404
    domain = rest(fusionpbx, {"action": "domain-details", "domain_name": TENANT}).json()
    assert domain["domain_enabled"] == "true" and set(domain) >= {"domain_uuid", "domain_parent_uuid", "insert_date"}
    created = rest(fusionpbx, {"action": "extension-create", "domain_uuid": domain["domain_uuid"], "extension": "150"})
    row = created.json()
    assert row["accountcode"] == TENANT and row["enabled"] == "true" and row["limit_max"] == "5" and row["password"]
    again = rest(fusionpbx, {"action": "extension-create", "domain_uuid": domain["domain_uuid"], "extension": "150"})
    assert (again.status_code, again.json()) == (500, {"error": "extension already exists"})


def test_fusionpbx_cdr_list_is_the_last_100_without_billsec(fusionpbx):
    fusionpbx.seed_cdrs(TENANT, 130)
    uuid = fusionpbx.domain(TENANT).domain_uuid
    rows = rest(fusionpbx, {"action": "cdr-list", "domain_uuid": uuid}).json()
    assert len(rows) == 100 and "billsec" not in rows[0] and set(rows[0]) == {
        "xml_cdr_uuid", "extension_uuid", "direction", "start_stamp", "end_stamp", "hangup_cause", "duration",
        "missed_call", "record_name", "bridge_uuid", "caller_id_name", "caller_id_number", "caller_destination",
        "source_number", "destination_number", "leg"}
    assert rows == sorted(rows, key=lambda r: r["end_stamp"], reverse=True)


def test_fusionpbx_keeps_its_state_in_a_sqlite_file_with_fusionpbxs_column_names(fusionpbx):
    domain = rest(fusionpbx, {"action": "domain-details", "domain_name": TENANT}).json()
    rest(fusionpbx, {"action": "extension-create", "domain_uuid": domain["domain_uuid"], "extension": "150"})
    fusionpbx.seed_cdrs(TENANT, 3)
    with sqlite3.connect(fusionpbx.db_path) as db:
        columns = {table: [row[1] for row in db.execute(f"PRAGMA table_info({table})")]
                   for table in ("v_domains", "v_extensions", "v_gateways", "v_xml_cdr")}
        extensions = {row[0]: row[1] for row in db.execute("SELECT extension, enabled FROM v_extensions")}
    assert {"domain_uuid", "domain_name", "domain_enabled"} <= set(columns["v_domains"])
    assert {"extension_uuid", "domain_uuid", "extension", "number_alias", "enabled"} <= set(columns["v_extensions"])
    assert columns["v_gateways"][:5] == ["gateway_uuid", "domain_uuid", "gateway", "profile", "enabled"]
    assert {"xml_cdr_uuid", "start_epoch", "answer_epoch", "end_epoch", "billsec", "leg"} <= set(columns["v_xml_cdr"])
    assert extensions == {"101": "true", "102": "true", "103": "true", "150": "true"}
    assert fusionpbx.database_url == f"sqlite:///{fusionpbx.db_path}"


def esl_exchange(port, *lines):
    """Send event socket commands and return everything the fake answered (until it hangs up)."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as conn:
        conn.sendall("".join(f"{line}\n\n" for line in lines).encode())
        data = b""
        while chunk := conn.recv(65536):
            data += chunk
    return data.decode()


def test_fusionpbx_event_socket_speaks_freeswitchs_framing(fusionpbx):
    port = fusionpbx.event_socket.port
    answer = esl_exchange(port, "auth ClueCon", "api status", "api sofia profile nowhere rescan", "exit")
    assert answer.startswith("Content-Type: auth/request\n\nContent-Type: command/reply\nReply-Text: +OK accepted\n\n")
    status = "UP 0 years, 0 days, 1 hour, 2 minutes, 3 seconds\nFreeSWITCH (Version 1.10.12 simulator) is ready\n" \
             "0 session(s) since startup\n"
    assert f"Content-Type: api/response\nContent-Length: {len(status)}\n\n{status}" in answer
    assert "Content-Type: api/response\nContent-Length: 25\n\nInvalid Profile [nowhere]" in answer
    assert "Reply-Text: +OK bye" in answer and answer.endswith("Disconnected, goodbye.\n")
    refused = esl_exchange(port, "auth wrong", "api status")
    assert "Reply-Text: -ERR invalid" in refused and "api/response" not in refused
    assert fusionpbx.event_socket.commands == ["status", "sofia profile nowhere rescan"]
    fusionpbx.set_knobs({"esl_reject": True})
    assert esl_exchange(port).startswith("Content-Type: text/rude-rejection\nContent-Length: 24\n\nAccess Denied")


def test_fusionpbx_switch_state_follows_the_database_through_its_stale_cache(fusionpbx):
    gateway = next(iter(fusionpbx.domain(TENANT).gateways))
    assert fusionpbx.directory_lookup(TENANT, "101")  # now cached
    fusionpbx.set_gateway(TENANT, "carrier", enabled=False, running=True)  # in the database only
    assert fusionpbx.api("sofia profile external rescan").startswith("+OK")
    assert fusionpbx.gateway_enabled(TENANT) is False and fusionpbx.domain(TENANT).gateways[gateway].running
    assert fusionpbx.api(f"sofia profile external killgw {gateway}") == "+OK gateway marked for deletion.\n"
    assert fusionpbx.api(f"sofia profile external killgw {gateway}") == "-ERR no such gateway.\n"
    assert fusionpbx.api("memcache delete x") == "-ERR memcache Command not found!\n"  # file cache by default
    fusionpbx.set_knobs({"cache_method": "memcache"})
    assert fusionpbx.api(f"memcache delete directory:101@{TENANT}") == "+OK\n"
    assert fusionpbx.api(f"memcache delete directory:101@{TENANT}") == "-ERR NOT FOUND\n"


def test_fusionpbx_call_records_are_deterministic_and_varied():
    first, second = FusionPbxSimulator(), FusionPbxSimulator()
    for sim in (first, second):
        sim.add_domain(TENANT, extensions=["101", "102"], dids=["15484815577"])
    rows = first.seed_cdrs(TENANT, 200, seed=9)
    assert rows == second.seed_cdrs(TENANT, 200, seed=9)
    assert rows != first.seed_cdrs(TENANT, 200, seed=10)
    assert {r["direction"] for r in rows} == {"inbound", "outbound", "local"}
    assert any(r["leg"] == "b" for r in rows) and any(r["billsec"] == 0 for r in rows)
    assert all(r["end_epoch"] - r["answer_epoch"] == r["billsec"] for r in rows if r["billsec"])
