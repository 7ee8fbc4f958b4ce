"""Reads for the mail client area, always scoped to the signed-in client: a service id of another client, a
service that is not e-mail hosting, or a mailbox of another domain answers 404."""
from dataclasses import dataclass
from functools import cached_property

from django.core.exceptions import ImproperlyConfigured
from django.db.models import Count
from django.http import Http404

from billing.models import Product, Service
from billing.selectors import client_services
from provisioning import lifecycle
from provisioning.mail import plan
from provisioning.mail.models import MailboxRecord
from provisioning.modules.base import ModuleError, SsoTarget
from provisioning.modules.mailboxes import MAILBOX_CONTROL_PANEL, MailboxManagement
from provisioning.registry import get_module

S = Service.Status


@dataclass
class MailContext:
    """A client's mail service with its module: what every mail page starts from."""

    service: Service
    module: MailboxManagement

    @cached_property
    def ref(self):
        return lifecycle.service_ref(self.service)

    @cached_property
    def options(self):
        """The product's module options resolved (defaults filled in); {} when they are broken (staff's to fix)."""
        try:
            return self.module.product_options(self.ref)
        except ModuleError:
            return {}

    @cached_property
    def allowance(self):
        return plan.mailbox_allowance(self.service, self.options)

    @cached_property
    def quota_limit_mb(self):
        """The largest quota one mailbox may have: the plan's disk in MB, or None (no bound)."""
        return plan.plan_disk_mb(self.options)

    @cached_property
    def password_rules(self):
        return plan.PasswordRules.of(self.options)

    @property
    def domain(self):
        return self.service.domain.lower()

    @property
    def live(self):
        return self.service.status in lifecycle.LIVE

    @property
    def writable(self):
        """Changes are allowed on an active service only (a suspended domain is off on the provider)."""
        return self.service.status == S.ACTIVE

    @cached_property
    def features(self):
        module = self.module
        options = self.options
        return {
            "aliases": module.supports_aliases,
            "forwarding": module.supports_forwards,
            "lists": module.supports_distribution_lists,
            "dkim": module.supports_dkim,
            "branding": module.supports_branding,
            "domain_aliases": module.supports_domain_aliases and bool(options.get("domain_aliases_allowed", True)),
            "webmail": SsoTarget.WEBMAIL in module.mailbox_sso_targets,
            "control_panel": MAILBOX_CONTROL_PANEL in module.mailbox_sso_targets,
            "mailbox_enable": module.supports_mailbox_enable,
            "forward_without_copy": module.supports_forward_without_copy,
            "manage_type": self.allowance.changeable,
            "upgrade": self.service.status == S.ACTIVE and not self.service.cancellation_type
            and self.service.billing_cycle != "onetime",
            "cancel": self.live and not self.service.cancellation_type,
        }


def is_mail_module(module):
    return isinstance(module, MailboxManagement) and getattr(module, "supports_mailboxes", False)


def mail_context(client, service_id):
    """The client's e-mail hosting service `service_id` with its module, or 404."""
    try:
        service = client_services(client).select_related("server", "client").get(pk=service_id)
    except Service.DoesNotExist:
        raise Http404("No such service.") from None
    module = get_module(service.product.module) if service.product.module else None
    if service.product.type != Product.Type.MAIL or not is_mail_module(module):
        raise Http404("This service has no e-mail management.")
    return MailContext(service=service, module=module)


def plan_usage(service):
    """[(label, code, used, limit)] of a mail service's plan (as Accounts shows them, "used" from the mailboxes
    last listed by the provider), or [] for a service without mail pages. For billing's upgrade page."""
    if not has_mail_pages(service):
        return []
    ctx = MailContext(service=service, module=get_module(service.product.module))
    return ctx.allowance.usage(type_counts(service))


def has_mail_pages(service):
    """Whether a service's page links to the mail pages (no query: the product is already loaded)."""
    if service.product.type != Product.Type.MAIL or not service.product.module:
        return False
    try:
        return is_mail_module(get_module(service.product.module))
    except ImproperlyConfigured:  # a module no longer installed: the service page shows what it can
        return False


def mailbox_records(service):
    return MailboxRecord.objects.filter(service=service).order_by("address")


def mailbox_record(ctx, local_part):
    """The record of `local_part`@the service's domain, or 404."""
    try:
        return mailbox_records(ctx.service).get(address=f"{local_part.lower()}@{ctx.domain}")
    except MailboxRecord.DoesNotExist:
        raise Http404("No such mailbox.") from None


def type_counts(service, *, exclude=None):
    """{mailbox type: how many} of the service's recorded mailboxes."""
    rows = MailboxRecord.objects.filter(service=service)
    if exclude is not None:
        rows = rows.exclude(pk=exclude.pk)
    return dict(rows.values_list("mailbox_type").annotate(n=Count("id")).order_by())
