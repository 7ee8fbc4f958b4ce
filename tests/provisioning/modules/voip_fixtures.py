"""What the VoIP provider tests share (FusionPBX, Vodia, LesNet): a Server row pointing at a simulator with
short timeouts, and factories of VoIP services with identifiers in module_data. Each vendor's simulator fixtures
are in tests/provisioning/modules/<vendor>/fixtures.py."""
from billing.models import Product, Service
from portal.activity import Actor
from provisioning.models import Server
from provisioning.registry import get_module
from tests.factories import ProductFactory, ServiceFactory

ACTOR = Actor.system("test")
FAST = {"read_timeout": 2, "connect_timeout": 2}


def server_for(simulator, module, **fields):
    defaults = {"name": f"{module} sim {simulator.port}", "module": module, "hostname": "127.0.0.1",
                "port": simulator.port, "use_tls": False, "settings": dict(FAST)}
    return Server.objects.create(**{**defaults, **fields})


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
