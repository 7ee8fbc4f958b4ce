"""The mail client area's forms (crispy-forms, Bootstrap 5): every error sits next to its field, and the
product's password rules are shown as hints before anyone types."""
import io
import re

from crispy_forms.bootstrap import AppendedText
from crispy_forms.helper import FormHelper
from crispy_forms.layout import Column, Layout, Row, Submit
from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from PIL import Image, UnidentifiedImageError

from billing.models import Product, Service
from portal.text import with_article
from provisioning.mail import plan
from provisioning.options import HOSTNAME

LOCAL_PART = re.compile(r"^[a-z0-9](?:[a-z0-9._+-]{0,62}[a-z0-9])?$")
LOCAL_PART_HELP = "Letters, digits, dots, hyphens, underscores or plus signs."
COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")
LOGO_MAX_BYTES = 512_000  # PolarisMail's limit (its vendor module refuses bigger logos)
LOGO_FORMATS = {"PNG": "image/png", "JPEG": "image/jpeg", "GIF": "image/gif"}
ADDRESS_SPLIT = re.compile(r"[\s,;]+")


class MailForm(forms.Form):
    submit_label = "Save"

    def __init__(self, *args, ctx, **kwargs):
        self.ctx = ctx
        super().__init__(*args, **kwargs)
        self.helper = FormHelper()
        self.helper.attrs = {"novalidate": ""}  # the server's checks speak, next to each field
        self.helper.add_input(Submit("submit", self.submit_label))
        self.setup()

    def setup(self):
        """Fields that depend on the service (its domain, its module, its plan)."""

    def local_part_field(self, label):
        self.fields["local_part"] = forms.CharField(label=label, max_length=64, help_text=LOCAL_PART_HELP)
        return AppendedText("local_part", f"@{self.ctx.domain}")

    def clean_local_part(self):
        value = self.cleaned_data["local_part"].strip().lower()
        if "@" in value:
            local, _, domain = value.rpartition("@")
            if domain != self.ctx.domain:
                raise ValidationError(f"The address must be in your domain, {self.ctx.domain}.")
            value = local
        if not LOCAL_PART.match(value):
            raise ValidationError(f"That name is not allowed. {LOCAL_PART_HELP}")
        return value


class PasswordFields:
    """A password with its confirmation, checked against the product's rules (shown as the hint)."""

    def password_fields(self, label="Password"):
        rules = self.ctx.password_rules
        self.fields["password"] = forms.CharField(label=label, strip=False, widget=forms.PasswordInput(
            attrs={"autocomplete": "new-password", "minlength": rules.min_length}), help_text=rules.text)
        self.fields["password2"] = forms.CharField(label="Password again", strip=False,
                                                   widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}))

    def clean_password(self):
        password = self.cleaned_data["password"]
        problem = self.ctx.password_rules.problem(password)
        if problem:
            raise ValidationError(problem)
        return password

    def clean(self):
        cleaned = super().clean()
        if (
            cleaned.get("password")
            and cleaned.get("password2") is not None
            and cleaned["password"] != cleaned["password2"]
        ):
            self.add_error("password2", "The two passwords differ.")
        return cleaned


QUOTA_MAX_MB = 10_000_000  # no provider takes more; the bound where the plan sets none


def quota_field(default_text, limit_mb, *, current=None):
    """The quota in MB, at most the plan's disk (`limit_mb`, None: no bound), which the help text states. A
    mailbox's `current` quota above it may be kept as it is (the edit view sends only what changed), so that
    its name can still be changed; any other value above the limit is refused."""
    if limit_mb is None:
        return forms.IntegerField(label="Quota (MB)", required=False, min_value=1, max_value=QUOTA_MAX_MB,
                                  help_text=f"1 GB = 1024 MB. {default_text}")
    field = forms.IntegerField(
        label="Quota (MB)", required=False, min_value=1,
        help_text=f"At most {plan.disk_label(limit_mb)}, your plan's disk. 1 GB = 1024 MB. {default_text}")
    field.validators.append(lambda value: _within_plan(value, limit_mb, current))
    return field


def _within_plan(value, limit_mb, current):
    problem = plan.quota_problem(limit_mb, value)
    if problem and value != current:
        raise ValidationError(problem)


