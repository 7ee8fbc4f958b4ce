"""The demo's PolarisMail service (seed 003): alice's "Mail Team" domain on the PolarisMail simulator that
`python3 run.py` starts, with mailboxes of both types, an alias, a distribution list with members and webmail
branding, so that the client area's Distribution Lists and Branding pages (Branding only the PolarisMail module
offers) show real data in the demo.

Like the SmarterMail simulator (provisioning.demo), the PolarisMail simulator keeps its state in memory, so every
start of the demo seeds it: each live service on the demo's PolarisMail server becomes a domain there (active as
the service's status says), and the demo domain gets its mailboxes, alias, list and branding back. Mailboxes and
lists live on the provider, not in the portal, so what the demo domain holds is written down here (DEMO_DOMAIN);
its mailboxes' disk use adds up to the service's disk figure. run.py passes the simulator's address in
DEMO_POLARISMAIL_URL; without it (tests, no simulator) nothing is seeded.
"""
import logging
import os
from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal
from urllib.parse import urlsplit

import requests

from billing.models import (
    BillingCycle,
    ConfigurableOption,
    ConfigurableOptionChoice,
    ConfigurableOptionPrice,
    Service,
    ServiceConfigOption,
)
from provisioning import lifecycle
from provisioning.models import Server, ServerGroup
from provisioning.modules.polarismail.options import PRODUCT_OPTIONS
from provisioning.modules.polarismail.simulator import PolarisMailSimulator

logger = logging.getLogger(__name__)

MODULE = "polarismail"
SERVER_NAME = "Demo PolarisMail (simulator)"
GROUP_NAME = "Demo PolarisMail servers"
DEFAULT_PORT = 9997  # run.py replaces it with the simulator's
URL_VARIABLE = "DEMO_POLARISMAIL_URL"
MAILBOX_PASSWORD = "Demo-Mail-Pass-1"  # every demo mailbox's (the login mailbox's is the service's password)

PRODUCT_OPTIONS_DEMO = {"default_account_type": "basic", "default_quota_gb": "5.00", "password_min_length": 10,
                        "protocols": ["imap", "pop", "smtp", "webmail"]}
# The plan's mailboxes by type (seed 003): included in the price, extra ones at the monthly price.
MAILBOX_PLAN = {"basic": ("Basic mailboxes", 3, "1.50"), "enhanced": ("Enhanced mailboxes", 1, "4.00")}


@dataclass(frozen=True)
class DemoMailbox:
    """A mailbox of the demo domain; `share` is its part of the domain's disk use."""

    local: str
    name: str
    account_type: str
    quota_gb: int
    share: Decimal


DEMO_DOMAIN = "acme-team.example"
DEMO_MAILBOXES = (
    DemoMailbox("alice", "Alice Archer", "enhanced", 10, Decimal("0.55")),
    DemoMailbox("sales", "Sales desk", "basic", 5, Decimal("0.30")),
    DemoMailbox("support", "Support", "basic", 5, Decimal("0.15")),
)
DEMO_ALIASES = {"info": f"sales@{DEMO_DOMAIN}"}
DEMO_LISTS = {
    "team": [f"alice@{DEMO_DOMAIN}", f"sales@{DEMO_DOMAIN}", f"support@{DEMO_DOMAIN}", "dana@contractors.example"],
    "announce": [f"alice@{DEMO_DOMAIN}", "bob@globex.example"],
}
DEMO_BRANDING = {"brandname": "Acme Team Mail", "supportemail": f"support@{DEMO_DOMAIN}", "brandcolor": "c2410c"}
LOGIN_MAILBOX = f"alice@{DEMO_DOMAIN}"  # the service's login: Change password and staff's SSO act on it


