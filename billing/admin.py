from django import forms
from django.core.exceptions import ValidationError
from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html

from billing import admin_emails, admin_money
from billing.disk import tranche_rule
from billing.models import (
    BillableItem,
    ConfigurableOption,
    ConfigurableOptionChoice,
    ConfigurableOptionPrice,
    CreditLedgerEntry,
    EmailLog,
    EmailTemplate,
    Invoice,
    NumberSequence,
    Payment,
    Product,
    ProductGroup,
    ProductPrice,
    Service,
    ServiceChange,
    ServiceConfigOption,
    TaxRate,
)
from provisioning.admin_service import ServiceLifecycleAdminMixin
from provisioning.forms import ModuleOptionsFormMixin
from provisioning.registry import module_choices


class ProductInline(admin.TabularInline):
    model = Product
    fields = ["name", "type", "module", "hidden", "retired"]
    extra = 0
    show_change_link = True


@admin.register(ProductGroup)
class ProductGroupAdmin(admin.ModelAdmin):
    list_display = ["name", "sort_order", "hidden"]
    search_fields = ["name"]
    inlines = [ProductInline]


class ProductPriceInline(admin.TabularInline):
    model = ProductPrice
    extra = 0


class ConfigurableOptionInline(admin.TabularInline):
    model = ConfigurableOption
    extra = 0
    show_change_link = True


class ProductForm(ModuleOptionsFormMixin, forms.ModelForm):
    """Module options are validated against the chosen module's schema (named, typed, with defaults)."""

    module = forms.ChoiceField(choices=module_choices, required=False, label="Provisioning module")

    class Meta:
        model = Product
        fields = "__all__"

    def clean_module_options(self):
        options = self.cleaned_data.get("module_options") or {}
        try:
            tranche_rule(options)  # disk-tranche billing options (docs/billing.md)
        except ValidationError as exc:
            raise forms.ValidationError(list(exc.message_dict.values())[0]) from None
        return options


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    form = ProductForm
    list_display = ["name", "group", "type", "module", "server_group", "hidden", "retired"]
    list_filter = ["type", "group", "module", "hidden", "retired"]
    search_fields = ["name", "group__name"]
    list_select_related = ["group", "server_group"]
    readonly_fields = ["created_at"]
    inlines = [ProductPriceInline, ConfigurableOptionInline]


class ConfigurableOptionChoiceInline(admin.TabularInline):
    model = ConfigurableOptionChoice
    extra = 0
    show_change_link = True


@admin.register(ConfigurableOption)
class ConfigurableOptionAdmin(admin.ModelAdmin):
    list_display = ["name", "code", "product", "kind", "min_quantity", "max_quantity", "included_quantity"]
    list_filter = ["kind"]
    search_fields = ["name", "code", "product__name"]
    list_select_related = ["product"]
    inlines = [ConfigurableOptionChoiceInline]


class ConfigurableOptionPriceInline(admin.TabularInline):
    model = ConfigurableOptionPrice
    extra = 0


@admin.register(ConfigurableOptionChoice)
class ConfigurableOptionChoiceAdmin(admin.ModelAdmin):
    list_display = ["label", "code", "option"]
    search_fields = ["label", "option__name"]
    list_select_related = ["option__product"]
    inlines = [ConfigurableOptionPriceInline]


class ServiceConfigOptionInline(admin.TabularInline):
    model = ServiceConfigOption
    extra = 0
    raw_id_fields = ["option", "choice"]


@admin.register(Service)
class ServiceAdmin(ServiceLifecycleAdminMixin, admin.ModelAdmin):
    list_display = ["id", "domain", "client_link", "product", "status", "billing_cycle", "recurring_amount", "next_due_date"]
    list_display_links = ["id", "domain"]
    list_filter = ["status", "product__type", "billing_cycle", "suspend_reason", "product", "server"]
    search_fields = ["domain", "username", "client__company_name", "client__last_name", "client__email", "=id"]
    list_select_related = ["client", "product"]
    raw_id_fields = ["client"]
    date_hierarchy = "next_due_date"
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
        from django.urls import path

        view = self.admin_site.admin_view(lambda request: admin_money.staff_order_view(self, request))
        return [path("add-order/", view, name="billing_service_add_order"), *super().get_urls()]

    @admin.display(description="Client", ordering="client__last_name")
    def client_link(self, obj):
        return format_html('<a href="{}">{}</a>', reverse("admin:portal_client_change", args=[obj.client_id]), obj.client)

    @admin.display(description="Password", boolean=True)
    def password_set(self, obj):
        return bool(obj.password)


@admin.register(ServiceChange)
class ServiceChangeAdmin(admin.ModelAdmin):
    """Upgrades/downgrades (billing.services.changes): a record, never edited. A pending one takes effect when its
    invoice is paid; staff may apply it at once (the invoice stays to be collected), or cancel its invoice, which
    cancels it. Staff who edit a service's product or options on the service page change it at once, unbilled."""

    list_display = ["id", "service", "status", "old_product", "new_product", "old_recurring", "new_recurring", "amount",
                    "invoice", "created_at", "applied_at"]
    list_filter = ["status"]
    search_fields = ["service__domain", "service__client__email", "invoice__number"]
    list_select_related = ["service__product", "old_product", "new_product", "invoice"]
    actions = ["apply_now"]

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.action(description="Apply the selected pending changes now (without waiting for payment)",
                  permissions=["change"])
    def apply_now(self, request, queryset):
        from django.contrib import messages

        from billing.services.changes import change_apply_now
        from portal.activity import Actor

        applied = 0
        for change in queryset.order_by("pk"):
            try:
                change_apply_now(change=change, actor=Actor.from_request(request))
                applied += 1
            except ValidationError as exc:
                self.message_user(request, f"{change}: {' '.join(exc.messages)}", messages.WARNING)
        if applied:
            self.message_user(request, f"{applied} change(s) applied; their invoices stay to be paid.", messages.SUCCESS)


@admin.register(NumberSequence)
class NumberSequenceAdmin(admin.ModelAdmin):
    list_display = ["name", "next_value"]

    def has_change_permission(self, request, obj=None):
        return False


# Money (invoices, payments, credit, tax, staff orders, billable items) and e-mail have their own modules.
admin.site.register(BillableItem, admin_money.BillableItemAdmin)
admin.site.register(Invoice, admin_money.InvoiceAdmin)
admin.site.register(Payment, admin_money.PaymentAdmin)
admin.site.register(CreditLedgerEntry, admin_money.CreditLedgerEntryAdmin)
admin.site.register(TaxRate, admin_money.TaxRateAdmin)
admin.site.register(EmailTemplate, admin_emails.EmailTemplateAdmin)
admin.site.register(EmailLog, admin_emails.EmailLogAdmin)

# Automation settings and overwrite rules are administered with the automation engine.
from billing.automation import admin as automation_admin  # noqa: E402,F401
