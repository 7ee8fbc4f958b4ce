from django.contrib import admin
from django.shortcuts import redirect

from billing.models import AutomationSettings, OverwriteRule


@admin.register(AutomationSettings)
class AutomationSettingsAdmin(admin.ModelAdmin):
    fieldsets = [
        ("Suspension", {"fields": ["suspension_enabled", "suspend_days", "send_suspension_email"]}),
        ("Unsuspension", {"fields": ["unsuspend_on_payment", "send_unsuspension_email"]}),
        ("Termination", {"fields": ["termination_enabled", "terminate_days"]}),
        ("Overrides (seed 001)", {"fields": ["override_type", "override_cron_mode", "override_send_suspension_email"]}),
        ("Schedule and invoicing", {"fields": ["daily_run_time", "invoice_days_before_due", "client_status_update"]}),
    ]

    def has_add_permission(self, request):
        return not AutomationSettings.objects.exists()

    def has_delete_permission(self, request, obj=None):
        return False

    def changelist_view(self, request, extra_context=None):
        # One row: go straight to it.
        settings = AutomationSettings.load()
        return redirect("admin:billing_automationsettings_change", settings.pk)


@admin.register(OverwriteRule)
class OverwriteRuleAdmin(admin.ModelAdmin):
    list_display = ["__str__", "overwrite_suspension", "suspend_days", "overwrite_termination", "terminate_days"]
    list_filter = ["overwrite_suspension", "overwrite_termination"]
    list_select_related = ["product", "product_group"]
