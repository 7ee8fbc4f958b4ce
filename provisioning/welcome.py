"""The welcome e-mail's details of a newly created service (billing.hooks.welcome_details): where the client
signs in, and for a mail service the DNS records to publish, read from the product's module options the same
way as the mail client area's DNS page (provisioning.mail.plan)."""
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.urls import reverse

from billing.models import Service
from provisioning import lifecycle, registry
from provisioning.mail import plan
from provisioning.modules.base import ModuleError


def _records_text(records):
    lines = []
    for r in records:
        priority = f" {r.priority}" if r.priority is not None and r.type == "MX" else ""
        lines.append(f"{r.type:<5} {r.host}{priority} {r.value}")
    return "\n".join(lines)


def welcome_details(*, service):
    """{merge field: text}: `service_login_urls` and `service_dns_records` (blank when the module has no DNS)."""
    service = Service.objects.select_related("product", "server").get(pk=service.pk)  # as Create left it (server)
    base = settings.PORTAL_BASE_URL.rstrip("/")
    logins = [f"Client area: {base}{reverse('clientarea:service', args=[service.pk])}"]
    records = ""
    try:
        module = registry.get_module(service.product.module)
        options = module.product_options(lifecycle.service_ref(service)) if module else {}
    except (ModuleError, ImproperlyConfigured):  # a broken product still gets its welcome, without the DNS part
        module, options = None, {}
    if module is not None and getattr(module, "supports_mailboxes", False):
        webmail = plan.webmail_url(service, options)
        if webmail:
            logins.append(f"Webmail: {webmail}")
        records = _records_text(plan.dns_guide(service, options))
    return {"service_login_urls": "\n".join(logins), "service_dns_records": records or "(none needed)"}
