"""The Modoboa client's and module's handling of Modoboa's answers, against a tiny loopback stub (no Modoboa
needed): error bodies become clear messages, token problems are permanent, throttling is waited out, pages
are followed."""
import json
import threading
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest

from provisioning.modules.base import ModuleError, ServerRef, ServiceRef
from provisioning.modules.mailboxes import Forward
from provisioning.modules.modoboa import ModoboaModule
from provisioning.modules.modoboa import client as client_module
from provisioning.modules.modoboa.client import ModoboaClient, NotFound

TOKEN = "0123456789abcdef"


class Stub(BaseHTTPRequestHandler):
    """Answers from `answers[(method, path)]`: a list of (status, body[, headers]) used in turn, the last one
    repeating; a str body is sent as an HTML page. Requests are kept in `seen`."""

    answers = {}
    seen = []

    def _answer(self):
        url = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length)) if length else None
        self.seen.append((self.command, url.path, parse_qs(url.query), dict(self.headers), body))
        queue = self.answers.get((self.command, url.path)) or [(404, {"detail": "No Thing matches the given query."})]
        status, payload, *headers = queue.pop(0) if len(queue) > 1 else queue[0]
        data = payload.encode() if isinstance(payload, str) else json.dumps(payload).encode() if payload else b""
        self.send_response(status)
        self.send_header("Content-Type", "text/html" if isinstance(payload, str) else "application/json")
        for name, value in (headers[0] if headers else {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _answer

    def log_message(self, *args):
        pass


@pytest.fixture
def stub():
    Stub.answers, Stub.seen = {}, []
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Stub)
    threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


@pytest.fixture
def slept(monkeypatch):
    pauses = []
    monkeypatch.setattr(client_module.time, "sleep", pauses.append)
    return pauses


def service(url, **settings):
    server = ServerRef(id=1, hostname="mail.example.net", base_url=url, api_token=TOKEN, settings=settings)
    return ServiceRef(id=1, domain="shop.example", password="Secret-Passw0rd", server=server)


def domains(*rows):
    return 200, {"count": len(rows), "next": None, "previous": None, "results": list(rows)}


def test_the_token_and_the_host_header_are_sent(stub):
    Stub.answers[("GET", "/api/v2/account/me/")] = [(200, {"username": "admin", "role": "SuperAdmins"})]
    Stub.answers[("GET", "/api/v2/domains/")] = [domains()]
    result = ModoboaModule().test_connection(service(stub, host_header="mail.example.net").server)
    assert "as admin (SuperAdmins); 0 domain(s)" in result.message
    headers = Stub.seen[0][3]
    assert (headers["Authorization"], headers["Host"]) == (f"Token {TOKEN}", "mail.example.net")


@pytest.mark.parametrize("status, body, message", [
    (401, {"detail": "Invalid token."}, r"refused the portal's API token \(401: Invalid token\.\)"),
    (403, {"detail": "You do not have permission to perform this action."}, r"\(403: You do not have permission"),
    (400, {"name": ["domain with this name already exists."]}, r"\(400\): name: domain with this name already exists"),
    (400, {"mailbox": {"quota": ["Must be a number"]}, "password": ["Too short.", "Too common."]},
     r"\(400\): mailbox\.quota: Must be a number; password: Too short\. Too common\."),
    (409, {"error": "User 'admin@shop.example' already exists"}, r"\(409\): User 'admin@shop.example' already exists"),
    (400, "<!doctype html><title>Bad Request (400)</title>", "ALLOWED_HOSTS"),
])
def test_error_answers_become_permanent_errors_in_modoboas_words(stub, status, body, message):
    Stub.answers[("POST", "/api/v2/domains/")] = [(status, body)]
    with pytest.raises(ModuleError, match=message) as info:
        ModoboaClient(stub, TOKEN).call("POST", "domains/", {"name": "shop.example"})
    assert info.value.permanent
    assert info.value.status == status


def test_a_missing_object_is_not_found(stub):
    with pytest.raises(NotFound, match="No Thing matches the given query"):
        ModoboaClient(stub, TOKEN).call("GET", "domains/7/")


def test_a_server_error_is_temporary(stub):
    Stub.answers[("PATCH", "/api/v2/domains/7/")] = [(500, "<h1>Server Error (500)</h1>")]
    client = ModoboaClient(stub, TOKEN)
    client.http.backoff = 0
    with pytest.raises(ModuleError, match="answered 500") as info:
        client.call("PATCH", "domains/7/", {"enabled": False}, idempotent=True)
    assert not info.value.permanent


def test_an_answer_that_is_not_json_is_reported(stub):
    Stub.answers[("GET", "/api/v2/domains/")] = [(200, "<html>a web server, not Modoboa</html>")]
    with pytest.raises(ModuleError, match="not JSON: is this Modoboa's address"):
        ModoboaClient(stub, TOKEN).call("GET", "domains/")


def test_throttling_is_waited_out_as_modoboa_asks_even_for_a_post(stub, slept):
    throttled = (429, {"detail": "Request was throttled. Expected available in 2 seconds."}, {"Retry-After": "2"})
    Stub.answers[("POST", "/api/v2/aliases/")] = [throttled, throttled, (201, {"pk": 3})]
    assert ModoboaClient(stub, TOKEN).call("POST", "aliases/", {"address": "a@shop.example"}) == {"pk": 3}
    assert slept == [2.0, 2.0]
    assert len(Stub.seen) == 3


def test_throttling_longer_than_the_servers_limit_is_a_temporary_error(stub, slept):
    Stub.answers[("GET", "/api/v2/domains/")] = [(429, {"detail": "Request was throttled."}, {"Retry-After": "45"})]
    with pytest.raises(ModuleError, match="throttling the portal's requests") as info:
        ModoboaModule().suspend(service(stub, throttle_wait_seconds=30), reason="overdue")
    assert not info.value.permanent and slept == []


def test_lists_are_read_page_by_page_and_names_matched_exactly(stub):
    """`search` matches name prefixes: shop.example.org must not be taken for shop.example."""
    first = {"count": 2, "next": "http://x/api/v2/domains/?page=2", "results": [
        {"pk": 1, "name": "shop.example.org", "enabled": True}]}
    Stub.answers[("GET", "/api/v2/domains/")] = [(200, first), domains({"pk": 2, "name": "shop.example",
                                                                          "enabled": False})]
    result = ModoboaModule().suspend(service(stub), reason="overdue")
    assert result.message == "shop.example was already disabled."
    assert [seen[2]["page"] for seen in Stub.seen] == [["1"], ["2"]]
    assert Stub.seen[0][2]["search"] == ["shop.example"]


def test_create_of_a_name_taken_by_someone_else_says_what_to_do(stub):
    Stub.answers[("POST", "/api/v2/domains/")] = [(400, {"name": ["domain with this name already exists."]})]
    Stub.answers[("GET", "/api/v2/domains/")] = [domains({"pk": 5, "name": "shop.example", "enabled": True})]
    Stub.answers[("GET", "/api/v2/accounts/")] = [domains({"pk": 9, "username": "admin@shop.example"})]
    Stub.answers[("PUT", "/api/v1/accounts/9/password/")] = [(400, {"password": ["Password not correct"]})]
    with pytest.raises(ModuleError, match="already exists on the Modoboa server and is not this service's") as info:
        ModoboaModule().create(service(stub))
    assert info.value.permanent


def test_create_sends_the_product_quotas_and_reports_the_login(stub):
    Stub.answers[("POST", "/api/v2/domains/")] = [(201, {"pk": 5, "name": "shop.example"})]
    ref = replace(service(stub), product_options={"domain_quota_mb": "2000", "create_aliases": "no"})
    result = ModoboaModule().create(ref)
    body = Stub.seen[0][4]
    assert (body["quota"], body["default_mailbox_quota"], body["domain_admin"]["with_aliases"]) == (2000, 100, False)
    assert body["domain_admin"]["username"] == "admin" and body["domain_admin"]["password"] == "Secret-Passw0rd"
    assert (result.username, result.password, result.module_data) == ("admin@shop.example", "", {"modoboa_domain_id": 5})


def test_bad_product_options_are_named_before_any_call(stub):
    ref = replace(service(stub), product_options={"domain_quota_mb": "-1"})
    with pytest.raises(ModuleError, match="domain_quota_mb"):
        ModoboaModule().create(ref)
    assert Stub.seen == []


def test_change_package_patches_the_domains_quotas_from_the_new_product(stub):
    Stub.answers[("GET", "/api/v2/domains/")] = [domains({"pk": 7, "name": "shop.example", "enabled": True,
                                                          "quota": 500, "default_mailbox_quota": 50})]
    Stub.answers[("PATCH", "/api/v2/domains/7/")] = [(200, {"pk": 7})]
    ref = replace(service(stub), product_options={"domain_quota_mb": 2000, "mailbox_quota_mb": 200})
    result = ModoboaModule().change_package(ref)
    assert result.message == "Updated shop.example on mail.example.net: domain quota 2000 MB, mailboxes 200 MB."
    patch = [seen for seen in Stub.seen if seen[0] == "PATCH"]
    assert [(path, body) for _, path, _, _, body in patch] == [
        ("/api/v2/domains/7/", {"quota": 2000, "default_mailbox_quota": 200})]


def test_change_package_sends_nothing_when_modoboa_already_has_the_quotas(stub):
    Stub.answers[("GET", "/api/v2/domains/")] = [domains({"pk": 7, "name": "shop.example", "enabled": True,
                                                          "quota": "0", "default_mailbox_quota": "100"})]
    ref = replace(service(stub), product_options={"domain_quota_mb": 0, "mailbox_quota_mb": 100})
    result = ModoboaModule().change_package(ref)
    assert result.message == "shop.example already had domain quota unlimited, mailboxes 100 MB; nothing to change."
    assert [seen[0] for seen in Stub.seen] == ["GET"]


def test_change_package_of_a_domain_gone_from_modoboa_is_a_permanent_error(stub):
    Stub.answers[("GET", "/api/v2/domains/")] = [domains()]
    with pytest.raises(ModuleError, match="does not exist on the Modoboa server") as info:
        ModoboaModule().change_package(service(stub))
    assert info.value.permanent


def test_forwards_are_listed_from_one_listing_of_the_mailboxes_and_one_of_the_aliases(stub):
    """A forward is the alias at a mailbox's own address; the list page must not read the aliases per mailbox."""
    Stub.answers[("GET", "/api/v2/domains/")] = [domains({"pk": 7, "name": "shop.example", "enabled": True})]
    Stub.answers[("GET", "/api/v2/accounts/")] = [domains(
        {"pk": 1, "username": "admin@shop.example", "mailbox": {"full_address": "admin@shop.example", "quota": 0}},
        {"pk": 2, "username": "sales@shop.example", "mailbox": {"full_address": "sales@shop.example", "quota": 0}},
        {"pk": 3, "username": "tech@shop.example", "mailbox": {"full_address": "tech@shop.example", "quota": 0}},
    )]
    Stub.answers[("GET", "/api/v2/aliases/")] = [domains(
        {"pk": 4, "address": "sales@shop.example", "recipients": ["sales@shop.example", "boss@elsewhere.example"]},
        {"pk": 5, "address": "postmaster@shop.example", "recipients": ["admin@shop.example"]},
    )]
    assert ModoboaModule().list_forwards(service(stub)) == [
        Forward(address="admin@shop.example"),
        Forward(address="sales@shop.example", targets=("boss@elsewhere.example",)),
        Forward(address="tech@shop.example"),
    ]
    assert sorted(path for _, path, *_ in Stub.seen) == ["/api/v2/accounts/", "/api/v2/aliases/", "/api/v2/domains/"]
