"""Fixtures of the VoIP provider tests: each simulator on a free loopback port (fresh per test), a Server row
pointing at it with short timeouts, and factories of VoIP services with identifiers in module_data."""
import pytest

from billing.models import Product, Service
from portal.activity import Actor
from provisioning.models import Server
from provisioning.registry import get_module
from provisioning.simulators.fusionpbx import DEFAULT_KEY, DEFAULT_SECRET, FusionPbxSimulator
from provisioning.simulators.lesnet import LesNetSimulator
from provisioning.simulators.vodia import DEFAULT_ADMIN, DEFAULT_PASSWORD, VodiaSimulator
from tests.factories import ProductFactory, ServiceFactory

ACTOR = Actor.system("test")
TENANT = "acme.pbx.example"
VODIA_TENANT = "rucken.wat1.ictvoip.ca"
PEER = "D4E3CD2BFC791"
FAST = {"read_timeout": 2, "connect_timeout": 2}


@pytest.fixture
def fusionpbx():
    simulator = FusionPbxSimulator().start()
    simulator.add_domain(TENANT, extensions=["101", "102", "103"], gateways=["carrier"], dids=["15484815577"])
    yield simulator
    simulator.stop()


@pytest.fixture
def vodia():
    simulator = VodiaSimulator().start()
    simulator.add_tenant(VODIA_TENANT, extensions=["8300", "8301", "8302"], others=[("700", "hunts")])
    yield simulator
    simulator.stop()


@pytest.fixture
def lesnet():
    simulator = LesNetSimulator().start()
    simulator.add_peer("11330", PEER, ["12046664021"])
    yield simulator
    simulator.stop()


def server_for(simulator, module, **fields):
    defaults = {"name": f"{module} sim {simulator.port}", "module": module, "hostname": "127.0.0.1",
                "port": simulator.port, "use_tls": False, "settings": dict(FAST)}
    return Server.objects.create(**{**defaults, **fields})


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
def vodia_server(vodia, db):
    return server_for(vodia, "vodia", username=DEFAULT_ADMIN, password=DEFAULT_PASSWORD)


@pytest.fixture
def lesnet_server(lesnet, db):
    return server_for(lesnet, "lesnet")


def voip_product(module, **options):
    schema = get_module(module).product_options_schema
    return ProductFactory(module=module, type=Product.Type.VOIP, module_options=schema.clean(options))


def created(make):
    """A factory of services created on their simulator through the lifecycle (so Active)."""
    from provisioning import lifecycle

    def create(**kwargs):
        service = make(**kwargs)
        lifecycle.service_create(service=service, actor=ACTOR)
        service.refresh_from_db()
        return service

    return create


def voip_service(module, server, module_data, *, status=Service.Status.PENDING, product=None, **options):
    return ServiceFactory(product=product or voip_product(module, **options), server=server, status=status,
                          module_data=module_data, username="", password="")


@pytest.fixture
def fpbx_service(fpbx_server):
    def make(extensions=("101", "102"), tenant=TENANT, **kwargs):
        return voip_service("fusionpbx", fpbx_server, {"tenant": tenant, "extensions": list(extensions), "dids": []},
                            **kwargs)

    return make


@pytest.fixture
def vodia_service(vodia_server):
    def make(tenant=VODIA_TENANT, search_string="8300", **kwargs):
        data = {"tenant": tenant, "dids": ["15484815577"], "search_string": search_string}
        return voip_service("vodia", vodia_server, data, **kwargs)

    return make


@pytest.fixture
def lesnet_service(lesnet_server, lesnet):
    def make(cdr_url=None, **kwargs):
        data = {"peer_id": PEER, "dids": ["12046664021"],
                "cdr_url": lesnet.url_for("11330") if cdr_url is None else cdr_url}
        return voip_service("lesnet", lesnet_server, data, **kwargs)

    return make
