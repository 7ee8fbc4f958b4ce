"""PolarisMail simulator fixtures, shared by the provisioning, mail client-area and browser tests (import them
by name):

- `polarismail`: a PolarisMailSimulator on a free loopback port, fresh per test; the module's token cache is
  emptied around it. Knobs: polarismail.fail(...), .expire_tokens(), .advance(s); state: .domain(name).
- `pm_server`: a Server row pointing at it with the reseller's credentials and short timeouts.
- `pm_service(...)`: a service of a PolarisMail product with the given product options (Pending by default).
- `pm_live(...)`: an Active service whose domain exists on the simulator (seeded, so no lifecycle call).
"""
import pytest

from billing.models import Product, Service
from provisioning.models import Server
from provisioning.modules.polarismail.client import forget_tokens
from provisioning.modules.polarismail.options import PRODUCT_OPTIONS
from provisioning.modules.polarismail.simulator import PolarisMailSimulator
from tests.factories import ProductFactory, ServiceFactory

SIM_USERNAME = "reseller"
SIM_PASSWORD = "sim-reseller-pass"


@pytest.fixture
def polarismail():
    forget_tokens()
    simulator = PolarisMailSimulator(admin_username=SIM_USERNAME, admin_password=SIM_PASSWORD).start()
    yield simulator
    simulator.stop()
    forget_tokens()


def polarismail_server(simulator, **fields):
    defaults = {
        "name": f"PolarisMail sim {simulator.port}",
        "module": "polarismail",
        "hostname": "127.0.0.1",
        "port": simulator.port,
        "use_tls": False,
        "username": SIM_USERNAME,
        "password": SIM_PASSWORD,
        "settings": {"read_timeout": 3, "connect_timeout": 2},
    }
    return Server.objects.create(**{**defaults, **fields})


@pytest.fixture
def pm_server(polarismail, db):
    return polarismail_server(polarismail)


def polarismail_product(**options):
    return ProductFactory(module="polarismail", type=Product.Type.MAIL, module_options=PRODUCT_OPTIONS.clean(options))


@pytest.fixture
def pm_service(pm_server):
    def make(status=Service.Status.PENDING, domain=None, product=None, **options):
        kwargs = {"domain": domain} if domain else {}
        return ServiceFactory(product=product or polarismail_product(**options), server=pm_server, status=status,
                              username="", password="", **kwargs)

    return make


@pytest.fixture
def pm_live(pm_service, polarismail):
    def make(domain="polaris.example", users=(), **kwargs):
        service = pm_service(status=Service.Status.ACTIVE, domain=domain, **kwargs)
        polarismail.seed({"domains": [{"name": domain, "users": list(users)}]})
        return service

    return make
