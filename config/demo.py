"""A realistic demo data set: a staff login, clients with mail and VoIP services in several states, products
and groups, and invoices paid, unpaid and overdue. Loaded by `manage.py load_demo`; loading twice adds nothing."""
import zlib
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from billing.models import (
    AutomationSettings,
    BillingCycle,
    ConfigurableOption,
    ConfigurableOptionChoice,
    ConfigurableOptionPrice,
    CreditLedgerEntry,
    Invoice,
    InvoiceItem,
    InvoiceTaxLine,
    Payment,
    Product,
    ProductGroup,
    ProductPrice,
    Service,
)
from billing import demo as billing_demo
from billing.money import add_cycle, period_end, period_key
from billing.numbering import allocate_invoice_number
from billing import demo as billing_demo
from billing.services.ledger import ledger_post
from billing.tax.documents import invoice_tax_fields, tax_for_clients, tax_line_rows
from payments import demo as payments_demo
from portal.activity import Actor
from portal.models import Client
from portal.services import client_create
from provisioning import demo as provisioning_demo
from provisioning import demo_polarismail as polaris_demo
from storefront import demo as storefront_demo
from voip import demo as voip_demo

STAFF_USERNAME = "admin"
STAFF_PASSWORD = "demo-admin-pass"
CLIENT_PASSWORD = "demo-client-pass"
ACTOR = Actor.system("load_demo")


@dataclass(frozen=True)
class DemoClient:
    company: str
    first: str
    last: str
    email: str
    country: str
    city: str
    state: str = ""  # Ontario and Quebec: their invoices show HST, and GST + QST (billing.demo's tax rules)


CLIENTS = [
    DemoClient("Acme Widgets Ltd", "Alice", "Archer", "alice@acme.example", "CA", "Toronto", "ON"),
    DemoClient("Globex Corporation", "Bob", "Barker", "bob@globex.example", "US", "Springfield"),
    DemoClient("Initech", "Carol", "Chen", "carol@initech.example", "US", "Austin"),
    DemoClient("Umbrella Dental", "Dave", "Diaz", "dave@umbrella.example", "CA", "Ottawa"),
    DemoClient("", "Erin", "Evans", "erin@evans.example", "GB", "Leeds"),
    DemoClient("Northwind Traders", "Frank", "Fischer", "frank@northwind.example", "CA", "Montreal", "QC"),
]


def load_demo():
    """Create the demo data set unless it is there already, import its month of calls (voip.demo, once), then
    point the demo servers at the simulators run.py started (SmarterMail, PolarisMail, Vodia, LesNet, FusionPBX,
    Stripe for card payments and PayPal)
    and seed them; then, once, the demo's card and bank payments (payments.demo.load_payments), and the storefront's
    promotion (storefront.demo). The seller profile (billing.demo) is filled unless staff saved one. Returns True
    when it loaded the data set."""
    loaded = _load_demo_data()
    billing_demo.load_seller_profile()  # also for a demo loaded before the seller profile existed
    voip_demo.load_calls()
    attached = [name for name, seeded in ((provisioning_demo.SERVER_NAME, provisioning_demo.attach_simulator()),
                                          (polaris_demo.SERVER_NAME, polaris_demo.attach_simulator()))
                if seeded is not None]
    provisioning_demo.record_mailboxes(
        Service.objects.filter(server__name__in=attached, product__type=Product.Type.MAIL, status=Service.Status.ACTIVE)
        .select_related("product", "server").order_by("pk"))
    voip_demo.attach_simulators()
    payments_demo.attach_simulator()
    payments_demo.attach_paypal_simulator()
    # once, with the data set: saved cards, automatic charges (through the simulator when attached), a statement
    payments_demo.load_payments(staff_username=STAFF_USERNAME)
    storefront_demo.load_promotion()
    return loaded


