"""The simulator's own contract (shared/providers/smartermail.md §8) and its non-vendor inspection API."""
import subprocess
import sys
import time

import requests
from django.conf import settings

API = "/api/v1/"


def login(sim, username="admin", password="sim-admin-pass"):
    response = requests.post(sim.url + API + "auth/authenticate-user",
                             json={"username": username, "password": password}, timeout=5)
    return response


def test_every_answer_has_the_envelope_with_result_code_equal_to_the_status(smartermail):
    for response in (
        login(smartermail),
        login(smartermail, password="wrong"),
        requests.get(smartermail.url + API + "settings/sysadmin/domains", timeout=5),
        requests.get(smartermail.url + API + "no/such/path", timeout=5),
    ):
        body = response.json()
        assert body["resultCode"] == response.status_code
        assert body["success"] is (response.status_code == 200)


def test_login_answers_the_documented_fields(smartermail):
    body = login(smartermail).json()
    for name in ("emailAddress", "isAdmin", "isDomainAdmin", "accessToken", "refreshToken", "accessTokenExpiration",
                 "autoLoginUrl", "username"):
        assert name in body
    assert body["isAdmin"] is True and body["accessTokenExpiration"].endswith("Z")


def test_business_errors_are_400_with_the_vendor_code(smartermail):
    token = login(smartermail).json()["accessToken"]
    headers = {"Authorization": f"Bearer {token}"}
    body = {"domainData": {"name": "dup.example"}, "adminUsername": "admin", "adminPassword": "long-enough"}
    assert requests.post(smartermail.url + API + "settings/sysadmin/domain-put", json=body, headers=headers,
                         timeout=5).status_code == 200
    again = requests.post(smartermail.url + API + "settings/sysadmin/domain-put", json=body, headers=headers, timeout=5)
    assert (again.status_code, again.json()["message"]) == (400, "DOMAIN_ADD_ERROR_NAME_IN_USE")
    missing = requests.get(smartermail.url + API + "settings/sysadmin/domain/none.example", headers=headers, timeout=5)
    assert missing.status_code == 404


def test_access_tokens_expire_for_real(smartermail):
    token = login(smartermail).json()["accessToken"]
    headers = {"Authorization": f"Bearer {token}"}
    url = smartermail.url + API + "settings/sysadmin/domains"
    assert requests.get(url, headers=headers, timeout=5).status_code == 200
    smartermail.advance(smartermail.access_token_lifetime + 1)
    assert requests.get(url, headers=headers, timeout=5).status_code == 401


def test_inspection_api_seeds_shows_state_and_sets_knobs(smartermail):
    base = smartermail.url + "/_simulator/"
    requests.post(base + "seed", json={"domains": [{"name": "seeded.example", "is_enabled": False, "size": 2048,
                                                      "admin_password": "pw-123456"}]}, timeout=5).raise_for_status()
    state = requests.get(base + "state", timeout=5).json()
    assert state["domains"]["seeded.example"]["is_enabled"] is False
    assert state["files"] == {"/var/lib/smartermail/Domains/seeded.example": "seeded.example"}
    requests.post(base + "knobs", json={"latency_ms": 30, "fail": {"kind": "status", "status": 503}}, timeout=5)
    started = time.monotonic()
    assert login(smartermail).status_code == 503
    assert time.monotonic() - started >= 0.03
    assert requests.post(base + "knobs", json={"fail": {"kind": "explode"}}, timeout=5).status_code == 400
    requests.post(base + "reset", json={}, timeout=5)
    assert requests.get(base + "state", timeout=5).json()["domains"] == {}


def test_run_simulator_command_serves_on_the_given_port(tmp_path):
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "manage.py", "run_simulator", "smartermail", "--port", str(port), "--latency-ms", "5",
         "--admin-password", "cmd-pass-1"],
        cwd=settings.BASE_DIR, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        env={**_env(), "PORTAL_VAR_DIR": str(tmp_path)},
    )
    try:
        line = process.stdout.readline()
        while line and "listening" not in line:
            line = process.stdout.readline()
        assert f"http://127.0.0.1:{port}" in line
        response = requests.post(f"http://127.0.0.1:{port}{API}auth/authenticate-user",
                                 json={"username": "admin", "password": "cmd-pass-1"}, timeout=5)
        assert response.json()["success"] is True
    finally:
        process.terminate()
        assert process.wait(timeout=10) == 0


def _free_port():
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _env():
    import os

    return {key: value for key, value in os.environ.items() if key != "DJANGO_SETTINGS_MODULE"}
