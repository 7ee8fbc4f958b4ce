"""Forms: the client area's call filter, and the staff forms for deck imports, CDR uploads and re-rating."""
from datetime import timedelta

from django import forms
from django.contrib.admin.widgets import AdminDateWidget, ForeignKeyRawIdWidget

from billing.models import Product, Service
from provisioning.telephony.calls import INBOUND, OUTBOUND
from voip.models import Cdr, CdrSource
from voip.selectors import MAX_CHART_DAYS, CallFilter
from voip.services.uploads import UPLOAD_FORMATS

MAX_PERIOD_DAYS = 5 * 366


class CallFilterForm(forms.Form):
    """GET filters of the call list; an invalid value falls back to the default with the error shown."""

    start = forms.DateField(label="From", required=False, widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(label="To", required=False, widget=forms.DateInput(attrs={"type": "date"}))
    direction = forms.ChoiceField(
        required=False, choices=[
            ("", "All calls"), (OUTBOUND, "Outbound"), (INBOUND, "Inbound"),
            (Cdr.Direction.LOCAL, "Local"),
        ],
    )
    number = forms.CharField(required=False, max_length=40, label="Number",
                             widget=forms.TextInput(attrs={"placeholder": "Part of a number"}))

    def clean(self):
        data = super().clean()
        default = CallFilter.default()
        start, end = data.get("start") or default.start, data.get("end") or default.end
        if start > end:
            self.add_error("end", "The end date must be on or after the start date.")
        elif (end - start).days >= MAX_PERIOD_DAYS:
            self.add_error("start", f"Choose a period of at most {MAX_PERIOD_DAYS} days.")
        data["start"], data["end"] = start, end
        return data

    def call_filter(self):
        """The CallFilter the form describes (the default period when it is invalid)."""
        if not self.is_valid():
            return CallFilter.default()
        data = self.cleaned_data
        return CallFilter(data["start"], data["end"], data.get("direction") or "", (data.get("number") or "").strip())

    @staticmethod
    def chart_note(call_filter):
        if (call_filter.end - call_filter.start).days >= MAX_CHART_DAYS:
            return f"The chart shows the last {MAX_CHART_DAYS} days of the period."
        return ""


class DeckImportForm(forms.Form):
    file = forms.FileField(help_text="CSV with a header: prefix,destination,connect_fee,rate_per_minute,"
                           "minimum_seconds,increment_seconds and optionally free_seconds,valid_from,valid_to,weight,"
                           "direction,nocharge_below.")
    replace = forms.BooleanField(initial=True, required=False, label="Replace the package's rates",
                                 help_text="Off: the file's rates are added to the existing ones.")
    skip_bad_rows = forms.BooleanField(required=False, label="Import the valid rows and skip the rows with errors")


class CdrUploadForm(forms.Form):
    source = forms.ModelChoiceField(
        queryset=CdrSource.objects.order_by("name"),
        help_text="Calls already imported into this source are skipped, so a file uploaded twice is charged once.",
    )
    file_format = forms.ChoiceField(label="Format", choices=list(UPLOAD_FORMATS.items()))
    file = forms.FileField()


class RerateForm(forms.Form):
    service = forms.ModelChoiceField(queryset=Service.objects.filter(product__type=Product.Type.VOIP))
    start = forms.DateField(widget=AdminDateWidget)
    end = forms.DateField(widget=AdminDateWidget)

    def __init__(self, *args, admin_site=None, **kwargs):
        super().__init__(*args, **kwargs)
        if admin_site is not None:  # a raw id with the lookup popup: 100,000 services do not fit a select
            relation = Cdr._meta.get_field("service").remote_field
            self.fields["service"].widget = ForeignKeyRawIdWidget(relation, admin_site)

    def clean(self):
        data = super().clean()
        start, end = data.get("start"), data.get("end")
        if start and end and start > end:
            self.add_error("end", "The end date must be on or after the start date.")
        if start and end and end - start > timedelta(days=MAX_PERIOD_DAYS):
            self.add_error("start", f"Re-rate at most {MAX_PERIOD_DAYS} days at once.")
        return data
