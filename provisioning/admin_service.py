"""The staff Service pages. The Service model lives in billing; its staff page is registered here because the
lifecycle (module calls, buttons, SSO) belongs to provisioning: ServiceAdmin mixes in ServiceLifecycleAdminMixin.

The change page gets a provisioning panel (templates/admin/billing/service/change_form.html): buttons for
Create, Suspend (with a reason), Unsuspend, Change package (after staff changed the product or options),
Terminate (typed confirmation), Change password, and "Log in to control panel" (the provider's one-minute auto-login URL, opened in a new tab); the usage chart; the latest
provider calls. Every button posts to a view here that calls the lifecycle function (which audits) and says
what happened, and when a provider failed, what to do next.
"""
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseNotAllowed, HttpResponseRedirect
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from billing import admin_money
from billing.models import Product, Service, ServiceConfigOption
from portal import two_factor
from portal.activity import Actor
from portal.admin_paging import LargeTableAdmin
from provisioning import lifecycle, services
from provisioning.admin_voip import VoipServiceAdminMixin
from provisioning.charts import usage_chart_svg
from provisioning.forms import ChangePasswordForm, SuspendForm, TerminateForm
from provisioning.models import ModuleCall
from provisioning.modules.base import ModuleError
from provisioning.registry import get_module
from provisioning.usage import usage_history

S = Service.Status
TERMINATE_PERMISSION = "provisioning.terminate_service"
SSO_PERMISSION = "provisioning.control_panel_login"
CHANGE_PACKAGE_PERMISSION = "provisioning.change_package_service"


def run_transition(modeladmin, request, services_, transition, verb, **kwargs):
    """Apply one lifecycle function to each service, reporting successes and each failure by name."""
    actor = Actor.from_request(request)
    done = 0
    for service in services_:
        try:
            transition(service=service, actor=actor, **kwargs)
            done += 1
        except lifecycle.InvalidTransition as exc:
            modeladmin.message_user(request, str(exc), messages.ERROR)
        except ModuleError as exc:
            modeladmin.message_user(request, module_error_message(service, exc), messages.ERROR)
    if done:
        modeladmin.message_user(request, f"{verb} {done} service(s).", messages.SUCCESS)
    return done



def module_error_message(service, error):
    """The provider's error, and what staff should do about it."""
    if error.permanent:
        advice = ("This needs a person: fix the cause named above, then try again (the failed call waits in "
                  "Provisioning › Retry queue).")
    else:
        advice = ("This looks temporary (the provider did not answer properly); nothing changed in the portal. "
                  "Try again in a few minutes, or retry it from Provisioning › Retry queue.")
    return f"{service.domain}: {error.message} {advice}"



# The terminate page in plain words, by product type: (what stops at once, what the "delete the data" choice is
# about). The choice's default is the product's "delete data on termination" setting; no option numbers shown.
TERMINATE_WORDS = {
    Product.Type.MAIL: ("its mailboxes stop working at once", "the mailboxes' mail and files"),
    Product.Type.VOIP: ("its phones and numbers stop working at once", "the PBX tenant's data (extensions, voicemail "
                                                                        "and recordings)"),
    None: ("the service stops at once", "the service's data"),
}

