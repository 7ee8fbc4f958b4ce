"""The demo's mail side: SmarterMail products and server, seeding the simulator from the portal on each start."""
import pytest

from billing.models import Product, Service
from portal import demo
from portal.activity import Actor
from provisioning import demo as provisioning_demo
from provisioning import lifecycle
from provisioning.models import Server, UsageSample
from provisioning.modules.smartermail.options import PRODUCT_OPTIONS

pytestmark = pytest.mark.django_db


def test_demo_mail_products_use_smartermail_with_valid_options():
    demo.load_demo()
    for product in Product.objects.filter(type=Product.Type.MAIL):
        assert product.module == "smartermail" and product.server_group.name == provisioning_demo.GROUP_NAME
        assert PRODUCT_OPTIONS.clean(product.module_options) == product.module_options
    assert UsageSample.objects.filter(service__status="active").count() == 3 * 31


def test_each_start_points_the_demo_server_at_the_simulator_and_seeds_the_live_services(smartermail, monkeypatch):
    monkeypatch.setenv(provisioning_demo.URL_VARIABLE, smartermail.url)
    assert demo.load_demo() is True
    server = Server.objects.get(name=provisioning_demo.SERVER_NAME)
    assert (server.hostname, server.port, server.use_tls) == ("127.0.0.1", smartermail.port, False)
    live = Service.objects.filter(server=server, status__in=lifecycle.LIVE)
    assert set(smartermail.domains) == {s.domain for s in live} == {
        "acme.example", "acme-widgets.example", "globex.example", "initech.example"}
    assert smartermail.domain("initech.example").is_enabled is False  # suspended in the portal
    assert smartermail.domain("globex.example").outgoing_ip == "192.0.2.10"

    smartermail.reset()  # a restart of the simulator: memory is empty again
    assert demo.load_demo() is False
    assert len(smartermail.domains) == 4


def test_the_demo_works_against_the_simulator_end_to_end(smartermail, monkeypatch):
    monkeypatch.setenv(provisioning_demo.URL_VARIABLE, smartermail.url)
    demo.load_demo()
    actor = Actor.system("test")
    pending = Service.objects.get(domain="evans.example")
    lifecycle.service_create(service=pending, actor=actor)
    assert smartermail.domain("evans.example").user_limit == 5
    suspended = Service.objects.get(domain="initech.example")
    lifecycle.service_unsuspend(service=suspended, actor=actor)
    assert smartermail.domain("initech.example").is_enabled is True
    from provisioning.services import service_sso_url

    assert service_sso_url(service=Service.objects.get(domain="acme.example", product__type="mail"), actor=actor).startswith(smartermail.url)


def test_without_a_simulator_nothing_is_seeded(monkeypatch):
    monkeypatch.delenv(provisioning_demo.URL_VARIABLE, raising=False)
    demo.load_demo()
    assert provisioning_demo.attach_simulator() is None
    assert provisioning_demo.attach_simulator("http://127.0.0.1:9") is None  # down: a warning, not a crash
