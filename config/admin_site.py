from django.contrib import admin

from billing.selectors import staff_dashboard


class PortalAdminSite(admin.AdminSite):
    site_header = "Portal staff area"
    site_title = "Portal staff area"
    index_title = "Dashboard"
    index_template = "admin/portal_dashboard.html"

    def index(self, request, extra_context=None):
        return super().index(request, {"dashboard": staff_dashboard(), **(extra_context or {})})
