"""Staff forms of provisioning: the lifecycle confirmations on the service page, and validation of module
options (products) and module settings (servers) against the module's schema."""
from django import forms
from django.core.exceptions import ImproperlyConfigured, ValidationError

from billing.disk import tranche_rule
from billing.models import Product
from provisioning.options import OptionsError
from provisioning.registry import get_module, module_choices


def _schema_errors(form, field, exc):
    form.add_error(field, list(exc.errors.values()))


class ModuleOptionsFormMixin:
    """For a model form with `module` and `module_options` (billing's Product form): validates the options
    against the chosen module's product option schema, fills in defaults, and stores names, not numbers."""

    module_field = "module"
    options_field = "module_options"
    schema_attribute = "product_options_schema"

    def clean(self):
        cleaned = super().clean()
        key = cleaned.get(self.module_field)
        if not key or self.options_field not in cleaned:
            return cleaned
        try:
            schema = getattr(get_module(key), self.schema_attribute)
        except ImproperlyConfigured as exc:
            self.add_error(self.module_field, str(exc))
            return cleaned
        if schema:
            try:
                cleaned[self.options_field] = schema.clean(cleaned[self.options_field])
            except OptionsError as exc:
                _schema_errors(self, self.options_field, exc)
        return cleaned


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


class ServerSettingsFormMixin(ModuleOptionsFormMixin):
    options_field = "settings"
    schema_attribute = "server_settings_schema"


class SuspendForm(forms.Form):
    reason_text = forms.CharField(
        label="Reason", max_length=255, help_text="Why the service is suspended (kept on the service and in the log)."
    )


class TerminateForm(forms.Form):
    confirm_domain = forms.CharField(label="Type the domain to confirm", max_length=253)
    delete_data = forms.BooleanField(
        label="Delete the data on the server", required=False,
        help_text="Checked: all mail and files are deleted. Unchecked: the domain is removed, its files stay.",
    )

    def __init__(self, *args, domain, **kwargs):
        super().__init__(*args, **kwargs)
        self.domain = domain
        self.fields["confirm_domain"].widget.attrs.update({"autocomplete": "off", "placeholder": domain})

    def clean_confirm_domain(self):
        typed = self.cleaned_data["confirm_domain"].strip().lower()
        if typed != self.domain.lower():
            raise forms.ValidationError(f"Type {self.domain} exactly to confirm the termination.")
        return typed


class ChangePasswordForm(forms.Form):
    new_password = forms.CharField(label="New password", strip=False, max_length=128,
                                   widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}))
    confirm_password = forms.CharField(label="Repeat it", strip=False, max_length=128,
                                       widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}))

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("new_password") != cleaned.get("confirm_password"):
            self.add_error("confirm_password", "The two passwords differ.")
        return cleaned