class MailboxCreateForm(PasswordFields, MailForm):
    submit_label = "Save"

    def setup(self):
        local = self.local_part_field("Username")
        self.fields["name"] = forms.CharField(label="Display name", max_length=200, required=False)
        self.password_fields()
        self.fields["quota_mb"] = quota_field("Blank: the plan's default.", self.ctx.quota_limit_mb)
        layout = [local, "name", Row(Column("password"), Column("password2")), "quota_mb"]
        allowance = self.ctx.allowance
        if allowance.typed:
            counts = self.initial.get("counts", {})
            choices = []
            for kind in allowance.types:
                used = allowance.used(counts, kind.code)
                limit = "no limit" if kind.limit is None else f"{used} of {kind.limit} in use"
                choices.append((kind.code, f"{kind.label} ({limit})"))
            self.fields["mailbox_type"] = forms.ChoiceField(label="Type", choices=choices,
                                                            initial=allowance.default_type(counts))
            layout.append("mailbox_type")
        self.helper.layout = Layout(*layout)


class MailboxEditForm(MailForm):
    def setup(self):
        self.fields["name"] = forms.CharField(label="Display name", max_length=200, required=False)
        self.fields["quota_mb"] = quota_field("Blank: leave it as it is.", self.ctx.quota_limit_mb,
                                              current=self.initial.get("quota_mb"))
        if self.ctx.features["mailbox_enable"]:
            self.fields["enabled"] = forms.BooleanField(label="Mailbox on (receives mail, can sign in)", required=False)


class MailboxPasswordForm(PasswordFields, MailForm):
    submit_label = "Change password"

    def setup(self):
        self.password_fields("New password")


class TypedConfirmForm(MailForm):
    """A destructive action: the customer types the address to confirm."""

    submit_label = "Delete"

    def __init__(self, *args, expected, **kwargs):
        self.expected = expected
        super().__init__(*args, **kwargs)
        self.helper.inputs[0].field_classes = "btn btn-danger"

    def setup(self):
        self.fields["confirm"] = forms.CharField(label=f"Type {self.expected} to confirm", max_length=254,
                                                 widget=forms.TextInput(attrs={"autocomplete": "off"}))

    def clean_confirm(self):
        if self.cleaned_data["confirm"].strip().lower() != self.expected.lower():
            raise ValidationError(f"Type the address exactly: {self.expected}")
        return self.cleaned_data["confirm"]


class MailboxTypeForm(MailForm):
    submit_label = "Show the price"

    def __init__(self, *args, current, **kwargs):
        self.current = current
        super().__init__(*args, **kwargs)

    def setup(self):
        choices = [
            (kind.code, kind.label) for kind in self.ctx.allowance.types if kind.code and kind.code != self.current
        ]
        self.fields["to_type"] = forms.ChoiceField(label="New type", choices=choices)


def address_list(value, *, most=None):
    """Addresses from text (one per line, or separated by commas/spaces), each checked, lower-case, no repeats."""
    addresses = list(dict.fromkeys(part.lower() for part in ADDRESS_SPLIT.split(value or "") if part))
    bad = []
    for address in addresses:
        try:
            validate_email(address)
        except ValidationError:
            bad.append(address)
    if bad:
        raise ValidationError(f"Not an e-mail address: {', '.join(bad)}.")
    if most is not None and len(addresses) > most:
        raise ValidationError(f"At most {most} address{'es' if most != 1 else ''} here"
                              + ("; use a distribution list for several." if most == 1 else "."))
    return addresses


class TargetsFields:
    def targets_field(self, label, *, required=True):
        most = self.ctx.module.alias_max_targets
        if most == 1:
            self.fields["targets"] = forms.CharField(label=label, required=required, max_length=254,
                                                     widget=forms.EmailInput(attrs={"autocomplete": "off"}))
        else:
            self.fields["targets"] = forms.CharField(
                label=label, required=required, widget=forms.Textarea(attrs={"rows": 3}),
                help_text="One address per line." + (f" At most {most}." if most else ""))

    def clean_targets(self):
        return address_list(self.cleaned_data["targets"], most=self.ctx.module.alias_max_targets)


class AliasForm(TargetsFields, MailForm):
    def __init__(self, *args, creating=True, **kwargs):
        self.creating = creating
        self.submit_label = "Add alias" if creating else "Save"
        super().__init__(*args, **kwargs)

    def setup(self):
        layout = [self.local_part_field("Alias")] if self.creating else []
        self.targets_field("Deliver to")
        self.helper.layout = Layout(*layout, "targets")


