"""The staff page of the seller profile (Billing → Seller profile): the legal details every invoice prints, the
logo, the footer text and the bank account of each currency. Every save is audited with what changed."""
from io import BytesIO

from django import forms
from django.contrib import admin
from PIL import Image, UnidentifiedImageError

from billing.automation.admin import SingletonSettingsAdmin
from billing.automation.services import configuration_delete, configuration_save
from billing.models import SellerBankAccount, SellerProfile
from billing.models.seller import LOGO_MAX_BYTES, LOGO_MAX_PIXELS, LOGO_TYPES
from portal.activity import Actor, log_activity

LOGO_FIELDS = ("logo_upload", "remove_logo")


def read_logo(upload):
    """(bytes, content type) of an uploaded logo, or a ValidationError saying what is wrong with it."""
    if upload.size > LOGO_MAX_BYTES:
        raise forms.ValidationError(f"The logo is {upload.size // 1024} KB: upload one of at most "
                                    f"{LOGO_MAX_BYTES // 1024} KB.")
    data = upload.read()
    try:
        with Image.open(BytesIO(data)) as image:
            image_format, size = image.format, image.size
            image.verify()  # a truncated or corrupt file fails here, not later inside a PDF
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        raise forms.ValidationError("This file is not an image that can be read: upload a PNG or JPEG.") from None
    if image_format not in LOGO_TYPES:
        raise forms.ValidationError(f"The logo is a {image_format} image: upload a PNG or JPEG.")
    if max(size) > LOGO_MAX_PIXELS:
        raise forms.ValidationError(f"The logo is {size[0]}×{size[1]} pixels: upload one of at most "
                                    f"{LOGO_MAX_PIXELS} pixels on its longer side.")
    return data, LOGO_TYPES[image_format]


class SellerProfileForm(forms.ModelForm):
    logo_upload = forms.FileField(label="Logo", required=False,
                                  help_text=f"PNG or JPEG, at most {LOGO_MAX_BYTES // 1024} KB and {LOGO_MAX_PIXELS} "
                                            "pixels on its longer side. Printed at the top of every invoice.")
    remove_logo = forms.BooleanField(label="Remove the logo", required=False)

    class Meta:
        model = SellerProfile
        fields = "__all__"

    def clean_logo_upload(self):
        upload = self.cleaned_data.get("logo_upload")
        return read_logo(upload) if upload else None

    def clean_country(self):
        return self.cleaned_data["country"].upper()


class SellerBankAccountInline(admin.StackedInline):
    model = SellerBankAccount
    extra = 0
    fields = ["currency", "account_holder", "iban", "account_number", "routing_code", "bic", "bank_name"]


@admin.register(SellerProfile)
class SellerProfileAdmin(SingletonSettingsAdmin):
    audit_action = "seller_profile"
    form = SellerProfileForm
    inlines = [SellerBankAccountInline]
    readonly_fields = ["current_logo"]
    fieldsets = [
        ("Legal details", {"fields": ["legal_name", "address1", "address2", "postcode", "city", "state", "country",
                                      "tax_id", "company_registration"]}),
        ("Contact", {"fields": ["email", "phone", "website"]}),
        ("On every invoice", {"fields": ["current_logo", "logo_upload", "remove_logo", "invoice_footer"],
                              "description": "The bank account of each currency is below; invoices in a currency "
                                             "without one show the BANK_* settings' account, if any."}),
    ]

    @admin.display(description="Current logo")
    def current_logo(self, obj):
        return f"{obj.logo_type}, {len(obj.logo) // 1024} KB" if obj.logo else "None"

    def save_model(self, request, obj, form, change):
        actor = Actor.from_request(request)
        logo = form.cleaned_data.get("logo_upload")
        removed = form.cleaned_data.get("remove_logo") and obj.logo and not logo
        if logo:
            obj.logo, obj.logo_type = logo
        elif removed:
            obj.logo, obj.logo_type = None, ""
        changed = [name for name in form.changed_data if name not in LOGO_FIELDS]
        configuration_save(obj=obj, actor=actor, action=self.audit_action, changed_fields=changed, created=not change)
        if logo or removed:
            log_activity(actor=actor, action=f"{self.audit_action}.logo", target=obj,
                         message="Seller logo removed" if removed else f"Seller logo replaced ({obj.logo_type}, "
                                                                        f"{len(obj.logo)} bytes)",
                         data={"logo_type": obj.logo_type, "bytes": len(obj.logo or b"")})

    def save_formset(self, request, form, formset, change):
        """Each bank account added, changed or deleted is audited like the profile."""
        actor, action = Actor.from_request(request), "seller_bank_account"
        accounts = formset.save(commit=False)
        for account in formset.deleted_objects:
            configuration_delete(actor=actor, action=action, obj=account)
        changed = dict((account.pk, fields) for account, fields in formset.changed_objects)
        for account in accounts:
            configuration_save(obj=account, actor=actor, action=action, created=account.pk is None,
                               changed_fields=changed.get(account.pk, [f.name for f in account._meta.concrete_fields
                                                                        if f.name not in ("id", "profile")]))
