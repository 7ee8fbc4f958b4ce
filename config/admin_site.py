from functools import wraps

from django.contrib import admin
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.views import LoginView
from django.shortcuts import redirect
from django.urls import path, reverse
from django.utils.http import urlencode

from billing.selectors import staff_dashboard
from portal import two_factor, views_two_factor
from portal.views import TwoStepLoginMixin


class StaffLoginView(TwoStepLoginMixin, LoginView):
    """The admin's login, with the two-factor code step (portal.two_factor) after the password."""

    verify_url = "admin:two_factor_verify"


class PortalAdminSite(admin.AdminSite):
    site_header = "Portal staff area"
    site_title = "Portal staff area"
    index_title = "Dashboard"
    index_template = "admin/portal_dashboard.html"

    def index(self, request, extra_context=None):
        return super().index(request, {"dashboard": staff_dashboard(), **(extra_context or {})})

    def get_urls(self):
        # Not behind the two-factor gate (admin_view below): these are where the gate sends staff.
        return [
            path("two-factor/", super().admin_view(self.two_factor_view), name="two_factor"),
            path("two-factor/verify/", self.two_factor_verify_view, name="two_factor_verify"),
            *super().get_urls(),
        ]

    def admin_view(self, view, cacheable=False):
        """Every staff page, behind the two-factor gate: a staff member with two-factor whose session has not
        passed it enters a code first; with STAFF_TWO_FACTOR_REQUIRED, one without sets it up first."""
        inner = super().admin_view(view, cacheable)

        @wraps(inner)
        def gated(request, *args, **kwargs):
            if self.has_permission(request) and request.path != reverse("admin:logout", current_app=self.name):
                step = two_factor.staff_gate(request)
                if step == "verify":
                    query = urlencode({"next": request.get_full_path()})
                    return redirect(f"{reverse('admin:two_factor_verify', current_app=self.name)}?{query}")
                if step == "setup":
                    return redirect("admin:two_factor")
            return inner(request, *args, **kwargs)

        return gated

    def two_factor_view(self, request):
        return views_two_factor.manage(request, "staff", context=self.each_context(request))

    def two_factor_verify_view(self, request):
        return views_two_factor.verify(request, "staff", context=self.each_context(request))

    def login(self, request, extra_context=None):
        """AdminSite.login with StaffLoginView (Django's builds its LoginView inside the method)."""
        redirect_url = LoginView().get_redirect_url(request) or reverse("admin:index", current_app=self.name)
        if request.method == "GET" and self.has_permission(request):
            return redirect(redirect_url)
        context = {**self.each_context(request), "title": "Log in", "subtitle": None,
                   "app_path": request.get_full_path(), "username": request.user.get_username(),
                   "next": redirect_url, **(extra_context or {})}
        request.current_app = self.name
        return StaffLoginView.as_view(extra_context=context, authentication_form=self.login_form or AdminAuthenticationForm,
                                      template_name=self.login_template or "admin/login.html")(request)

