from datetime import timedelta
from decimal import Decimal

import factory
from django.contrib.auth import get_user_model
from django.utils import timezone

from billing.models import Invoice, InvoiceItem, NumberSequence, Product, ProductGroup, Service
from billing.numbering import INVOICE_SEQUENCE
from portal.models import Client, ClientUser
from provisioning.models import Server, ServerGroup

PASSWORD = "correct horse battery"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}@example.com")
    email = factory.SelfAttribute("username")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class StaffFactory(UserFactory):
    username = factory.Sequence(lambda n: f"staff{n}")
    is_staff = True


class ClientFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Client
        skip_postgeneration_save = True

    company_name = factory.Sequence(lambda n: f"Company {n}")
    first_name = "Pat"
    last_name = factory.Sequence(lambda n: f"Client{n}")
    email = factory.Sequence(lambda n: f"client{n}@example.com")
    country = "CA"

    @factory.post_generation
    def owner_user(obj, create, extracted, **kwargs):
        if not create:
            return
        user = UserFactory(username=obj.email, first_name=obj.first_name)
        ClientUser.objects.create(user=user, client=obj, is_owner=True)
        obj.owner_user = user


class ProductGroupFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ProductGroup

    name = factory.Sequence(lambda n: f"Group {n}")


class ProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Product

    group = factory.SubFactory(ProductGroupFactory)
    name = factory.Sequence(lambda n: f"Product {n}")
    type = Product.Type.MAIL


class ServiceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Service

    client = factory.SubFactory(ClientFactory)
    product = factory.SubFactory(ProductFactory)
    domain = factory.Sequence(lambda n: f"domain{n}.example")
    status = Service.Status.ACTIVE
    recurring_amount = Decimal("10.00")
    next_due_date = factory.LazyFunction(lambda: timezone.localdate() + timedelta(days=10))


class InvoiceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Invoice

    client = factory.SubFactory(ClientFactory)
    number = factory.Sequence(lambda n: f"T-{n:06d}")
    status = Invoice.Status.UNPAID
    date = factory.LazyFunction(timezone.localdate)
    due_date = factory.LazyFunction(lambda: timezone.localdate() + timedelta(days=7))
    subtotal = Decimal("10.00")
    total = Decimal("10.00")


class InvoiceItemFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = InvoiceItem

    invoice = factory.SubFactory(InvoiceFactory)
    description = "Service"
    amount = Decimal("10.00")


class ServerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Server

    name = factory.Sequence(lambda n: f"server{n}")
    module = "fake"
    hostname = factory.Sequence(lambda n: f"mail{n}.example.net")


class ServerGroupFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ServerGroup

    name = factory.Sequence(lambda n: f"Server group {n}")


def ensure_invoice_sequence():
    """The invoice number sequence's row, as migration billing.0003 leaves it in every real database. A
    transactional test's flush deletes it; tests with writers racing for invoice numbers put it back first, since
    concurrent first inserts of that row can deadlock (billing.numbering)."""
    NumberSequence.objects.get_or_create(name=INVOICE_SEQUENCE)
