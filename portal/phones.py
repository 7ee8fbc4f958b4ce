"""Phone numbers of clients and contacts: checked with phonenumbers and stored in E.164 (+14165550123), with
" ext. 45" after it when the number has an extension.

A number written with its country code (+44 20 7946 0958, or 00 44 …) is read as such; one without is read in
the person's country (the contact's, else its client's; a client's country is required). There is no separate
business-wide default region: the address country is the better guess for a national number.

A number already stored is not re-checked when it is saved unchanged, so a client whose older record holds a
free-text phone can still change other fields; the next change of the phone itself must be a real number."""
import phonenumbers
from django.core.exceptions import ValidationError

HELP_TEXT = "With the country code, e.g. +1 416 555 0123; a number without one is read in the address's country."


def invalid_message(region):
    where = f" in {region}" if region else ""
    return (f"Enter a phone number that can be dialled{where}, e.g. +1 416 555 0123 "
            "(with the country code if it is abroad).")


def normalise_phone(value, region):
    """E.164 (plus " ext. N") for a valid number, "" for a blank one; ValidationError otherwise."""
    value = (value or "").strip()
    if not value:
        return ""
    try:
        number = phonenumbers.parse(value, (region or "").upper() or None)
    except phonenumbers.NumberParseException:
        raise ValidationError(invalid_message(region), code="invalid_phone") from None
    if not phonenumbers.is_valid_number(number):
        raise ValidationError(invalid_message(region), code="invalid_phone")
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return f"{e164} ext. {number.extension}" if number.extension else e164


def clean_phone(instance, region):
    """Normalise `instance.phone` in place (from a model's clean()); a stored value saved unchanged passes."""
    try:
        instance.phone = normalise_phone(instance.phone, region)
    except ValidationError as exc:
        if instance.pk is not None:
            stored = type(instance).objects.filter(pk=instance.pk).values_list("phone", flat=True).first()
            if stored == instance.phone:
                return
        raise ValidationError({"phone": exc.messages}) from None
