from django.apps import AppConfig
from django.contrib.admin.apps import AdminConfig


class PortalConfig(AppConfig):
    name = "portal"
    verbose_name = "Clients and audit"

    def ready(self):
        from portal import signals  # noqa: F401  (login bookkeeping)


class PortalAdminConfig(AdminConfig):
    """The staff area: Django's admin with the portal's dashboard as its index page."""

    default_site = "config.admin_site.PortalAdminSite"
