"""API keys in the staff area. The secret is generated on save and shown once; only its hash is stored."""
from django import forms
from django.contrib import admin, messages

from api.models import ApiKey
from api.scopes import scope_choices


class ApiKeyForm(forms.ModelForm):
    permissions = forms.MultipleChoiceField(choices=scope_choices, widget=forms.CheckboxSelectMultiple, required=False)
    extra_permissions = forms.CharField(
        required=False, label="WHMCS API roles",
        help_text="Further single WHMCS actions, comma separated (e.g. GetClients, AddOrder).",
    )
    regenerate_secret = forms.BooleanField(required=False, help_text="Issue a new secret; the old one stops working.")

    class Meta:
        model = ApiKey
        fields = ["name", "owner", "permissions", "allowed_ips", "enabled", "rate_limit"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        current = list(self.instance.permissions or [])
        self.initial["permissions"] = [p for p in current if not p.startswith("whmcs:")]
        self.initial["extra_permissions"] = ", ".join(p[6:] for p in current if p.startswith("whmcs:"))

    def clean(self):
        data = super().clean()
        extra = [f"whmcs:{p.strip().lower()}" for p in (data.get("extra_permissions") or "").split(",") if p.strip()]
        data["permissions"] = [*data.get("permissions", []), *extra]
        return data


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    form = ApiKeyForm
    list_display = ["name", "identifier", "owner", "enabled", "last_used_at", "last_used_ip"]
    list_filter = ["enabled"]
    search_fields = ["name", "identifier"]
    readonly_fields = ["identifier", "created_at", "last_used_at", "last_used_ip"]

    def save_model(self, request, obj, form, change):
        secret = None
        if not change or form.cleaned_data.get("regenerate_secret"):
            secret = obj.set_new_secret()
        super().save_model(request, obj, form, change)
        if secret:
            messages.warning(
                request,
                f"Identifier: {obj.identifier} — Secret: {secret} — REST token: {obj.identifier}.{secret} "
                "(shown once: copy it now; only its hash is stored).",
            )
