"""LesNet simulator fixtures (import them by name into a conftest): `lesnet`, a LesNetSimulator on a free
loopback port with the peer PEER, fresh per test; `lesnet_server`, a Server row pointing at it;
`lesnet_service(...)`, a Pending LesNet service on it (its CDR file URL on the simulator)."""
import pytest

from provisioning.modules.lesnet.simulator import LesNetSimulator
from tests.provisioning.modules.voip_fixtures import server_for, voip_service

PEER = "D4E3CD2BFC791"


@pytest.fixture
def lesnet():
    simulator = LesNetSimulator().start()
    simulator.add_peer("11330", PEER, ["12046664021"])
    yield simulator
    simulator.stop()


@pytest.fixture
def lesnet_server(lesnet, db):
    return server_for(lesnet, "lesnet")


@pytest.fixture
def lesnet_service(lesnet_server, lesnet):
    def make(cdr_url=None, **kwargs):
        data = {"peer_id": PEER, "dids": ["12046664021"],
                "cdr_url": lesnet.url_for("11330") if cdr_url is None else cdr_url}
        return voip_service("lesnet", lesnet_server, data, **kwargs)

    return make