class ForwardForm(MailForm):
    def setup(self):
        self.fields["targets"] = forms.CharField(
            label="Forward to", required=False, widget=forms.Textarea(attrs={"rows": 3}),
            help_text="One address per line. Blank: no forwarding.")
        if self.ctx.features["forward_without_copy"]:
            self.fields["keep_copy"] = forms.BooleanField(
                label="Keep a copy in the mailbox", required=False, initial=True
            )

    def clean_targets(self):
        return address_list(self.cleaned_data["targets"])


class DistributionListForm(MailForm):
    submit_label = "Create list"

    def setup(self):
        local = self.local_part_field("List address")
        self.fields["members"] = forms.CharField(
            label="Members",
            required=False,
            widget=forms.Textarea(attrs={"rows": 3}),
            help_text="One address per line; you can add more later.",
        )
        self.helper.layout = Layout(local, "members")

    def clean_members(self):
        return address_list(self.cleaned_data["members"])


class ListMemberForm(MailForm):
    submit_label = "Add member"

    def setup(self):
        self.fields["member"] = forms.EmailField(label="Member's address")

    def clean_member(self):
        return self.cleaned_data["member"].strip().lower()


class BrandingForm(MailForm):
    def setup(self):
        self.fields["brand_name"] = forms.CharField(label="Brand name", max_length=100, required=False,
                                                    help_text="Shown on the webmail login page.")
        self.fields["support_email"] = forms.EmailField(label="Support e-mail", required=False,
                                                        help_text="Where your users ask for help.")
        self.fields["color"] = forms.CharField(
            label="Colour",
            required=False,
            max_length=7,
            widget=forms.TextInput(attrs={"type": "color", "class": "form-control-color"}),
            initial="#1a5fb4",
        )
        self.fields["logo"] = forms.FileField(
            label="Logo", required=False,
            help_text=f"PNG, JPEG or GIF, at most {LOGO_MAX_BYTES // 1000} KB. Leave empty to keep the current logo.")

    def clean_color(self):
        color = self.cleaned_data["color"].strip()
        if color and not COLOR.match(color):
            raise ValidationError("Choose a colour as #rrggbb.")
        return color.lower()

    def clean_logo(self):
        logo = self.cleaned_data.get("logo")
        if not logo:
            return None
        if logo.size > LOGO_MAX_BYTES:
            raise ValidationError(
                f"The logo is {logo.size // 1000} KB; at most {LOGO_MAX_BYTES // 1000} KB is allowed."
            )
        data = logo.read()
        try:
            with Image.open(io.BytesIO(data)) as image:
                kind = image.format
                image.verify()
        except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
            raise ValidationError("The logo must be a PNG, JPEG or GIF image.") from None
        if kind not in LOGO_FORMATS:
            raise ValidationError(f"The logo is {with_article(kind)} image; use PNG, JPEG or GIF.")
        return data, LOGO_FORMATS[kind]


class DomainAliasForm(MailForm):
    submit_label = "Add domain alias"

    def setup(self):
        self.fields["name"] = forms.CharField(label="Domain", max_length=253,
                                              help_text="Another domain you own whose mail goes to the same mailboxes.")

    def clean_name(self):
        name = self.cleaned_data["name"].strip().lower().rstrip(".")
        if not HOSTNAME.match(name) or "." not in name:
            raise ValidationError("Enter a domain name such as example.org.")
        if name == self.ctx.domain:
            raise ValidationError("That is this service's own domain.")
        hosted = hosted_mail_service(name)
        if hosted is not None and hosted.client_id == self.ctx.service.client_id:
            raise ValidationError(
                f"{name} is already a hosted domain: your {hosted.product.name} service #{hosted.pk} hosts its mail. "
                f"A hosted domain cannot also be an alias of {self.ctx.domain}; to send its mail here, cancel that "
                "service first."
            )
        if hosted is not None:
            raise ValidationError(f"{name} is already a hosted domain on our mail servers, so it cannot be an alias "
                                  f"of {self.ctx.domain}.")
        return name


def hosted_mail_service(domain):
    """The live (pending, active or suspended) mail service whose own domain is `domain`, or None. The mail
    servers refuse such a domain as an alias (it is a domain of their own), whoever's it is."""
    return (Service.objects.filter(domain=domain, product__type=Product.Type.MAIL, status__in=Service.LIVE_STATUSES)
            .select_related("product").order_by("pk").first())

