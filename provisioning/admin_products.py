"""The staff page of a product: its prices, configurable options and provisioning module, whose options are
validated against the chosen module's schema. The Product model is billing's; choosing and checking its module
is provisioning's, so the page is registered here."""
from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError

from billing.disk import tranche_rule
from billing.models import ConfigurableOption, Product, ProductPrice
from provisioning.forms import ModuleOptionsFormMixin
from provisioning.registry import module_choices


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
