from django.contrib import admin

from billing import admin_clients, admin_emails, admin_money  # noqa: F401 - admin_clients registers the Client page
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
    TaxRate,
)


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