def _load_demo_data():
    if Client.objects.filter(email=CLIENTS[0].email).exists():
        return False
    with transaction.atomic():
        _staff()
        AutomationSettings.load_for_edit()
        billing_demo.load_tax_rules()
        products = _catalogue()
        today = timezone.localdate()
        clients = {
            c.first.lower(): client_create(
                actor=ACTOR,
                password=CLIENT_PASSWORD,
                company_name=c.company,
                first_name=c.first,
                last_name=c.last,
                email=c.email,
                country=c.country,
                city=c.city,
                state=c.state,
                address1="1 Demo Street",
                postcode="A1A 1A1" if c.country == "CA" else "10001",
                currency="USD",
            )
            for c in CLIENTS
        }
        S = Service.Status
        # (client, product, domain, status, next due offset in days, suspend reason)
        plan = [
            ("alice", "mail_pro", "acme.example", S.ACTIVE, 12, ""),
            ("alice", "mail_basic", "acme-widgets.example", S.ACTIVE, 40, ""),
            ("alice", "voip_metered", "acme.example", S.ACTIVE, 20, ""),
            # PolarisMail: the Distribution Lists and Branding pages (provisioning.demo_polarismail seeds them).
            ("alice", "mail_team", polaris_demo.DEMO_DOMAIN, S.ACTIVE, 30, ""),
            ("bob", "mail_pro", "globex.example", S.ACTIVE, -3, ""),
            ("bob", "sip_trunk", "globex-trunk.example", S.ACTIVE, 18, ""),
            ("carol", "mail_basic", "initech.example", S.SUSPENDED, -9, Service.SuspendReason.OVERDUE),
            ("dave", "mail_basic", "umbrella-dental.example", S.TERMINATED, -45, ""),
            ("erin", "mail_basic", "evans.example", S.PENDING, 0, ""),
            ("frank", "voip_metered", "northwind.example", S.ACTIVE, 23, ""),
            # Frank's credit runs out during the demo month of calls: the autosuspend sweep suspends both (voip.demo).
            ("frank", "voip_business", "northwind-sales.example", S.ACTIVE, 26, ""),
            # Hosted PBX (FusionPBX): extensions of one shared FusionPBX domain. Carol's calls use up her credit
            # until her unpaid invoice exceeds it: the sweep suspends her extensions (voip.demo).
            ("bob", "hosted_pbx", "globex-pbx.example", S.ACTIVE, 25, ""),
            ("carol", "hosted_pbx", "initech-pbx.example", S.ACTIVE, 25, ""),
        ]
        mail_server, _ = provisioning_demo.mail_server_group()
        for who, product_key, domain, status, due_in, reason in plan:
            product, price = products[product_key]
            client = clients[who]
            due = today + timedelta(days=due_in)
            is_mail = product.type == Product.Type.MAIL
            service = Service.objects.create(
                client=client,
                product=product,
                domain=domain,
                status=status,
                billing_cycle=BillingCycle.MONTHLY,
                currency=client.currency,
                first_payment_amount=price,
                recurring_amount=price,
                registration_date=due - timedelta(days=365 if status != S.PENDING else 0),
                next_due_date=due,
                suspend_reason=reason,
                suspended_at=timezone.now() - timedelta(days=2) if status == S.SUSPENDED else None,
                terminated_at=timezone.now() - timedelta(days=15) if status == S.TERMINATED else None,
                username=f"admin@{domain}",
                server=mail_server if is_mail and status != S.PENDING else None,
                password=provisioning_demo.MAILBOX_PASSWORD if is_mail else "",
                disk_usage_mb=demo_disk_mb(domain) if is_mail and status == S.ACTIVE else None,
                usage_updated_at=timezone.now() if is_mail and status == S.ACTIVE else None,
            )
            if not is_mail:
                voip_demo.wire_service(service)
            elif product.module == polaris_demo.MODULE:
                polaris_demo.wire_service(service)
            _invoices_for(service, due, today)
        provisioning_demo.usage_history(Service.objects.filter(product__type=Product.Type.MAIL, status=S.ACTIVE))
        _credit(clients)
        voip_demo.sources()
        voip_demo.client_settings()
        clients["dave"].status = Client.Status.INACTIVE
        clients["dave"].save(update_fields=["status"])
    return True


# Each live mail service's own disk usage (MB): what the usage cron would have read, the end of its history.
DEMO_DISK_MB = {"acme.example": "812.40", "acme-widgets.example": "236.75", "globex.example": "1534.10"}


def demo_disk_mb(domain):
    """The demo's disk usage of `domain`: its own figure, or one derived from the domain's name for a mail
    service added to the demo later, so that services do not all show one figure."""
    return Decimal(DEMO_DISK_MB.get(domain) or 100 + zlib.crc32(domain.encode()) % 900)


# Credit balances that are real: each is a ledger entry (the balance is the sum of the client's entries).
DEMO_CREDIT = {"alice": "12.50", "frank": "25.00", "carol": "3.20"}


def _credit(clients):
    opening = timezone.now() - timedelta(days=voip_demo.HISTORY_DAYS + 1)  # before the demo month of calls
    for who, amount in DEMO_CREDIT.items():
        entry, _ = ledger_post(
            client=clients[who], kind=CreditLedgerEntry.Kind.TOPUP, amount=Decimal(amount), actor=ACTOR,
            description="Funds added (demo)", idempotency_key=f"demo:{clients[who].email}:credit",
        )
        CreditLedgerEntry.objects.filter(pk=entry.pk).update(created_at=opening)


def _staff():
    User = get_user_model()
    if not User.objects.filter(username=STAFF_USERNAME).exists():
        User.objects.create_superuser(STAFF_USERNAME, "admin@localhost", STAFF_PASSWORD, first_name="Demo", last_name="Staff")


