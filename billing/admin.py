from django import forms
from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html

from billing.models import (
    ConfigurableOption,
    ConfigurableOptionChoice,
    ConfigurableOptionPrice,
    CreditLedgerEntry,
    EmailTemplate,
    Invoice,
    InvoiceItem,
    NumberSequence,
    Payment,
    Product,
    ProductGroup,
    ProductPrice,
    Service,
    ServiceConfigOption,
)
from provisioning.admin_service import ServiceLifecycleAdminMixin
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


class ProductForm(forms.ModelForm):
    module = forms.ChoiceField(choices=module_choices, required=False, label="Provisioning module")

    class Meta:
        model = Product
        fields = "__all__"


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    form = ProductForm
    list_display = ["name", "group", "type", "module", "server_group", "hidden", "retired"]
    list_filter = ["type", "group", "module", "hidden", "retired"]
    search_fields = ["name", "group__name"]
    list_select_related = ["group", "server_group"]
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
    readonly_fields = [
        "status", "suspend_reason", "suspend_reason_text", "suspend_mode", "suspended_at", "terminated_at",
        "password_set", "disk_usage_mb", "usage_updated_at", "created_at", "updated_at",
    ]
    exclude = ["password"]

    @admin.display(description="Client", ordering="client__last_name")
    def client_link(self, obj):
        return format_html('<a href="{}">{}</a>', reverse("admin:portal_client_change", args=[obj.client_id]), obj.client)

    @admin.display(description="Password", boolean=True)
    def password_set(self, obj):
        return bool(obj.password)


class InvoiceItemInline(admin.TabularInline):
    model = InvoiceItem
    extra = 0
    raw_id_fields = ["service"]
    fields = ["kind", "description", "service", "period_start", "period_end", "amount", "taxable"]


class PaymentInline(admin.TabularInline):
    model = Payment
    extra = 0
    fields = ["received_at", "amount", "gateway", "transaction_id", "recorded_by"]
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Invoice)
class InvoiceAdmin(admin.ModelAdmin):
    list_display = ["number", "client", "kind", "status", "date", "due_date", "total", "balance"]
    list_filter = ["status", "kind", "currency"]
    search_fields = ["number", "client__company_name", "client__last_name", "client__email"]
    list_select_related = ["client"]
    raw_id_fields = ["client"]
    date_hierarchy = "date"
    readonly_fields = ["number", "subtotal", "tax", "total", "amount_paid", "credit_applied", "paid_at", "cancelled_at"]
    inlines = [InvoiceItemInline, PaymentInline]

    @admin.display(description="Balance")
    def balance(self, obj):
        return obj.balance


@admin.register(Payment)
class PaymentAdmin(admin.ModelAdmin):
    list_display = ["received_at", "client", "invoice", "amount", "currency", "gateway", "transaction_id"]
    list_filter = ["gateway", "currency"]
    search_fields = ["transaction_id", "invoice__number", "client__email", "client__last_name"]
    list_select_related = ["client", "invoice"]
    raw_id_fields = ["client", "invoice"]
    date_hierarchy = "received_at"

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(CreditLedgerEntry)
class CreditLedgerEntryAdmin(admin.ModelAdmin):
    """Read-only here: the ledger is written by billing services, which keep the balance cache in step."""

    list_display = ["created_at", "client", "kind", "amount", "description", "invoice"]
    list_filter = ["kind"]
    search_fields = ["description", "client__email", "client__last_name", "invoice__number"]
    list_select_related = ["client", "invoice"]
    date_hierarchy = "created_at"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(NumberSequence)
class NumberSequenceAdmin(admin.ModelAdmin):
    list_display = ["name", "next_value"]

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(EmailTemplate)
class EmailTemplateAdmin(admin.ModelAdmin):
    list_display = ["name", "category", "subject", "disabled", "updated_at"]
    list_filter = ["category", "disabled"]
    search_fields = ["name", "subject", "body"]


# Automation settings and overwrite rules are administered with the automation engine.
from billing.automation import admin as automation_admin  # noqa: E402,F401
