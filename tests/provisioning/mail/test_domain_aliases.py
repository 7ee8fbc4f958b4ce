"""Adding a domain alias: a domain the mail servers already host (one of the client's own services, or anyone's)
is refused with words about domains, not the mailbox page's "address already in use"."""
import pytest
from django.urls import reverse

from billing.models import Product, Service
from portal.models import ActivityLog
from tests.factories import ProductFactory, ServiceFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def signed_in(client, owner):
    client.force_login(owner.owner_user)
    return client


def add_alias(signed_in, service, name):
    return signed_in.post(reverse("clientarea:mail_domain_aliases", args=[service.pk]), {"action": "add", "name": name})


def test_the_clients_other_hosted_domain_is_refused_naming_the_service_that_hosts_it(signed_in, mail_service,
                                                                                    polarismail):
    shop = mail_service(domain="shop.example")
    other = mail_service(domain="shop.org", users=())
    response = add_alias(signed_in, shop, "Shop.ORG")
    assert response.status_code == 200
    assert response.context["form"].errors == {"name": [(
        f"shop.org is already a hosted domain: your {other.product.name} service #{other.pk} hosts its mail. "
        "A hosted domain cannot also be an alias of shop.example; to send its mail here, cancel that service first."
    )]}
    assert polarismail.domain("shop.example").alias_domains == []
    assert not ActivityLog.objects.filter(action="mail.domain_alias_add").exists()


def test_another_clients_hosted_domain_is_refused_without_naming_its_owner(signed_in, mail_service, polarismail):
    shop = mail_service(domain="shop.example")
    ServiceFactory(domain="elsewhere.example", product=ProductFactory(type=Product.Type.MAIL),
                   status=Service.Status.ACTIVE)
    response = add_alias(signed_in, shop, "elsewhere.example")
    assert response.context["form"].errors == {"name": [
        "elsewhere.example is already a hosted domain on our mail servers, so it cannot be an alias of shop.example."
    ]}


def test_a_terminated_or_non_mail_service_of_the_domain_does_not_block_the_alias(signed_in, mail_service, polarismail):
    shop = mail_service(domain="shop.example")
    ServiceFactory(client=shop.client, domain="shop.org", product=ProductFactory(type=Product.Type.VOIP),
                   status=Service.Status.ACTIVE)
    ServiceFactory(client=shop.client, domain="shop.org", product=ProductFactory(type=Product.Type.MAIL),
                   status=Service.Status.TERMINATED)
    response = add_alias(signed_in, shop, "shop.org")
    assert response.status_code == 302
    assert polarismail.domain("shop.example").alias_domains == ["shop.org"]


def test_a_domain_the_mail_server_refuses_as_taken_gets_a_message_about_domains(signed_in, mail_service, polarismail):
    shop = mail_service(domain="shop.example")
    polarismail.seed({"foreign": ["reseller-b.example"]})  # hosted in another account of the provider
    response = add_alias(signed_in, shop, "reseller-b.example")
    assert response.context["form"].errors == {"name": [(
        "reseller-b.example is already in use on the mail server, as a hosted domain or as a domain alias, so it "
        "cannot be an alias of shop.example."
    )]}
