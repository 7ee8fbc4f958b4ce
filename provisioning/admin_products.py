"""The staff page of a product: its prices, configurable options and provisioning module, whose options are
validated against the chosen module's schema. The Product model is billing's; choosing and checking its module
is provisioning's, so the page is registered here."""
from django.contrib import admin

from billing.models import ConfigurableOption, Product, ProductPrice
from provisioning.forms import ProductForm


class ProductPriceInline(admin.TabularInline):
    model = ProductPrice
    extra = 0


class ConfigurableOptionInline(admin.TabularInline):
    model = ConfigurableOption
    extra = 0
    show_change_link = True


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    form = ProductForm
    list_display = ["name", "group", "type", "module", "server_group", "hidden", "retired"]
    list_filter = ["type", "group", "module", "hidden", "retired"]
    search_fields = ["name", "group__name"]
    list_select_related = ["group", "server_group"]
    readonly_fields = ["created_at"]
    inlines = [ProductPriceInline, ConfigurableOptionInline]
