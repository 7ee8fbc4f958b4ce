"""SmarterMail simulator fixtures, shared by the provisioning and browser tests (import them by name):

- `smartermail`: a SmarterMailSimulator on a free loopback port, fresh per test; the module's token cache is
  emptied around it. Knobs: smartermail.fail(...), .expire_access_tokens(), .advance(s); state: .domain(name).
- `sm_server`: a Server row pointing at it with the right system-admin credentials and short timeouts.
- `sm_service(...)`: a Pending service of a SmarterMail product with the given product options.
"""
import pytest

from billing.models import Service
from provisioning.models import Server
from provisioning.modules.smartermail.client import forget_tokens
from provisioning.modules.smartermail.options import PRODUCT_OPTIONS
from provisioning.modules.smartermail.simulator import SmarterMailSimulator
from tests.factories import ProductFactory, ServiceFactory

SIM_ADMIN = "admin"
SIM_PASSWORD = "sim-admin-pass"
SERVICE_PASSWORD = "Initial-Pass-123"


@pytest.fixture
def smartermail():
    forget_tokens()
    simulator = SmarterMailSimulator(admin_username=SIM_ADMIN, admin_password=SIM_PASSWORD).start()
    yield simulator
    simulator.stop()
    forget_tokens()


def server_for(simulator, **fields):
    defaults = {
        "name": f"SmarterMail sim {simulator.port}",
        "module": "smartermail",
        "hostname": "127.0.0.1",
        "port": simulator.port,
        "use_tls": False,
        "username": SIM_ADMIN,
        "password": SIM_PASSWORD,
        "settings": {"read_timeout": 2, "connect_timeout": 2},
    }
    return Server.objects.create(**{**defaults, **fields})


@pytest.fixture
def sm_server(smartermail, db):
    return server_for(smartermail)


@pytest.fixture
def sm_service(sm_server):
    def make(status=Service.Status.PENDING, domain=None, **options):
        product = ProductFactory(module="smartermail", module_options=PRODUCT_OPTIONS.clean(options))
        kwargs = {"domain": domain} if domain else {}
        return ServiceFactory(product=product, server=sm_server, status=status, username="",
                              password=SERVICE_PASSWORD, **kwargs)

    return make
