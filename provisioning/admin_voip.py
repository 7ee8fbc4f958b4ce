"""The "VoIP service" section of the staff Service page (docs/voip-providers.md §2): for a service whose product
uses the FusionPBX, Vodia or LesNet module, the structured identifiers of its kind and a "Paste legacy line"
field whose pipe line (seed 002) fills them on save. Errors name the field; DIDs are saved normalised with the
product's country and local area codes; each change is written to the activity log.

ServiceLifecycleAdminMixin (provisioning/admin_service.py) mixes VoipServiceAdminMixin in.
"""
from django import forms

from portal.activity import Actor
from provisioning.registry import get_module
from provisioning.voip_services import (
    LABELS,
    LIST_KEYS,
    IdentifierError,
    VoipIdentifiers,
    clean_identifiers,
    identifier_keys,
    legacy_line_example,
    merge_identifiers,
    parse_legacy_line,
    product_number_settings,
    set_voip_identifiers,
    voip_kind,
)

PREFIX = "voip_"
LINE_FIELD = PREFIX + "legacy_line"
HELP = {
    "tenant": {"fusionpbx": "The tenant's FusionPBX domain name (Tenants › Domains).",
               "vodia": "The Vodia tenant (domain) name."},
    "dids": "One per line or comma-separated, in any format the product's country dials; saved as E.164 digits.",
    "extensions": "The extensions assigned to this service: what extension mode suspends.",
    "search_string": "The extension or first name the inbound search matches (e.g. 8300).",
    "peer_id": "The LesNet Peer ID (e.g. D4E3CD2BFC791).",
    "cdr_url": "The peer's daily CDR text file (e.g. https://portal.les.net/cdr/11330_0000.txt).",
}


class VoipIdentifiersFormMixin(forms.Form):
    """Added to the Service change form of a VoIP service; `voip_kind` is set by `voip_form_class`."""

    voip_kind = ""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        current = VoipIdentifiers.from_module_data(self.voip_kind, self.instance.module_data)
        for key in identifier_keys(self.voip_kind):
            value = getattr(current, key)
            if key == "dids":
                value = ["+" + did for did in value]  # E.164 as stored, readable in any region
            self.initial.setdefault(PREFIX + key, "\n".join(value) if key in LIST_KEYS else value)
        self.voip_identifiers = None

    def clean(self):
        cleaned = super().clean()
        kind = self.voip_kind
        try:
            region, local_npa = product_number_settings(self.instance.product)
        except IdentifierError as exc:
            self._voip_errors(exc)
            return cleaned
        values = {key: cleaned.get(PREFIX + key, "") for key in identifier_keys(kind)}
        try:
            identifiers = clean_identifiers(kind, values, region=region, local_npa=local_npa)
            line = (cleaned.get(LINE_FIELD) or "").strip()
            if line:
                parsed = parse_legacy_line(kind, line, region=region, local_npa=local_npa)
                identifiers = merge_identifiers(identifiers, parsed)
        except IdentifierError as exc:
            self._voip_errors(exc)
            return cleaned
        self.voip_identifiers = identifiers
        return cleaned

    def _voip_errors(self, exc):
        for key, message in exc.errors.items():
            name = LINE_FIELD if key == "line" else PREFIX + key
            self.add_error(name if name in self.fields else None, f"{LABELS.get(key, key)}: {message}")


def voip_form_class(base_form, kind):
    """The Service form with the kind's identifier fields."""
    example = legacy_line_example(kind)
    fields = {"voip_kind": kind, LINE_FIELD: forms.CharField(
        label="Paste legacy line", required=False, max_length=1000,
        help_text=f"Optional: a WHMCS/ictVoIP pipe line, e.g. {example}. On save it fills the fields below "
                  "(its values replace theirs).",
        widget=forms.TextInput(attrs={"size": 80, "placeholder": example}))}
    for key in identifier_keys(kind):
        help_text = HELP[key][kind] if isinstance(HELP[key], dict) else HELP[key]
        widget = forms.Textarea(attrs={"rows": 3, "cols": 40}) if key in LIST_KEYS else forms.TextInput(attrs={"size": 60})
        fields[PREFIX + key] = forms.CharField(label=LABELS[key], required=False, help_text=help_text, widget=widget,
                                               max_length=2000)
    return type(f"{kind.title()}ServiceForm", (VoipIdentifiersFormMixin, base_form), fields)


class VoipServiceAdminMixin:
    """Service admin: the VoIP section on the change page of VoIP services, stored (and logged when it changes)
    by provisioning.voip_services.set_voip_identifiers."""

    def get_form(self, request, obj=None, change=False, **kwargs):
        kind = voip_kind(obj)
        if kind and "form" not in kwargs:
            kwargs["form"] = voip_form_class(self.form, kind)
        return super().get_form(request, obj, change, **kwargs)

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        kind = voip_kind(obj)
        if not kind:
            return fieldsets
        names = [LINE_FIELD, *(PREFIX + key for key in identifier_keys(kind))]
        rest = [(title, {**options, "fields": [f for f in options["fields"] if f not in names]})
                for title, options in fieldsets]
        title = f"VoIP service ({get_module(kind).label})"
        return [*rest, (title, {"fields": names, "description": "What identifies this service at the provider "
                                                                "(docs/voip-providers.md)."})]

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        identifiers = getattr(form, "voip_identifiers", None)
        if identifiers is not None:
            # The service stores them (merged into module_data under a lock) and logs the change, if any.
            set_voip_identifiers(service=obj, identifiers=identifiers, actor=Actor.from_request(request))
