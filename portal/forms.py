import zoneinfo

from crispy_forms.helper import FormHelper
from crispy_forms.layout import Column, Layout, Row, Submit
from django import forms
from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm

from portal.models import Client, ClientUser
from portal.phones import HELP_TEXT as PHONE_HELP
from portal.services import PROFILE_FIELDS


class ClientLoginForm(AuthenticationForm):
    """The client-area login: only users that belong to an open client account may sign in here."""

    error_messages = {
        **AuthenticationForm.error_messages,
        "no_client": "This login has no client account. Staff sign in to the staff area at /admin/.",
        "closed": "This client account is closed. Please contact support.",
    }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["username"].label = "E-mail address"
        self.helper = FormHelper()
        self.helper.add_input(Submit("submit", "Sign in", css_class="w-100"))

    def confirm_login_allowed(self, user):
        super().confirm_login_allowed(user)
        membership = ClientUser.objects.filter(user=user).select_related("client").first()
        if membership is None:
            raise forms.ValidationError(self.error_messages["no_client"], code="no_client")
        if membership.client.status == Client.Status.CLOSED:
            raise forms.ValidationError(self.error_messages["closed"], code="closed")


def time_zone_choices():
    """Blank (the business time zone) and every IANA zone name, sorted."""
    business = f"The provider's time zone ({settings.BUSINESS_TIME_ZONE})"
    return [("", business), *((name, name) for name in sorted(zoneinfo.available_timezones()))]


class ProfileForm(forms.ModelForm):
    class Meta:
        model = Client
        fields = PROFILE_FIELDS
        help_texts = {"phone": PHONE_HELP}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["time_zone"] = forms.ChoiceField(
            label="Time zone", required=False, choices=time_zone_choices(),
            help_text="Peak and off-peak call rates follow this zone.",
        )
        self.helper = FormHelper()
        self.helper.layout = Layout(
            "company_name",
            Row(Column("first_name"), Column("last_name")),
            Row(Column("email"), Column("phone")),
            "address1",
            "address2",
            Row(Column("city"), Column("state"), Column("postcode"), Column("country")),
            "vat_number",
            "time_zone",
        )
        self.helper.add_input(Submit("submit", "Save changes"))

    def clean_country(self):
        return self.cleaned_data["country"].upper()


class CrispyFormMixin:
    """Give a Django auth form a crispy helper with one submit button."""

    submit_label = "Save"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = FormHelper()
        self.helper.add_input(Submit("submit", self.submit_label))


def apply_errors(form, error):
    """Show a service's ValidationError on the form: keyed messages on their fields, the rest on the form."""
    if hasattr(error, "error_dict"):
        for name, messages in error.message_dict.items():
            form.add_error(name if name in form.fields else None, messages)
    else:
        form.add_error(None, error.messages)


class TwoFactorCodeForm(forms.Form):
    """A code from the authenticator app, or a recovery code (portal.two_factor.check_code tells them apart)."""

    code = forms.CharField(
        label="Code", max_length=32, strip=True,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "autofocus": True, "spellcheck": "false",
                                      "autocapitalize": "none"}),
        help_text="The 6-digit code your authenticator app shows, or one of your recovery codes.",
    )

    def __init__(self, *args, submit_label="Verify", help_text=None, **kwargs):
        super().__init__(*args, **kwargs)
        if help_text is not None:
            self.fields["code"].help_text = help_text
        self.helper = FormHelper()
        self.helper.form_tag = False  # the page's own <form> carries the action name
        self.submit_label = submit_label