def _catalogue():
    mail = ProductGroup.objects.create(name="Email Hosting", sort_order=1)
    voip = ProductGroup.objects.create(name="VoIP", sort_order=2)
    _, mail_servers = provisioning_demo.mail_server_group()
    smartermail = {"module": "smartermail", "server_group": mail_servers}
    spec = {
        "mail_basic": (mail, "Mail Basic", Product.Type.MAIL, "4.00",
                       {**smartermail, "module_options": provisioning_demo.product_options("basic")}),
        "mail_pro": (mail, "Mail Business", Product.Type.MAIL, "12.00",
                     {**smartermail, "module_options": provisioning_demo.product_options("business")}),
        "mail_team": (mail, "Mail Team", Product.Type.MAIL, "6.00", polaris_demo.product_provisioning()),
        **voip_demo.product_spec(voip),
    }
    products = {}
    for key, (group, name, kind, monthly, provisioning) in spec.items():
        product = Product.objects.create(group=group, name=name, type=kind, description=f"{name} plan", **provisioning)
        monthly = Decimal(monthly)
        ProductPrice.objects.bulk_create(
            [
                ProductPrice(product=product, cycle=BillingCycle.MONTHLY, price=monthly),
                ProductPrice(product=product, cycle=BillingCycle.ANNUALLY, price=monthly * 10),
            ]
        )
        products[key] = (product, monthly)
    _mailbox_options(products["mail_pro"][0])
    polaris_demo.mailbox_plan(products["mail_team"][0])
    voip_demo.rate_products(products)
    return products


def _mailbox_options(product):
    """Seed 003: extra mailboxes, each Basic or Enhanced."""
    mailboxes = ConfigurableOption.objects.create(
        product=product, code="mailboxes", name="Mailboxes", kind=ConfigurableOption.Kind.QUANTITY,
        min_quantity=1, max_quantity=500, included_quantity=5,
    )
    unit = ConfigurableOptionChoice.objects.create(option=mailboxes, code="mailbox", label="Mailbox")
    ConfigurableOptionPrice.objects.create(choice=unit, cycle=BillingCycle.MONTHLY, price=Decimal("1.50"))
    kind = ConfigurableOption.objects.create(
        product=product, code="mailbox_type", name="Mailbox type", kind=ConfigurableOption.Kind.SELECT, sort_order=1
    )
    for order, (code, label, price) in enumerate([("basic", "Basic", "0.00"), ("enhanced", "Enhanced", "2.00")]):
        choice = ConfigurableOptionChoice.objects.create(option=kind, code=code, label=label, sort_order=order)
        ConfigurableOptionPrice.objects.create(choice=choice, cycle=BillingCycle.MONTHLY, price=Decimal(price))


def _invoices_for(service, due, today):
    """The history the invoice generator would have left: the period before the next due date invoiced and
    paid; the period from the next due date invoiced (unpaid, so overdue once past due) when it is inside the
    invoicing window. Moves the service's next invoice date ("billed up to") past what is invoiced."""
    S = Service.Status
    cycle = service.billing_cycle
    if service.status == S.PENDING:
        _invoice(service, start=today, issued=today, due=today, paid=False)  # the order's first invoice
        billed_up_to = add_cycle(today, cycle)
    else:
        previous = add_cycle(due, cycle, -1)
        _invoice(service, start=previous, issued=previous - timedelta(days=14), due=previous, paid=True)
        billed_up_to = due
        window = AutomationSettings.load().invoice_days_before_due
        if service.status != S.TERMINATED and due <= today + timedelta(days=window):
            _invoice(service, start=due, issued=due - timedelta(days=window), due=due, paid=False)
            billed_up_to = add_cycle(due, cycle)
    Service.objects.filter(pk=service.pk).update(next_invoice_date=billed_up_to)


def _invoice(service, *, start, issued, due, paid):
    # Paid two days after issue, never in the future.
    paid_at = min(timezone.now(), timezone.now() - timedelta(days=(timezone.localdate() - issued).days - 2))
    # Taxed as the invoice generator taxes (billing.tax): the rules of the client's address.
    (decision, taxed), = tax_for_clients([(service.client, [(service.recurring_amount, True)])])
    invoice = Invoice.objects.create(
        client=service.client,
        number=allocate_invoice_number(on_date=issued),
        status=Invoice.Status.PAID if paid else Invoice.Status.UNPAID,
        currency=service.currency,
        date=issued,
        due_date=due,
        amount_paid=taxed.gross if paid else Decimal("0.00"),
        paid_at=paid_at if paid else None,
        **invoice_tax_fields(decision, taxed),
    )
    InvoiceTaxLine.objects.bulk_create(tax_line_rows(invoice.pk, taxed))
    end = period_end(start, service.billing_cycle)
    InvoiceItem.objects.create(
        invoice=invoice,
        service=service,
        kind=InvoiceItem.Kind.SERVICE,
        description=f"{service.product.name} – {service.domain} ({start} – {end})",
        amount=service.recurring_amount,
        period_start=start,
        period_end=end,
        period_key=period_key(service.pk, start),
    )
    if paid:
        Payment.objects.create(
            invoice=invoice,
            client=service.client,
            amount=invoice.total,
            currency=service.currency,
            gateway="bank_transfer",
            transaction_id=f"DEMO-{invoice.number}",
            received_at=paid_at,
        )
