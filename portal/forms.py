from crispy_forms.helper import FormHelper
from crispy_forms.layout import Column, Layout, Row, Submit
from django import forms
from django.contrib.auth.forms import AuthenticationForm

from portal.models import Client, ClientUser
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


class ProfileForm(forms.ModelForm):
    class Meta:
        model = Client
        fields = PROFILE_FIELDS

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = FormHelper()
        self.helper.layout = Layout(
            "company_name",
            Row(Column("first_name"), Column("last_name")),
            Row(Column("email"), Column("phone")),
            "address1",
            "address2",
            Row(Column("city"), Column("state"), Column("postcode"), Column("country")),
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
