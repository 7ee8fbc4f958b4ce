"""Vodia simulator fixtures (import them by name into a conftest): `vodia`, a VodiaSimulator on a free loopback
port with the tenant VODIA_TENANT, fresh per test; `vodia_server`, a Server row pointing at it;
`vodia_service(...)`, a Pending Vodia service on it."""
import pytest

from provisioning.modules.vodia.simulator import DEFAULT_ADMIN, DEFAULT_PASSWORD, VodiaSimulator
from tests.provisioning.modules.voip_fixtures import server_for, voip_service

VODIA_TENANT = "rucken.wat1.ictvoip.ca"


@pytest.fixture
def vodia():
    simulator = VodiaSimulator().start()
    simulator.add_tenant(VODIA_TENANT, extensions=["8300", "8301", "8302"], others=[("700", "hunts")])
    yield simulator
    simulator.stop()


@pytest.fixture
def vodia_server(vodia, db):
    return server_for(vodia, "vodia", username=DEFAULT_ADMIN, password=DEFAULT_PASSWORD)


@pytest.fixture
def vodia_service(vodia_server):
    def make(tenant=VODIA_TENANT, search_string="8300", **kwargs):
        data = {"tenant": tenant, "dids": ["15484815577"], "search_string": search_string}
        return voip_service("vodia", vodia_server, data, **kwargs)

    return make
