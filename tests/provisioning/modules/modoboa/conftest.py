"""The real Modoboa 2.12 set up by scripts/modoboa/setup.sh and started by start.sh, found via its
connection.json (MODOBOA_CONNECTION, else $MODOBOA_HOME/connection.json, else <repo>/var/modoboa/).

Every domain a test makes has a name unique to this run, and is removed at the end of the test (with the
accounts Modoboa keeps for it), so reruns and concurrent runs do not collide.
"""
import json
import os
import uuid
from pathlib import Path

import pytest
import requests

from provisioning.modules.base import ServerRef, ServiceRef
from provisioning.modules.modoboa import ModoboaModule
from tests.conftest import service_unavailable
from tests.factories import ProductFactory, ServerFactory

ROOT = Path(__file__).resolve().parents[4]
NOT_RUNNING = "Modoboa 2.12 not running: run scripts/modoboa/setup.sh && scripts/modoboa/start.sh"
RUN = uuid.uuid4().hex[:8]


def connection_file():
    if os.environ.get("MODOBOA_CONNECTION"):
        return Path(os.environ["MODOBOA_CONNECTION"])
    return Path(os.environ.get("MODOBOA_HOME") or ROOT / "var" / "modoboa") / "connection.json"


@pytest.fixture(scope="session")
def modoboa():
    """connection.json's contents (url, token, admin_username, admin_password) once the API answers."""
    path = connection_file()
    if not path.exists():
        service_unavailable(f"{NOT_RUNNING} (no {path})")
    data = json.loads(path.read_text())
    try:
        answer = requests.get(f"{data['url']}/api/v2/account/me/", headers={"Authorization": f"Token {data['token']}"},
                              timeout=5)
    except requests.RequestException as exc:
        service_unavailable(f"{NOT_RUNNING} ({data['url']}: {type(exc).__name__})")
    if answer.status_code != 200:
        service_unavailable(f"{NOT_RUNNING} ({data['url']} answered {answer.status_code})")
    return data


@pytest.fixture
def modoboa_server(modoboa, db):
    host, _, port = modoboa["url"].removeprefix("http://").partition(":")
    return ServerFactory(module="modoboa", hostname=host, port=int(port), use_tls=False, api_token=modoboa["token"])


@pytest.fixture
def modoboa_product(db):
    return ProductFactory(module="modoboa", module_options={"domain_quota_mb": 500, "mailbox_quota_mb": 50})


@pytest.fixture
def new_domain(modoboa, db):
    """Makes unique domain names for this test, and removes whatever exists of them on Modoboa afterwards."""
    names = []

    def make(label="d"):
        names.append(f"{label}-{RUN}-{len(names)}.portal-test.example")
        return names[-1]

    yield make
    # Straight from connection.json: a test may have broken its Server row's token on purpose.
    module, server = ModoboaModule(), ServerRef(id=0, hostname="modoboa", base_url=modoboa["url"], api_token=modoboa["token"])
    for name in names:
        module.terminate(ServiceRef(id=0, domain=name, server=server), delete_data=True)
