"""The automation engine's staff pages: the global settings (seed 004) and the overwrite rules (seed 001).

Every save and delete is written to ActivityLog with the fields that changed (seed 001: "All configuration ...
actions are logged"). Overrides are never adjusted when the global settings change (seed 001); instead the rule
list marks each override that no longer takes effect, and saving the settings warns about them."""
from django.contrib import admin, messages
from django.shortcuts import redirect
from django.utils.html import format_html, format_html_join

from billing.automation.forms import OverwriteRuleForm
from billing.automation.rules import override_effect, rule_target_label
from billing.automation.services import configuration_delete, configuration_save
from billing.models import AutomationSettings, OverwriteRule
from portal.activity import Actor


class ConfigurationAuditMixin:
    """Log each save (with old → new for the fields that changed) and each delete to ActivityLog."""

    audit_action = ""

    def save_model(self, request, obj, form, change):
        configuration_save(obj=obj, actor=Actor.from_request(request), action=self.audit_action,
                           changed_fields=form.changed_data, created=not change)

    def delete_model(self, request, obj):
        configuration_delete(actor=Actor.from_request(request), action=self.audit_action, obj=obj)

    def delete_queryset(self, request, queryset):
        configuration_delete(actor=Actor.from_request(request), action=self.audit_action, queryset=queryset)


class SingletonSettingsAdmin(ConfigurationAuditMixin, admin.ModelAdmin):
    """The staff page of a portal.models.SingletonSettings table: its one row, audited, never deleted."""

    def has_add_permission(self, request):
        return not self.model.objects.exists()

    def has_delete_permission(self, request, obj=None):
        return False

    def changelist_view(self, request, extra_context=None):
        # One row: go straight to it.
        opts = self.model._meta
        return redirect(f"admin:{opts.app_label}_{opts.model_name}_change", self.model.load_for_edit().pk)


@admin.register(AutomationSettings)
class AutomationSettingsAdmin(SingletonSettingsAdmin):
    audit_action = "automation_settings"
    fieldsets = [
        ("Suspension", {"fields": ["suspension_enabled", "suspend_days", "send_suspension_email"]}),
        ("Unsuspension", {"fields": ["unsuspend_on_payment", "send_unsuspension_email"]}),
        ("Termination", {"fields": ["termination_enabled", "terminate_days"]}),
        ("Overrides (seed 001)", {"fields": ["override_type", "override_cron_mode", "override_send_suspension_email"]}),
        ("Schedule and invoicing", {"fields": ["daily_run_time", "invoice_days_before_due", "client_status_update"]}),
    ]

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        ineffective = [
            (rule, notes) for rule in OverwriteRule.objects.select_related("product", "product_group")
            if (notes := override_effect(rule, obj))
        ]
        if ineffective:
            self.message_user(
                request,
                format_html(
                    "Overrides are not adjusted when the global settings change (seed 001). These do not take "
                    "effect in full now: {}",
                    format_html_join("", "<br>{}: {}", ((rule_target_label(r), " ".join(n)) for r, n in ineffective)),
                ),
                messages.WARNING,
            )


@admin.register(OverwriteRule)
class OverwriteRuleAdmin(ConfigurationAuditMixin, admin.ModelAdmin):
    audit_action = "overwrite_rule"
    form = OverwriteRuleForm
    list_filter = ["overwrite_suspension", "overwrite_termination"]
    list_select_related = ["product", "product_group"]

    def get_list_display(self, request):
        settings = AutomationSettings.load()  # once per page, not per row

        def takes_effect(rule):
            notes = override_effect(rule, settings)
            if not notes:
                return format_html('<span class="state-ok">{}</span>', "Yes")
            return format_html('<strong class="errornote-inline">{}</strong><br>{}', "No", " ".join(notes))

        takes_effect.short_description = "Takes effect"
        return ["__str__", "kind", "suspension", "termination", takes_effect]

    @admin.display(description="Applies to")
    def kind(self, rule):
        return "Product" if rule.product_id else "Product group"

    @admin.display(description="Overwrite suspension")
    def suspension(self, rule):
        return f"{rule.suspend_days} days" if rule.overwrite_suspension else "off"

    @admin.display(description="Overwrite termination")
    def termination(self, rule):
        return f"{rule.terminate_days} days" if rule.overwrite_termination else "off"

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        notes = override_effect(obj, AutomationSettings.load())
        if notes:
            self.message_user(request, " ".join(notes), messages.WARNING)
