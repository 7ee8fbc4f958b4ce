"""The demo's mail provisioning: a SmarterMail server that is the simulator `python3 run.py` starts, product
options for the demo's mail products, a month of usage history, and seeding the simulator.

The simulator keeps its state in memory, so every start of the demo seeds it from the portal: each live
SmarterMail service on the demo server becomes a domain there (enabled or disabled as the service's status
says, with its administrator's password and disk usage). The portal is the record of what exists; a JSON
state file could disagree with the database after a reset of either, seeding cannot. run.py passes the
simulator's address in DEMO_SMARTERMAIL_URL; without it (tests, no simulator) nothing is seeded.
"""
import logging
import os
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from decimal import Decimal
from urllib.parse import urlsplit

import requests
from django.utils import timezone

from billing.models import Service
from billing.pricing import granted_option_values
from provisioning import lifecycle
from provisioning.mail.selectors import MailContext, has_mail_pages
from provisioning.mail.services import reconcile_mailboxes
from provisioning.models import Server, ServerGroup, UsageSample
from provisioning.modules.base import ModuleError
from provisioning.modules.smartermail.module import storage_path, user_limit
from provisioning.modules.smartermail.options import PRODUCT_OPTIONS
from provisioning.modules.smartermail.simulator import SmarterMailSimulator
from provisioning.registry import get_module

logger = logging.getLogger(__name__)

SERVER_NAME = "Demo SmarterMail (simulator)"
GROUP_NAME = "Demo mail servers"
DEFAULT_PORT = 9998  # SmarterMail's own web port; run.py replaces it with the simulator's
URL_VARIABLE = "DEMO_SMARTERMAIL_URL"
MAILBOX_PASSWORD = "Demo-Mail-Pass-1"
MB = 1024 * 1024

PLAN_OPTIONS = {
    "basic": {"max_users": 5, "disk_included_gb": 5, "disk_tranche_size_gb": 1, "disk_tranche_price": "0.50",
              "disk_tranche_max": 5,
              "password_min_length": 8, "protocols": ["imap", "pop", "smtp", "webmail"]},
    "business": {"max_users": 50, "outbound_ip": "192.0.2.10", "disk_included_gb": 25, "disk_tranche_size_gb": 5,
                 "disk_tranche_price": "2.00", "disk_tranche_max": 10, "password_min_length": 10,
                 "protocols": ["imap", "pop", "smtp", "webmail", "activesync", "ews"],
                 "dns_mx_hosts": ["mx1.demo-mail.example", "mx2.demo-mail.example"],
                 "dns_spf_include": "spf.demo-mail.example", "dns_dmarc_policy": "quarantine"},
}


def mail_server_group():
    """The demo's SmarterMail server (the simulator) in its own group, created once."""
    server, _ = Server.objects.get_or_create(
        name=SERVER_NAME,
        defaults={
            "module": "smartermail", "hostname": "127.0.0.1", "port": DEFAULT_PORT, "use_tls": False,
            "verify_tls": False, "username": SmarterMailSimulator.DEFAULT_ADMIN_USERNAME,
            "password": SmarterMailSimulator.DEFAULT_ADMIN_PASSWORD, "capacity": 500,
            "settings": {"read_timeout": 10}, "notes": "The SmarterMail simulator started by `python3 run.py`.",
        },
    )
    group, _ = ServerGroup.objects.get_or_create(name=GROUP_NAME)
    group.servers.add(server)
    return server, group


def product_options(plan):
    return PRODUCT_OPTIONS.clean(PLAN_OPTIONS[plan])


def usage_history(services, *, days=30):
    """A month of daily readings rising to each service's current usage, for the demo's charts."""
    today = timezone.localdate()
    samples = []
    for service in services:
        if service.disk_usage_mb is None:
            continue
        for back in range(days, -1, -1):
            share = Decimal(1) - Decimal(back) / Decimal(days * 2)  # from half to all of today's usage
            samples.append(UsageSample(service=service, date=today - timedelta(days=back),
                                       disk_mb=(service.disk_usage_mb * share).quantize(Decimal("0.01"))))
    UsageSample.objects.bulk_create(samples, batch_size=1000, ignore_conflicts=True)


def attach_simulator(url=None):
    """Point the demo server at the running simulator (DEMO_SMARTERMAIL_URL) and seed it from the portal.
    Returns how many domains were seeded, or None when there is no simulator to attach."""
    url = url or os.environ.get(URL_VARIABLE, "")
    server = Server.objects.filter(name=SERVER_NAME).first()
    if not url or server is None:
        return None
    parts = urlsplit(url)
    Server.objects.filter(pk=server.pk).update(hostname=parts.hostname, port=parts.port, use_tls=parts.scheme == "https")
    server.refresh_from_db()
    domains = [_seed_row(service) for service in
               Service.objects.filter(server=server, status__in=lifecycle.LIVE).select_related("product")]
    try:
        requests.post(f"{url.rstrip('/')}/_simulator/seed", json={"domains": domains}, timeout=10).raise_for_status()
    except requests.RequestException as exc:
        logger.warning("Could not seed the SmarterMail simulator at %s: %s", url, exc)
        return None
    return len(domains)


def _seed_row(service):
    options = PRODUCT_OPTIONS.resolve(service.product.module_options)
    return {
        "name": service.domain.lower(),
        "admin_username": (service.username.partition("@")[0] or "admin").lower(),
        "admin_password": service.password or MAILBOX_PASSWORD,
        "path": service.module_data.get("smartermail_path") or storage_path(options["storage_path"], service.domain),
        "is_enabled": service.status == Service.Status.ACTIVE,
        "size": int((service.disk_usage_mb or 0) * MB),
        "admin_bytes_used": int((service.disk_usage_mb or 0) * MB),  # the domain's mail is its administrator's
        "user_limit": user_limit(options, granted_option_values(service)),  # as Create would have set it
        "outgoing_ip": options["outbound_ip"],
    }


def record_mailboxes(services):
    """Record what each mail service's provider lists, as the Accounts page does when it is opened: the demo seeds
    its simulators behind the portal's back, and every page that counts mailboxes in use (the upgrade page, the
    dashboard) reads the portal's records of the provider's last list. The lists are read concurrently; a
    provider that does not answer leaves its service's records as they were (the Accounts page says why)."""
    contexts = [MailContext(service=service, module=get_module(service.product.module)) for service in services
                if has_mail_pages(service)]
    refs = [ctx.ref for ctx in contexts]  # read here: the threads only talk HTTP
    with ThreadPoolExecutor(max_workers=8) as pool:
        lists = list(pool.map(_listed_mailboxes, [ctx.module for ctx in contexts], refs))
    for ctx, mailboxes in zip(contexts, lists):
        if mailboxes is not None:
            reconcile_mailboxes(ctx, mailboxes=mailboxes)


def _listed_mailboxes(module, ref):
    try:
        return module.list_mailboxes(ref)
    except ModuleError as exc:
        logger.warning("The demo could not list the mailboxes of %s: %s", ref.domain, exc.message)
        return None
