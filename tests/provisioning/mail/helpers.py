"""Building mail services for the mail client-area tests: a plan with per-type mailboxes (seed 003's Basic and
Enhanced, billed per mailbox), and a service whose domain exists on a PolarisMail simulator."""
from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from billing.models import (
    BillingCycle,
    ConfigurableOption,
    ConfigurableOptionChoice,
    ConfigurableOptionPrice,
    Invoice,
    InvoiceItem,
    ProductPrice,
    Service,
    ServiceConfigOption,
)
from provisioning.mail.models import MailboxRecord
from provisioning.models import Server
from tests.factories import InvoiceFactory, ServiceFactory
from tests.provisioning.modules.polarismail.fixtures import polarismail_product, polarismail_server

PLAN_PRICE = Decimal("5.00")
TYPE_PRICES = {"basic": Decimal("2.00"), "enhanced": Decimal("6.00")}


def typed_plan(product, *, prices=TYPE_PRICES, cycle=BillingCycle.MONTHLY):
    """Give the product a plan price and one `mailboxes_<type>` quantity option per type."""
    ProductPrice.objects.get_or_create(product=product, currency="USD", cycle=cycle, defaults={"price": PLAN_PRICE})
    options = {}
    for order, (code, price) in enumerate(prices.items()):
        option, _ = ConfigurableOption.objects.get_or_create(
            product=product,
            code=f"mailboxes_{code}",
            defaults={
                "name": f"{code.title()} mailboxes",
                "kind": ConfigurableOption.Kind.QUANTITY,
                "sort_order": order,
            },
        )
        choice, _ = ConfigurableOptionChoice.objects.get_or_create(option=option, code="mailbox",
                                                                  defaults={"label": "Mailbox"})
        ConfigurableOptionPrice.objects.get_or_create(
            choice=choice, currency="USD", cycle=cycle, defaults={"price": price}
        )
        options[code] = (option, choice)
    return options


def set_mailboxes(service, **quantities):
    """The service's quantity of each mailbox type, and its recurring amount to match."""
    options = typed_plan(service.product)
    for code, quantity in quantities.items():
        option, choice = options[code]
        ServiceConfigOption.objects.update_or_create(service=service, option=option,
                                                     defaults={"choice": choice, "quantity": quantity})
    amount = PLAN_PRICE + sum((TYPE_PRICES[code] * q for code, q in quantities.items()), Decimal(0))
    Service.objects.filter(pk=service.pk).update(recurring_amount=amount)
    service.recurring_amount = amount
    return service


def paid_period(service, *, days_left=15, length=30):
    """The service's current period paid, with `days_left` days of it to go (so a change is prorated)."""
    today = timezone.localdate()
    due = today + timedelta(days=days_left)
    start = due - timedelta(days=length)
    Service.objects.filter(pk=service.pk).update(next_due_date=due, registration_date=start, billing_cycle="monthly")
    invoice = InvoiceFactory(client=service.client, status=Invoice.Status.PAID, total=service.recurring_amount)
    InvoiceItem.objects.create(invoice=invoice, service=service, kind=InvoiceItem.Kind.SERVICE, description="Period",
                               amount=service.recurring_amount, period_start=start, period_end=due - timedelta(days=1))
    service.refresh_from_db()
    return service


def polaris_mail_service(simulator, client, *, domain, users=(), aliases=None, lists=None, basic=3, enhanced=1,
                         **options):
    """An active PolarisMail service of `client` with a typed plan, its domain seeded on the simulator."""
    server = Server.objects.filter(module="polarismail", port=simulator.port).first() or polarismail_server(simulator)
    product = polarismail_product(**options)
    service = ServiceFactory(client=client, product=product, server=server, domain=domain, username="", password="")
    set_mailboxes(service, basic=basic, enhanced=enhanced)
    simulator.seed(
        {"domains": [{"name": domain, "users": list(users), "aliases": aliases or {}, "lists": lists or {}}]}
    )
    return service


def record(service, local, mailbox_type="basic", **fields):
    made, _ = MailboxRecord.objects.update_or_create(service=service, address=f"{local}@{service.domain}",
                                                     defaults={"mailbox_type": mailbox_type, **fields})
    return made
