"""FusionPBX simulator fixtures (import them by name into a conftest): `fusionpbx`, a FusionPbxSimulator on a
free loopback port with the tenant TENANT, fresh per test; `fpbx_server`, a Server row pointing at it (REST
add-on, its SQLite file and fake event socket); `fpbx_service(...)`, a Pending FusionPBX service on it."""
import pytest

from provisioning.modules.fusionpbx.simulator import DEFAULT_KEY, DEFAULT_SECRET, FusionPbxSimulator
from provisioning.registry import get_module
from tests.provisioning.modules.voip_fixtures import FAST, server_for, voip_service

TENANT = "acme.pbx.example"


@pytest.fixture
def fusionpbx():
    simulator = FusionPbxSimulator().start()
    simulator.add_domain(TENANT, extensions=["101", "102", "103"], gateways=["carrier"], dids=["15484815577"])
    yield simulator
    simulator.stop()


def fusionpbx_settings(simulator, **settings):
    """The server settings that point the module at the simulator's SQLite file and fake event socket, cleaned
    as the server form cleans them (so the secrets are stored encrypted)."""
    schema = get_module("fusionpbx").server_settings_schema
    return schema.clean({**FAST, "database_url": simulator.database_url, "event_socket_host": "127.0.0.1",
                         "event_socket_port": simulator.event_socket.port,
                         "event_socket_password": simulator.event_socket.password, **settings})


@pytest.fixture
def fpbx_server(fusionpbx, db):
    return server_for(fusionpbx, "fusionpbx", username=DEFAULT_KEY, password=DEFAULT_SECRET,
                      settings=fusionpbx_settings(fusionpbx))


@pytest.fixture
def fpbx_service(fpbx_server):
    def make(extensions=("101", "102"), tenant=TENANT, **kwargs):
        return voip_service("fusionpbx", fpbx_server, {"tenant": tenant, "extensions": list(extensions), "dids": []},
                            **kwargs)

    return make
