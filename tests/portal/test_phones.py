"""Phone numbers of clients and contacts are checked with phonenumbers and stored in E.164, wherever they are
entered: the client's profile, the client area's contacts, the staff area's client page and its contact inline,
and the WHMCS API. A bad number is a clear error on the field and saves nothing."""
import pytest
from django.urls import reverse

from portal.models import ActivityLog, Client, Contact
from portal.phones import normalise_phone
from tests.portal.test_contacts import FORM as CONTACT_FORM

pytestmark = pytest.mark.django_db

BAD = ("Enter a phone number that can be dialled in CA, e.g. +1 416 555 0123 "
       "(with the country code if it is abroad).")


@pytest.mark.parametrize(("typed", "region", "stored"), [
    ("+1 902 555 0100", "CA", "+19025550100"),
    ("(902) 555-0100", "CA", "+19025550100"),  # national: read in the given country
    ("020 7946 0958", "GB", "+442079460958"),
    ("00 44 20 7946 0958", "GB", "+442079460958"),
    ("+44 20 7946 0958", "US", "+442079460958"),  # the country code wins over the region
    ("+1 416 979 0000 ext. 45", "CA", "+14169790000 ext. 45"),  # the extension is kept
    ("  ", "CA", ""),
])
def test_a_phone_number_is_stored_in_e164(typed, region, stored):
    assert normalise_phone(typed, region) == stored


@pytest.mark.parametrize("typed", ["not a phone", "12", "+1 555 0100", "555-0100-0100-0100-0100"])
def test_something_that_is_not_a_phone_number_is_refused(typed):
    with pytest.raises(Exception) as refused:
        normalise_phone(typed, "CA")
    assert refused.value.messages == [BAD]


def profile_data(client, **changes):
    form = client.get("/profile/").context["form"]
    return {**{name: form.initial.get(name) or "" for name in form.fields}, **changes}


def test_the_profile_refuses_a_bad_phone_keeps_what_was_typed_and_saves_nothing(client, owner):
    client.force_login(owner.owner_user)
    response = client.post("/profile/", profile_data(client, phone="not a phone", city="Halifax", country="CA"))
    assert response.status_code == 200
    form = response.context["form"]
    assert form.errors == {"phone": [BAD]}
    assert (form["phone"].value(), form["city"].value()) == ("not a phone", "Halifax")
    assert b"Enter a phone number that can be dialled in CA" in response.content
    owner.refresh_from_db()
    assert (owner.phone, owner.city) == ("", "")
    assert not ActivityLog.objects.filter(action="client.profile_update").exists()


def test_the_profile_reads_a_national_number_in_the_clients_country(client, owner):
    client.force_login(owner.owner_user)
    response = client.post("/profile/", profile_data(client, phone="(902) 555-0100", country="CA"))
    assert response.status_code == 302
    owner.refresh_from_db()
    assert owner.phone == "+19025550100"
    assert ActivityLog.objects.get(action="client.profile_update").data["changes"]["phone"] == ["", "+19025550100"]


def test_an_old_free_text_phone_saved_unchanged_does_not_block_other_changes(client, owner):
    Client.objects.filter(pk=owner.pk).update(phone="call the office")
    client.force_login(owner.owner_user)
    response = client.post("/profile/", profile_data(client, city="Halifax"))
    assert response.status_code == 302
    owner.refresh_from_db()
    assert (owner.phone, owner.city) == ("call the office", "Halifax")


def test_a_contact_with_a_bad_phone_is_refused_and_not_saved(client, owner):
    client.force_login(owner.owner_user)
    response = client.post(reverse("clientarea:contact_add"), {**CONTACT_FORM, "phone": "not a phone"})
    assert response.status_code == 200
    assert response.context["form"].errors == {"phone": [BAD]}
    assert not Contact.objects.exists()


def test_a_contact_without_a_country_has_its_number_read_in_the_clients_country(client, owner):
    Client.objects.filter(pk=owner.pk).update(country="GB")
    client.force_login(owner.owner_user)
    response = client.post(reverse("clientarea:contact_add"), {**CONTACT_FORM, "country": "", "phone": "020 7946 0958"})
    assert response.status_code == 302
    assert Contact.objects.get().phone == "+442079460958"


def admin_form_data(page):
    """The staff client page's POST data as rendered: every field's initial value, and empty inline formsets."""
    form = page.context["adminform"].form
    data = {}
    for name in form.fields:
        value = form[name].value()
        if value is None or value is False:
            continue
        data[name] = "on" if value is True else value
    for inline in page.context["inline_admin_formsets"]:
        prefix = inline.formset.prefix
        data.update({f"{prefix}-TOTAL_FORMS": "0", f"{prefix}-INITIAL_FORMS": "0"})
    return data


def test_the_staff_client_page_refuses_a_bad_phone_and_stores_a_good_one_in_e164(client, owner, staff_user):
    staff_user.is_superuser = True
    staff_user.save()
    client.force_login(staff_user)
    url = reverse("admin:portal_client_change", args=[owner.pk])
    data = {**admin_form_data(client.get(url)), "country": "CA"}
    refused = client.post(url, {**data, "phone": "not a phone"})
    assert refused.status_code == 200
    assert refused.context["adminform"].form.errors == {"phone": [BAD]}
    owner.refresh_from_db()
    assert owner.phone == ""
    saved = client.post(url, {**data, "phone": "902 555 0100"})
    assert saved.status_code == 302
    owner.refresh_from_db()
    assert owner.phone == "+19025550100"


def test_the_staff_contact_inline_refuses_a_bad_phone(client, owner, staff_user):
    staff_user.is_superuser = True
    staff_user.save()
    client.force_login(staff_user)
    url = reverse("admin:portal_client_change", args=[owner.pk])
    data = admin_form_data(client.get(url))
    data.update({"contacts-TOTAL_FORMS": "1", "contacts-0-first_name": "Ann", "contacts-0-email": "ann@example.com",
                 "contacts-0-phone": "not a phone", "contacts-0-client": str(owner.pk)})
    refused = client.post(url, data)
    assert refused.status_code == 200
    [inline] = [i for i in refused.context["inline_admin_formsets"] if i.formset.prefix == "contacts"]
    assert inline.formset.errors == [{"phone": [BAD]}]
    assert not Contact.objects.exists()