class ServiceLifecycleAdminMixin(VoipServiceAdminMixin):
    actions = ["accept_create", "suspend_manually", "unsuspend"]
    change_form_template = "admin/billing/service/change_form.html"

    @admin.action(description="Accept and create (run the module's Create)", permissions=["change"])
    def accept_create(self, request, queryset):
        run_transition(self, request, queryset.select_related("product"), lifecycle.service_create, "Created")

    @admin.action(description="Suspend (by staff)", permissions=["change"])
    def suspend_manually(self, request, queryset):
        reason = Service.SuspendReason.MANUAL
        run_transition(self, request, queryset, lifecycle.service_suspend, "Suspended", reason=reason)

    @admin.action(description="Unsuspend", permissions=["change"])
    def unsuspend(self, request, queryset):
        run_transition(self, request, queryset, lifecycle.service_unsuspend, "Unsuspended")

    def save_related(self, request, form, formsets, change):
        """After staff edited a live service's product or configurable options: the provider still has the old
        limits until Change package runs (not automatic: staff may be correcting a record, not changing it)."""
        super().save_related(request, form, formsets, change)
        service = form.instance
        options_changed = any(fs.model is ServiceConfigOption and fs.has_changed() for fs in formsets)
        if (change and service.status in lifecycle.LIVE and service.product.module
                and ("product" in form.changed_data or options_changed)):
            self.message_user(request, f"The product or options of {service.domain} changed in the portal only: use "
                                       "Change package to apply them on the provider.", messages.WARNING)

    # --- the change page ---------------------------------------------------------------------------------

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path("<path:object_id>/lifecycle/<str:action>/", wrap(self.lifecycle_view), name="billing_service_lifecycle"),
            path("<path:object_id>/control-panel/", wrap(self.control_panel_view), name="billing_service_sso"),
            *super().get_urls(),
        ]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        service = self.get_object(request, object_id)
        extra = {}
        if service is not None:
            extra["provisioning"] = self._panel(request, service)
        return super().change_view(request, object_id, form_url, {**extra, **(extra_context or {})})

    def _panel(self, request, service):
        module = get_module(service.product.module) if service.product.module else None
        can_change = self.has_change_permission(request, service)
        live = service.status in lifecycle.LIVE
        return {
            "module": module,
            "can_create": can_change and service.status == S.PENDING,
            "can_suspend": can_change and service.status == S.ACTIVE,
            "can_unsuspend": can_change and service.status == S.SUSPENDED,
            "can_terminate": can_change and live and request.user.has_perm(TERMINATE_PERMISSION),
            "can_change_password": can_change and live,
            "can_change_package": can_change and live and request.user.has_perm(CHANGE_PACKAGE_PERMISSION),
            "can_sso": live and bool(module and module.supports_sso) and request.user.has_perm(SSO_PERMISSION),
            "chart": usage_chart_svg(usage_history(service)) if service.product.type == Product.Type.MAIL else "",
            "recent_calls": list(ModuleCall.objects.filter(service=service).select_related("server")[:5]),
            "awaiting_retry": ModuleCall.objects.filter(service=service, awaiting_retry=True).count(),
            "retry_queue_url": reverse("admin:provisioning_retryqueueentry_changelist") + f"?service__id__exact={service.pk}",
            "calls_url": reverse("admin:provisioning_modulecall_changelist") + f"?service__id__exact={service.pk}",
        }

    def lifecycle_view(self, request, object_id, action):
        service = self._service_or_404(request, object_id)
        back = reverse("admin:billing_service_change", args=[service.pk])
        handlers = {
            "create": self._do_create,
            "suspend": self._do_suspend,
            "unsuspend": self._do_unsuspend,
            "terminate": self._do_terminate,
            "change-password": self._do_change_password,
            "change-package": self._do_change_package,
        }
        if action not in handlers:
            raise Http404(f"No lifecycle action {action!r}.")
        if request.method != "POST" and action not in ("terminate", "change-password"):  # those two confirm first
            return HttpResponseNotAllowed(["POST"])
        return handlers[action](request, service, back)

    def control_panel_view(self, request, object_id):
        """POST only (it creates a login on the provider and is audited): redirect to its auto-login URL. Needs
        the permission and a staff session that passed two-factor sign-in."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        service = self._service_or_404(request, object_id, permission=None)
        if not request.user.has_perm(SSO_PERMISSION):
            raise PermissionDenied
        refusal = two_factor.refusal_without_two_factor(request, what="Control panel login", target=service)
        if refusal:
            self.message_user(request, refusal, messages.ERROR)
            return redirect("admin:billing_service_change", service.pk)
        try:
            url = services.service_sso_url(service=service, actor=Actor.from_request(request))
        except lifecycle.InvalidTransition as exc:
            self.message_user(request, str(exc), messages.ERROR)
            return redirect("admin:billing_service_change", service.pk)
        except ModuleError as exc:
            self.message_user(request, f"Could not log in to the control panel. {module_error_message(service, exc)}",
                              messages.ERROR)
            return redirect("admin:billing_service_change", service.pk)
        response = HttpResponseRedirect(url)  # admin_view already marks it never_cache
        response["Referrer-Policy"] = "no-referrer"
        return response

    # --- the actions -------------------------------------------------------------------------------------

    def _do_create(self, request, service, back):
        self._run(request, service, lifecycle.service_create, f"Created {service.domain}.")
        return redirect(back)

    def _do_suspend(self, request, service, back):
        form = SuspendForm(request.POST)
        if not form.is_valid():
            self.message_user(request, "Give a reason to suspend the service.", messages.ERROR)
            return redirect(back)
        self._run(request, service, lifecycle.service_suspend, f"Suspended {service.domain}.",
                  reason=Service.SuspendReason.MANUAL, reason_text=form.cleaned_data["reason_text"])
        return redirect(back)

    def _do_unsuspend(self, request, service, back):
        self._run(request, service, lifecycle.service_unsuspend, f"Unsuspended {service.domain}.")
        return redirect(back)

    def _do_change_package(self, request, service, back):
        if not request.user.has_perm(CHANGE_PACKAGE_PERMISSION):
            raise PermissionDenied
        self._run(request, service, lifecycle.service_change_package,
                  f"Package of {service.domain} applied on the provider ({service.product}).")
        return redirect(back)

    def _do_terminate(self, request, service, back):
        if not request.user.has_perm(TERMINATE_PERMISSION):
            raise PermissionDenied
        product_default = lifecycle.product_deletes_data(service.product.module_options)
        form = TerminateForm(request.POST or None, domain=service.domain, initial={"delete_data": product_default})
        if request.method == "POST" and form.is_valid():
            if self._run(request, service, lifecycle.service_terminate, f"Terminated {service.domain}.",
                         delete_data=form.cleaned_data["delete_data"]):
                return redirect(back)
        stops, data = TERMINATE_WORDS.get(service.product.type, TERMINATE_WORDS[None])
        return self._confirmation(request, service, form, "terminate", {
            "product_deletes_data": product_default,
            "what_stops": stops,
            "data_words": data,
            "submit_label": "Terminate",
        })

    def _do_change_password(self, request, service, back):
        form = ChangePasswordForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                lifecycle.service_change_password(service=service, actor=Actor.from_request(request),
                                                  new_password=form.cleaned_data["new_password"])
            except lifecycle.InvalidTransition as exc:
                self.message_user(request, str(exc), messages.ERROR)
                return redirect(back)
            except ModuleError as exc:
                form.add_error(None, module_error_message(service, exc))
            else:
                self.message_user(request, f"Password of {service.username or service.domain} changed.",
                                  messages.SUCCESS)
                return redirect(back)
        return self._confirmation(request, service, form, "change-password", {"submit_label": "Change password"})

    def _run(self, request, service, transition, success, **kwargs):
        """One lifecycle call with its message; True when it succeeded."""
        if not self.has_change_permission(request, service):
            raise PermissionDenied
        try:
            transition(service=service, actor=Actor.from_request(request), **kwargs)
        except lifecycle.InvalidTransition as exc:
            self.message_user(request, str(exc), messages.ERROR)
            return False
        except ModuleError as exc:
            self.message_user(request, module_error_message(service, exc), messages.ERROR)
            return False
        self.message_user(request, success, messages.SUCCESS)
        return True

    def _confirmation(self, request, service, form, action, extra):
        titles = {"terminate": f"Terminate {service.domain}", "change-password": f"Change the password of {service.domain}"}
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": titles[action],
            "service": service,
            "form": form,
            "action": action,
            "change_url": reverse("admin:billing_service_change", args=[service.pk]),
            **extra,
        }
        return TemplateResponse(request, "admin/provisioning/service_action.html", context)

    def _service_or_404(self, request, object_id, permission="change"):
        service = self.get_object(request, object_id)
        if service is None:
            raise Http404("No such service.")
        if permission == "change" and not self.has_change_permission(request, service):
            raise PermissionDenied
        return service


class ServiceConfigOptionInline(admin.TabularInline):
    model = ServiceConfigOption
    extra = 0
    raw_id_fields = ["option", "choice"]


@admin.register(Service)
class ServiceAdmin(LargeTableAdmin, ServiceLifecycleAdminMixin, admin.ModelAdmin):
    list_display = ["id", "domain", "client_link", "product", "status", "billing_cycle", "recurring_amount", "next_due_date"]
    list_display_links = ["id", "domain"]
    list_filter = ["status", "product__type", "billing_cycle", "suspend_reason", "product", "server"]
    search_fields = ["domain", "username"]
    number_search_fields = ["id", "client_id"]
    client_search_fields = ["company_name", "last_name", "email"]
    list_prefetch_related = ["client", "product"]
    raw_id_fields = ["client"]
    inlines = [ServiceConfigOptionInline]
    # Status and password change only through the lifecycle functions (actions below), never by editing.
    # module_data is the modules' record (what a suspension switched off, provider ids): staff edit VoIP
    # identifiers through their own fields, never the raw JSON, so a stale page cannot overwrite that record.
    readonly_fields = [
        "module_data",
        "status", "suspend_reason", "suspend_reason_text", "suspend_mode", "suspended_at", "terminated_at",
        "password_set", "disk_usage_mb", "usage_updated_at", "created_at", "updated_at",
    ]
    exclude = ["password"]
    change_list_template = "billing/admin/service_change_list.html"

    def get_urls(self):
        view = self.admin_site.admin_view(lambda request: admin_money.staff_order_view(self, request))
        return [path("add-order/", view, name="billing_service_add_order"), *super().get_urls()]

    @admin.display(description="Client", ordering="client__last_name")
    def client_link(self, obj):
        return format_html('<a href="{}">{}</a>', reverse("admin:portal_client_change", args=[obj.client_id]), obj.client)

    @admin.display(description="Password", boolean=True)
    def password_set(self, obj):
        return bool(obj.password)
