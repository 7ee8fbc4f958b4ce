"""Storefront forms: they check and collect input; the services decide and write. Every field's error is shown
next to it. The sign-up and checkout forms carry a honeypot field that people never see and bots fill in."""
from django import forms
from django.contrib.auth.password_validation import password_validators_help_text_html, validate_password
from django.core.exceptions import ValidationError

from billing.forms import option_fields
from billing.models import BillingCycle
from billing.services.orders import MAX_QUANTITY
from portal.models import Client, country_code
from portal.money import format_money

HONEYPOT = "website"


class HoneypotMixin:
    """A field hidden from people (off-screen, skipped by the tab key); a bot that fills it is refused."""

    def add_honeypot(self):
        self.fields[HONEYPOT] = forms.CharField(
            required=False, label="Leave this empty",
            widget=forms.TextInput(attrs={"autocomplete": "off", "tabindex": "-1", "class": "sf-hp"}),
        )

    def clean_website(self):
        if self.cleaned_data.get(HONEYPOT):
            raise ValidationError("This form was not filled in by a person.")
        return ""


class ConfigureForm(forms.Form):
    domain = forms.CharField(max_length=253, help_text="Every order is tied to a domain, e.g. example.com or bücher.de.")
    cycle = forms.ChoiceField(label="Billing cycle", widget=forms.RadioSelect)
    quantity = forms.IntegerField(min_value=1, max_value=MAX_QUANTITY, initial=1)

    def __init__(self, *args, options, cycle_totals, currency, **kwargs):
        """`cycle_totals`: [(ProductPrice, Price of the chosen options)], the default cycle first."""
        super().__init__(*args, **kwargs)
        self.fields["cycle"].choices = [
            (pp.cycle, f"{BillingCycle(pp.cycle).label}: {format_money(total.recurring, currency)} {currency}"
                       + (f" + {format_money(total.setup, currency)} setup" if total.setup else ""))
            for pp, total in cycle_totals
        ]
        if cycle_totals:
            self.fields["cycle"].initial = cycle_totals[0][0].cycle
        self.fields.update(option_fields(options))


class PromotionForm(forms.Form):
    code = forms.CharField(max_length=40, label="Promotion code")


class SignupForm(HoneypotMixin, forms.Form):
    first_name = forms.CharField(max_length=100)
    last_name = forms.CharField(max_length=100)
    company_name = forms.CharField(max_length=200, required=False, label="Company (optional)")
    vat_number = forms.CharField(max_length=20, required=False, label="EU VAT number (optional)",
                                 help_text="With its country prefix, e.g. DE136695976: a business in another EU "
                                           "country than ours is invoiced without VAT (reverse charge).")
    email = forms.EmailField(label="E-mail address")
    address1 = forms.CharField(max_length=200, label="Address")
    city = forms.CharField(max_length=100)
    state = forms.CharField(max_length=100, required=False, label="State or region")
    postcode = forms.CharField(max_length=20)
    country = forms.CharField(max_length=2, min_length=2, validators=[country_code],
                              help_text="Two-letter code, e.g. CA, US, DE.")
    password1 = forms.CharField(label="Password", widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
                                help_text=password_validators_help_text_html())
    password2 = forms.CharField(label="Password again", widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}))
    accept_terms = forms.BooleanField(required=False)

    def __init__(self, *args, terms_version, terms_url="", **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["accept_terms"].label = f"I accept the terms of service (version {terms_version})"
        if terms_url:
            self.fields["accept_terms"].help_text = f"Read them at {terms_url}"
        self.add_honeypot()

    def clean_country(self):
        return self.cleaned_data["country"].upper()

    def clean_accept_terms(self):
        if not self.cleaned_data.get("accept_terms"):
            raise ValidationError("Please accept the terms to open an account.")
        return True

    def clean(self):
        data = super().clean()
        one, two = data.get("password1"), data.get("password2")
        if one and two and one != two:
            self.add_error("password2", "The two passwords differ.")
        elif one:
            user_like = Client(first_name=data.get("first_name", ""), last_name=data.get("last_name", ""),
                               email=data.get("email", ""))
            try:
                validate_password(one, user=user_like)
            except ValidationError as exc:
                self.add_error("password1", exc)
        return data

    def client_fields(self):
        names = ("first_name", "last_name", "company_name", "email", "address1", "city", "state", "postcode", "country",
                 "vat_number")
        return {name: self.cleaned_data[name] for name in names}


class CheckoutForm(HoneypotMixin, forms.Form):
    expected_total = forms.DecimalField(widget=forms.HiddenInput, max_digits=14, decimal_places=2)
    use_credit = forms.BooleanField(required=False, label="Use my account credit for this order")
    confirm_credit = forms.BooleanField(required=False, label="Yes, use the credit anyway")
    gateway = forms.ChoiceField(required=False, widget=forms.RadioSelect, label="Pay with")

    def __init__(self, *args, advice, gateways, **kwargs):
        super().__init__(*args, **kwargs)
        self.advice = advice
        self.fields["use_credit"].initial = advice.default_use
        self.fields["gateway"].choices = gateways
        if gateways:
            self.fields["gateway"].initial = gateways[0][0]
        self.add_honeypot()

    def clean(self):
        data = super().clean()
        if data.get("use_credit") and self.advice.needs_confirmation and not data.get("confirm_credit"):
            self.add_error("confirm_credit", "Tick this to use the credit anyway, or untick 'Use my account credit'.")
        return data
