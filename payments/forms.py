"""Staff forms of payments: a gateway's settings (secrets never rendered back) and a refund through a gateway."""
from decimal import Decimal

from django import forms
from django.utils.html import escape

from payments.models import GatewaySettings


class GatewaySettingsForm(forms.ModelForm):
    """The common settings plus the gateway's own options (its `option_schema`). A secret field is always shown
    empty: leaving it empty keeps the stored secret, typing a new one replaces it."""

    class Meta:
        model = GatewaySettings
        fields = ["enabled", "display_name", "test_mode"]

    option_schema = {}
    gateway_class = None

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        stored = self.instance.secret_values() if self.instance.pk else {}
        options = self.instance.options if self.instance.pk else {}
        for name, (label, secret, text) in self.option_schema.items():
            help_text = escape(text)  # plain text: the admin prints help as HTML, and "https://<portal>/…" vanished
            if secret:
                note = " A secret is stored; leave empty to keep it." if stored.get(name) else " Not set yet."
                self.fields[f"option_{name}"] = forms.CharField(
                    label=label, required=False, help_text=help_text + note, strip=True,
                    widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}))
            else:
                self.fields[f"option_{name}"] = forms.CharField(label=label, required=False, help_text=help_text,
                                                                initial=options.get(name, ""))

    def clean(self):
        cleaned = super().clean()
        if self.gateway_class is not None and not self.errors:
            options, secrets = self.split()
            stored = self.instance.secret_values() if self.instance.pk else {}
            errors = self.gateway_class.check_settings(
                test_mode=cleaned.get("test_mode", False), options=options,
                secrets={**stored, **{name: value for name, value in secrets.items() if value}})
            for name, message in errors.items():
                self.add_error(f"option_{name}", message)
        return cleaned

    def split(self):
        """(options, secrets) from the cleaned data."""
        options, secrets = {}, {}
        for name, (_, secret, _) in self.option_schema.items():
            value = self.cleaned_data.get(f"option_{name}", "")
            (secrets if secret else options)[name] = value
        return options, secrets


class GatewayRefundForm(forms.Form):
    amount = forms.DecimalField(min_value=Decimal("0.01"), max_digits=12, decimal_places=2,
                                help_text="Returned to the client's card through the gateway, then recorded.")
