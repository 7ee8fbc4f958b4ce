"""End to end through billing: a client's order, paid, is accepted and creates the domain on the simulator
with the path, IP and user limit of the product's options (seed 000: "Runs automatically when an order is
accepted")."""
from decimal import Decimal

import pytest

from billing.models import ProductPrice, Service
from billing.services.orders import order_create
from billing.services.payments import payment_record
from portal.activity import Actor
from provisioning.modules.smartermail.options import PRODUCT_OPTIONS
from tests.factories import ClientFactory, ProductFactory, ServerGroupFactory

pytestmark = pytest.mark.django_db


def test_a_paid_order_creates_the_domain_with_the_products_path_ip_and_user_limit(
    sm_server, smartermail, django_capture_on_commit_callbacks
):
    group = ServerGroupFactory()
    group.servers.add(sm_server)
    product = ProductFactory(
        module="smartermail", server_group=group, auto_accept_on_payment=True,
        module_options=PRODUCT_OPTIONS.clean({"storage_path": "/mnt/mail/{domain}", "outbound_ip": "198.51.100.7",
                                              "max_users": 12}),
    )
    ProductPrice.objects.create(product=product, cycle="monthly", price=Decimal("9.00"))
    client = ClientFactory()
    actor = Actor.client(client.owner_user)
    order = order_create(client=client, product=product, domain="Shop.Example", cycle="monthly", option_values={},
                         actor=actor)
    assert smartermail.domain("shop.example") is None  # not before it is paid

    order.invoice.refresh_from_db()
    with django_capture_on_commit_callbacks(execute=True):
        payment_record(invoice=order.invoice, amount=order.invoice.total, transaction_id="BANK-1", gateway="bank",
                       actor=Actor.system("bank-import"))

    domain = smartermail.domain("shop.example")
    assert (domain.path, domain.outgoing_ip, domain.user_limit) == ("/mnt/mail/shop.example", "198.51.100.7", 12)
    service = Service.objects.get(pk=order.service.pk)
    assert (service.status, service.server, service.username) == ("active", sm_server, "admin@shop.example")
    assert domain.users["admin"].password == service.password  # generated, stored encrypted
