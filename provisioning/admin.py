from django import forms
from django.contrib import admin
from django.db.models import Count, Q

from portal.admin_forms import SecretFieldsForm
from provisioning.models import ModuleCall, Server, ServerGroup
from provisioning.registry import module_choices


class ServerForm(SecretFieldsForm):
    secret_fields = ("password", "api_token")
    module = forms.ChoiceField(choices=lambda: module_choices()[1:])

    class Meta:
        model = Server
        fields = "__all__"


@admin.register(Server)
class ServerAdmin(admin.ModelAdmin):
    form = ServerForm
    list_display = ["name", "module", "hostname", "enabled", "capacity", "live_services"]
    list_filter = ["module", "enabled"]
    search_fields = ["name", "hostname"]

    def get_queryset(self, request):
        live = Q(services__status__in=["pending", "active", "suspended"])
        return super().get_queryset(request).annotate(live_services=Count("services", filter=live))

    @admin.display(description="Services", ordering="live_services")
    def live_services(self, obj):
        return obj.live_services


@admin.register(ServerGroup)
class ServerGroupAdmin(admin.ModelAdmin):
    list_display = ["name"]
    filter_horizontal = ["servers"]
    search_fields = ["name"]


@admin.register(ModuleCall)
class ModuleCallAdmin(admin.ModelAdmin):
    """The provider call log. Filter 'awaiting retry' for the queue of failed lifecycle actions."""

    list_display = ["created_at", "module", "action", "service", "success", "awaiting_retry", "duration_ms", "error"]
    list_filter = ["success", "awaiting_retry", "permanent_error", "module", "action"]
    search_fields = ["service__domain", "error"]
    list_select_related = ["service__product"]
    date_hierarchy = "created_at"
    show_full_result_count = False

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
