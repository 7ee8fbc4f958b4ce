from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q
from django.http import HttpResponseNotAllowed
from django.shortcuts import redirect
from django.urls import path, reverse
from django.utils.html import format_html

from portal.activity import Actor
from portal.admin_forms import SecretFieldsForm
from provisioning import admin_products, admin_service, lifecycle, services  # noqa: F401 - they register the Product and Service pages
from provisioning.forms import ServerSettingsFormMixin
from provisioning.models import ModuleCall, RetryQueueEntry, Server, ServerGroup
from provisioning.modules.base import ModuleError
from provisioning.registry import module_choices

TEST_PERMISSION = "provisioning.test_server_connection"
RETRY_PERMISSION = "provisioning.retry_modulecall"


class ServerForm(ServerSettingsFormMixin, SecretFieldsForm):
    secret_fields = ("password", "api_token")
    module = forms.ChoiceField(choices=lambda: module_choices()[1:])

    class Meta:
        model = Server
        fields = "__all__"


@admin.register(Server)
class ServerAdmin(admin.ModelAdmin):
    form = ServerForm
    list_display = ["name", "module", "hostname", "enabled", "capacity", "live_services", "usage_status"]
    list_filter = ["module", "enabled"]
    search_fields = ["name", "hostname"]
    readonly_fields = ["usage_updated_at", "usage_error"]
    actions = ["test_connection"]
    change_form_template = "admin/provisioning/server/change_form.html"

    def get_queryset(self, request):
        live = Q(services__status__in=["pending", "active", "suspended"])
        return super().get_queryset(request).annotate(live_services=Count("services", filter=live))

    @admin.display(description="Services", ordering="live_services")
    def live_services(self, obj):
        return obj.live_services

    @admin.display(description="Usage update", ordering="usage_updated_at")
    def usage_status(self, obj):
        if obj.usage_error and obj.usage_updated_at is None:
            return format_html('<span class="errornote inline-note">Failed: {}</span>',
                               obj.usage_error[:120])
        read = obj.usage_updated_at.strftime("%Y-%m-%d %H:%M") if obj.usage_updated_at else "never"
        return f"{read}{' – ' + obj.usage_error[:120] if obj.usage_error else ''}"

    def has_test_permission(self, request):
        return request.user.has_perm(TEST_PERMISSION)

    @admin.action(description="Test the connection", permissions=["test"])
    def test_connection(self, request, queryset):
        for server in queryset:
            self._test(request, server)

    def _test(self, request, server):
        try:
            message = services.server_test_connection(server=server, actor=Actor.from_request(request))
        except ModuleError as exc:
            self.message_user(request, f"{server}: connection test failed. {exc.message}", messages.ERROR)
        else:
            self.message_user(request, f"{server}: {message}", messages.SUCCESS)

    def get_urls(self):
        return [
            path("<path:object_id>/test-connection/", self.admin_site.admin_view(self.test_connection_view),
                 name="provisioning_server_test_connection"),
            *super().get_urls(),
        ]

    def test_connection_view(self, request, object_id):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not self.has_test_permission(request):
            raise PermissionDenied
        server = self.get_object(request, object_id)
        if server is None:
            return redirect("admin:provisioning_server_changelist")
        self._test(request, server)
        return redirect("admin:provisioning_server_change", server.pk)

    def render_change_form(self, request, context, *args, **kwargs):
        context["can_test_connection"] = self.has_test_permission(request)
        return super().render_change_form(request, context, *args, **kwargs)


@admin.register(ServerGroup)
class ServerGroupAdmin(admin.ModelAdmin):
    list_display = ["name"]
    filter_horizontal = ["servers"]
    search_fields = ["name"]


class ModuleCallAdminBase(admin.ModelAdmin):
    list_display = ["created_at", "module", "action", "service_link", "success", "awaiting_retry", "duration_ms",
                    "error"]
    list_filter = ["success", "awaiting_retry", "permanent_error", "module", "action"]
    search_fields = ["service__domain", "error"]
    list_select_related = ["service"]
    date_hierarchy = "created_at"
    show_full_result_count = False
    actions = ["retry", "dismiss"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_retry_permission(self, request):
        return request.user.has_perm(RETRY_PERMISSION)

    @admin.display(description="Service", ordering="service__domain")
    def service_link(self, obj):
        if obj.service_id is None:
            return "–"
        return format_html('<a href="{}">{}</a>', reverse("admin:billing_service_change", args=[obj.service_id]),
                           obj.service.domain)

    @admin.action(description="Retry the failed action now", permissions=["retry"])
    def retry(self, request, queryset):
        actor = Actor.from_request(request)
        for call in queryset.filter(awaiting_retry=True).select_related("service__product").order_by("created_at"):
            try:
                message = services.module_call_retry(call=call, actor=actor)
            except (lifecycle.InvalidTransition, ModuleError) as exc:
                self.message_user(request, f"{call.action} of {call.service.domain if call.service else '?'} failed "
                                           f"again: {exc}", messages.ERROR)
            else:
                self.message_user(request, message, messages.SUCCESS)

    @admin.action(description="Dismiss (handled another way)", permissions=["retry"])
    def dismiss(self, request, queryset):
        actor = Actor.from_request(request)
        calls = list(queryset.filter(awaiting_retry=True).select_related("service"))
        for call in calls:
            services.module_call_dismiss(call=call, actor=actor)
        self.message_user(request, f"Dismissed {len(calls)} entr{'y' if len(calls) == 1 else 'ies'}.",
                          messages.SUCCESS)


@admin.register(ModuleCall)
class ModuleCallAdmin(ModuleCallAdminBase):
    """The provider call log: every call, redacted request, outcome and duration."""


@admin.register(RetryQueueEntry)
class RetryQueueAdmin(ModuleCallAdminBase):
    """Failed lifecycle actions waiting for a person or a retry. Retry runs the action again through the
    lifecycle (it succeeds, or fails again and stays); Dismiss takes it out when handled another way."""

    list_display = ["created_at", "service_link", "action", "module", "kind", "error"]
    list_filter = ["permanent_error", "module", "action"]

    def get_queryset(self, request):
        return super().get_queryset(request).filter(awaiting_retry=True)

    @admin.display(description="Kind", ordering="permanent_error")
    def kind(self, obj):
        return "needs a person" if obj.permanent_error else "temporary"

    def has_view_permission(self, request, obj=None):
        return request.user.has_perm("provisioning.view_modulecall")

    def has_delete_permission(self, request, obj=None):
        return False
