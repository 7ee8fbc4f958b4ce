"""What the three VoIP simulators share (their own tests are in tests/provisioning/modules/<vendor>/): the inspection
API (seed, state, knobs, reset) and `manage.py run_simulator fusionpbx|vodia|lesnet`."""
import os
import socket
import subprocess
import sys

import pytest
import requests
from django.conf import settings

from provisioning.simulation import SIMULATORS

@pytest.mark.parametrize("name, seed, key", [
    ("fusionpbx", {"domains": [{"name": "seeded.example", "extensions": ["1"], "cdrs": 3}]}, "domains"),
    ("vodia", {"tenants": [{"name": "seeded.example", "extensions": ["1"], "disabled": ["1"]}]}, "tenants"),
    ("lesnet", {"peers": [{"account": "1", "peer_id": "P", "dids": ["12046664021"]}]}, "files"),
])
def test_inspection_api_seeds_shows_and_resets_state(name, seed, key):
    from django.utils.module_loading import import_string

    sim = import_string(SIMULATORS[name])().start()
    try:
        base = sim.url + "/_simulator/"
        requests.post(base + "seed", json=seed, timeout=5).raise_for_status()
        state = requests.get(base + "state", timeout=5).json()
        assert state[key]
        requests.post(base + "knobs", json={"fail": {"kind": "status", "status": 503}}, timeout=5).raise_for_status()
        assert requests.get(sim.url + "/rest/system/session", timeout=5).status_code == 503
        requests.post(base + "reset", json={}, timeout=5).raise_for_status()
        assert not requests.get(base + "state", timeout=5).json()[key]
    finally:
        sim.stop()


@pytest.mark.parametrize("name", ["fusionpbx", "vodia", "lesnet"])
def test_run_simulator_serves_each_voip_simulator(name, tmp_path):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    process = subprocess.Popen([sys.executable, "manage.py", "run_simulator", name, "--port", str(port)],
                               cwd=settings.BASE_DIR, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               env={**env, "PORTAL_VAR_DIR": str(tmp_path)})
    try:
        line = process.stdout.readline()
        while line and "listening" not in line:
            line = process.stdout.readline()
        assert f"{name} simulator listening on http://127.0.0.1:{port}" in line
        assert requests.get(f"http://127.0.0.1:{port}/_simulator/state", timeout=5).status_code == 200
    finally:
        process.terminate()
        assert process.wait(timeout=10) == 0
