"""The provider HTTP wrapper against a real loopback server: timeouts, safe retries, redaction."""
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from provisioning.http import REDACTED, ProviderHTTP, recording, redact
from provisioning.modules.base import ModuleError


class Scripted(BaseHTTPRequestHandler):
    """Answers each request with the next scripted status; 'drop' closes the connection without answering."""

    script = []
    seen = []

    def _answer(self):
        length = int(self.headers.get("Content-Length") or 0)
        self.seen.append((self.command, self.path, self.rfile.read(length)))
        action = self.script.pop(0) if self.script else 200
        if action == "drop":
            self.close_connection = True
            self.connection.shutdown(2)
            return
        body = json.dumps({"ok": action == 200}).encode()
        self.send_response(action)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_PUT = _answer

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    Scripted.script, Scripted.seen = [], []
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Scripted)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


def test_a_get_is_retried_after_a_503_and_a_dropped_connection(server):
    Scripted.script = [503, "drop", 200]
    http = ProviderHTTP(server, backoff=0)
    assert http.request("GET", "/x").status_code == 200
    assert len(Scripted.seen) == 3


def test_a_post_is_never_repeated(server):
    Scripted.script = [503]
    http = ProviderHTTP(server, backoff=0)
    with pytest.raises(ModuleError, match="answered 503"):
        http.request("POST", "/create", json={"domain": "a.example"})
    assert len(Scripted.seen) == 1


def test_a_post_documented_as_idempotent_may_be_repeated(server):
    Scripted.script = [502, 200]
    assert ProviderHTTP(server, backoff=0).request("POST", "/x", json={}, idempotent=True).status_code == 200
    assert len(Scripted.seen) == 2


def test_a_refused_connection_is_a_temporary_module_error():
    http = ProviderHTTP("http://127.0.0.1:9", retries=0)
    with pytest.raises(ModuleError, match="could not connect") as info:
        http.request("GET", "/")
    assert info.value.permanent is False


def test_a_slow_provider_times_out(server):
    import time

    original = Scripted._answer
    Scripted.do_GET = lambda self: (time.sleep(0.5), original(self))
    try:
        with pytest.raises(ModuleError, match="timed out"):
            ProviderHTTP(server, read_timeout=0.1, retries=0).request("GET", "/slow")
    finally:
        Scripted.do_GET = original


def test_4xx_is_returned_for_the_module_to_interpret(server):
    Scripted.script = [401]
    assert ProviderHTTP(server).request("GET", "/x").status_code == 401


def test_exchanges_are_recorded_with_secrets_redacted(server):
    with recording() as exchanges:
        ProviderHTTP(server).request("POST", "/auth", json={"username": "admin", "password": "hunter2", "nested": {"apiKey": "k"}})
    assert exchanges[0]["body"] == {"username": "admin", "password": REDACTED, "nested": {"apiKey": REDACTED}}
    assert exchanges[0]["status"] == 200 and "hunter2" not in json.dumps(exchanges)


def test_redact_handles_lists_and_token_names():
    assert redact([{"accessToken": "a", "refresh_token": "b", "name": "n"}]) == [
        {"accessToken": REDACTED, "refresh_token": REDACTED, "name": "n"}
    ]