def server_group():
    """The demo's PolarisMail server (the simulator) in its own group, created once."""
    server, _ = Server.objects.get_or_create(
        name=SERVER_NAME,
        defaults={
            "module": MODULE, "hostname": "127.0.0.1", "port": DEFAULT_PORT, "use_tls": False, "verify_tls": False,
            "username": PolarisMailSimulator.DEFAULT_USERNAME, "password": PolarisMailSimulator.DEFAULT_PASSWORD,
            "capacity": 500, "settings": {"read_timeout": 10},
            "notes": "The PolarisMail simulator started by `python3 run.py`.",
        },
    )
    group, _ = ServerGroup.objects.get_or_create(name=GROUP_NAME)
    group.servers.add(server)
    return server, group


def product_provisioning():
    """The Product fields that make a product provision on the demo's PolarisMail server."""
    return {"module": MODULE, "server_group": server_group()[1],
            "module_options": PRODUCT_OPTIONS.clean(PRODUCT_OPTIONS_DEMO)}


def mailbox_plan(product):
    """The product's per-type mailbox options (mailboxes_basic, mailboxes_enhanced), each with its included count
    and the monthly price of one more."""
    for order, (code, (name, included, price)) in enumerate(MAILBOX_PLAN.items()):
        option = ConfigurableOption.objects.create(
            product=product, code=f"mailboxes_{code}", name=name, kind=ConfigurableOption.Kind.QUANTITY,
            min_quantity=0, max_quantity=100, included_quantity=included, sort_order=order,
        )
        unit = ConfigurableOptionChoice.objects.create(option=option, code="mailbox", label="Mailbox")
        ConfigurableOptionPrice.objects.create(choice=unit, cycle=BillingCycle.MONTHLY, price=Decimal(price))


def wire_service(service):
    """The demo service on the PolarisMail server, its login mailbox, and its plan's mailboxes (the included ones,
    so its price is the plan's)."""
    server = server_group()[0] if service.server_id else None
    Service.objects.filter(pk=service.pk).update(server=server, username=LOGIN_MAILBOX)
    for option in ConfigurableOption.objects.filter(product=service.product, code__startswith="mailboxes_"):
        ServiceConfigOption.objects.create(service=service, option=option, choice=option.choices.get(),
                                           quantity=option.included_quantity)


def attach_simulator(url=None):
    """Point the demo's PolarisMail server at the running simulator (DEMO_POLARISMAIL_URL) and seed it from the
    portal. Returns how many domains were seeded, or None when there is no simulator to attach."""
    url = url or os.environ.get(URL_VARIABLE, "")
    server = Server.objects.filter(name=SERVER_NAME).first()
    if not url or server is None:
        return None
    parts = urlsplit(url)
    Server.objects.filter(pk=server.pk).update(hostname=parts.hostname, port=parts.port,
                                               use_tls=parts.scheme == "https")
    domains = [_seed_row(service) for service in Service.objects.filter(server=server, status__in=lifecycle.LIVE)]
    try:
        requests.post(f"{url.rstrip('/')}/_simulator/seed", json={"domains": domains}, timeout=10).raise_for_status()
    except requests.RequestException as exc:
        logger.warning("Could not seed the PolarisMail simulator at %s: %s", url, exc)
        return None
    return len(domains)


def _seed_row(service):
    row = {"name": service.domain.lower(), "active": service.status == Service.Status.ACTIVE, "verified": True}
    if row["name"] != DEMO_DOMAIN:
        return row  # a domain made during the demo: it comes back empty (its mailboxes were in the old memory)
    used = service.disk_usage_mb or Decimal(0)
    login = service.username.partition("@")[0]
    users = [{"username": box.local, "uname": box.name,
              "password": (service.password if box.local == login else "") or MAILBOX_PASSWORD,
              "account_type": 2 if box.account_type == "enhanced" else 1, "quota_gb": box.quota_gb,
              "used_mb": str((used * box.share).quantize(Decimal("0.01"), rounding=ROUND_DOWN))}
             for box in DEMO_MAILBOXES]
    # The last mailbox takes what rounding left, so the mailboxes add up to the service's figure exactly.
    users[-1]["used_mb"] = str(used - sum(Decimal(user["used_mb"]) for user in users[:-1]))
    return {**row, "users": users, "aliases": DEMO_ALIASES, "lists": DEMO_LISTS, "branding": DEMO_BRANDING,
            "dkim": True}
