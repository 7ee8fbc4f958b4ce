"""The demo's mail side: SmarterMail and PolarisMail products and servers, seeding the simulators from the portal on
each start."""
from decimal import Decimal

import pytest
import requests

from billing.models import Product, Service
from billing.pricing import service_option_values
from config import demo
from portal.activity import Actor
from provisioning import demo as provisioning_demo
from provisioning import demo_polarismail as polaris_demo
from provisioning import lifecycle
from provisioning.models import Server, UsageSample
from provisioning.modules.polarismail.options import PRODUCT_OPTIONS as POLARIS_OPTIONS
from provisioning.modules.smartermail.options import PRODUCT_OPTIONS
from tests.provisioning.modules.polarismail.fixtures import polarismail  # noqa: F401

pytestmark = pytest.mark.django_db


def test_demo_mail_products_use_smartermail_or_polarismail_with_valid_options():
    demo.load_demo()
    groups = {"smartermail": provisioning_demo.GROUP_NAME, "polarismail": polaris_demo.GROUP_NAME}
    schemas = {"smartermail": PRODUCT_OPTIONS, "polarismail": POLARIS_OPTIONS}
    products = Product.objects.filter(type=Product.Type.MAIL).select_related("server_group")
    assert sorted((p.name, p.module) for p in products) == [
        ("Mail Basic", "smartermail"), ("Mail Business", "smartermail"), ("Mail Team", "polarismail")]
    for product in products:
        assert product.server_group.name == groups[product.module]
        assert schemas[product.module].clean(product.module_options) == product.module_options
    assert UsageSample.objects.filter(service__status="active").count() == 4 * 31


def test_the_demo_polarismail_service_is_alices_with_its_plans_included_mailboxes():
    demo.load_demo()
    service = Service.objects.get(domain=polaris_demo.DEMO_DOMAIN)
    assert (service.client.email, service.status, service.server.name) == (
        "alice@acme.example", "active", polaris_demo.SERVER_NAME)
    assert service.username == "alice@acme-team.example"
    assert service_option_values(service) == {"mailboxes_basic": 3, "mailboxes_enhanced": 1}
    assert service.recurring_amount == Decimal("6.00")


def test_each_start_seeds_the_polarismail_simulator_with_the_demo_domains_mailboxes_lists_and_branding(
        polarismail, monkeypatch):  # noqa: F811
    monkeypatch.setenv(polaris_demo.URL_VARIABLE, polarismail.url)
    monkeypatch.delenv(provisioning_demo.URL_VARIABLE, raising=False)
    assert demo.load_demo() is True
    server = Server.objects.get(name=polaris_demo.SERVER_NAME)
    assert (server.hostname, server.port, server.use_tls) == ("127.0.0.1", polarismail.port, False)
    service = Service.objects.get(domain=polaris_demo.DEMO_DOMAIN)

    def check_seeded():
        assert set(polarismail.domains) == {"acme-team.example"}
        domain = polarismail.domain("acme-team.example")
        assert domain.active is True
        assert {local: (u.account_type, u.uname) for local, u in domain.users.items()} == {
            "alice": (2, "Alice Archer"), "sales": (1, "Sales desk"), "support": (1, "Support")}
        assert sum(u.used_mb for u in domain.users.values()) == service.disk_usage_mb
        assert domain.users["alice"].password == service.password
        assert domain.aliases == {"info": "sales@acme-team.example"}
        assert {name: item.members for name, item in domain.lists.items()} == {
            "team": ["alice@acme-team.example", "sales@acme-team.example", "support@acme-team.example",
                     "dana@contractors.example"],
            "announce": ["alice@acme-team.example", "bob@globex.example"]}
        assert domain.branding == {"brandname": "Acme Team Mail", "supportemail": "support@acme-team.example",
                                   "brandcolor": "c2410c"}
        assert domain.dkim_enabled is True
        state = requests.get(f"{polarismail.url}/_simulator/state", timeout=5).json()["domains"]["acme-team.example"]
        assert (state["users"]["sales"]["quota_gb"], state["lists"]["announce"]["members"]) == (
            "5", ["alice@acme-team.example", "bob@globex.example"])  # the state page the banner names works

    check_seeded()
    polarismail.reset()  # a restart of the simulator: memory is empty again
    assert demo.load_demo() is False
    check_seeded()


def test_the_demo_polarismail_service_works_against_the_simulator(polarismail, monkeypatch):  # noqa: F811
    monkeypatch.setenv(polaris_demo.URL_VARIABLE, polarismail.url)
    demo.load_demo()
    service = Service.objects.get(domain=polaris_demo.DEMO_DOMAIN)
    actor = Actor.system("test")
    lifecycle.service_suspend(service=service, actor=actor, reason=Service.SuspendReason.OVERDUE)
    assert polarismail.domain("acme-team.example").active is False
    demo.load_demo()  # a restart keeps the portal's state
    assert polarismail.domain("acme-team.example").active is False
    lifecycle.service_unsuspend(service=Service.objects.get(pk=service.pk), actor=actor)
    assert polarismail.domain("acme-team.example").active is True


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
    monkeypatch.delenv(polaris_demo.URL_VARIABLE, raising=False)
    demo.load_demo()
    assert provisioning_demo.attach_simulator() is None
    assert provisioning_demo.attach_simulator("http://127.0.0.1:9") is None  # down: a warning, not a crash
    assert polaris_demo.attach_simulator() is None
    assert polaris_demo.attach_simulator("http://127.0.0.1:9") is None
