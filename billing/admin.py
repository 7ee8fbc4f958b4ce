from django.contrib import admin, messages
from django.core.exceptions import ValidationError

from billing import admin_clients, admin_emails, admin_money, admin_seller, admin_tax  # noqa: F401 - admin_clients registers the Client page, admin_tax the tax rules, credit notes and report
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
    ServiceChange,
)
from billing.services.changes import change_apply_now
from portal.activity import Actor


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
admin.site.register(EmailTemplate, admin_emails.EmailTemplateAdmin)
admin.site.register(EmailLog, admin_emails.EmailLogAdmin)

# Automation settings and overwrite rules are administered with the automation engine.
from billing.automation import admin as automation_admin  # noqa: E402,F401
