"""The client area's Contacts page: a client lists, adds, edits and deletes its own contacts (audited, in a fixed
number of queries); the staff area edits them inline on the client, through the same audited service."""
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from portal.models import ActivityLog, Contact

pytestmark = pytest.mark.django_db
FORM = {"first_name": "Ann", "last_name": "Ledger", "email": "ann@example.com", "phone": "", "company_name": "",
        "address1": "", "address2": "", "city": "", "state": "", "postcode": "", "country": "ca",
        "invoice_emails": "on"}


def test_a_client_adds_edits_and_deletes_a_contact(client, owner):
    client.force_login(owner.owner_user)
    response = client.post(reverse("clientarea:contact_add"), FORM)
    assert response.status_code == 302 and response["Location"] == reverse("clientarea:contacts")
    contact = Contact.objects.get()
    assert (contact.client, contact.country, contact.invoice_emails, contact.product_emails) == (owner, "CA", True, False)
    page = client.get(reverse("clientarea:contacts"))
    assert b"ann@example.com" in page.content and b"Invoices" in page.content
    client.post(reverse("clientarea:contact_edit", args=[contact.pk]), {**FORM, "city": "Ottawa", "product_emails": "on"})
    contact.refresh_from_db()
    assert (contact.city, contact.product_emails) == ("Ottawa", True)
    update = ActivityLog.objects.get(action="contact.update")
    assert update.actor_type == "client" and set(update.data["changes"]) == {"city", "product_emails"}
    assert client.get(reverse("clientarea:contact_delete", args=[contact.pk])).status_code == 200
    assert Contact.objects.exists()  # a GET only asks
    client.post(reverse("clientarea:contact_delete", args=[contact.pk]))
    assert not Contact.objects.exists()
    assert list(ActivityLog.objects.filter(action__startswith="contact.").order_by("pk").values_list("action", flat=True)) == [
        "contact.create", "contact.update", "contact.delete"]


def test_a_duplicate_or_bad_contact_shows_the_error_and_saves_nothing(client, owner):
    Contact.objects.create(client=owner, first_name="Ann", email="ann@example.com")
    client.force_login(owner.owner_user)
    duplicate = client.post(reverse("clientarea:contact_add"), {**FORM, "email": "ANN@example.com"})
    assert duplicate.status_code == 200 and b"already has a contact with that e-mail" in duplicate.content
    bad = client.post(reverse("clientarea:contact_add"), {**FORM, "email": "not-an-address", "country": "Canada"})
    assert bad.status_code == 200 and Contact.objects.count() == 1
    assert not ActivityLog.objects.filter(action__startswith="contact.").exists()


def test_another_clients_contact_is_not_found(client, owner, other_client):
    theirs = Contact.objects.create(client=other_client, first_name="T", email="t@example.com")
    client.force_login(owner.owner_user)
    assert client.post(reverse("clientarea:contact_edit", args=[theirs.pk]), FORM).status_code == 404
    assert client.post(reverse("clientarea:contact_delete", args=[theirs.pk])).status_code == 404
    assert b"t@example.com" not in client.get(reverse("clientarea:contacts")).content
    theirs.refresh_from_db()
    assert theirs.first_name == "T"


def test_the_contact_list_takes_a_fixed_number_of_queries(client, owner):
    client.force_login(owner.owner_user)

    def queries():
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(reverse("clientarea:contacts")).status_code == 200
        return len(ctx)

    Contact.objects.create(client=owner, first_name="A", email="a@example.com")
    few = queries()
    for n in range(10):
        Contact.objects.create(client=owner, first_name=f"N{n}", email=f"n{n}@example.com")
    assert queries() == few


def test_staff_edit_contacts_inline_through_the_audited_service(client, staff_user, owner):
    kept = Contact.objects.create(client=owner, first_name="Kept", email="kept@example.com")
    dropped = Contact.objects.create(client=owner, first_name="Dropped", email="dropped@example.com")
    client.force_login(staff_user)
    url = reverse("admin:portal_client_change", args=[owner.pk])
    page = client.get(url)
    assert page.status_code == 200
    data = _admin_form_data(page)
    prefix = "contacts"
    rows = {int(data[f"{prefix}-{i}-id"]): i for i in range(2)}
    data[f"{prefix}-{rows[kept.pk]}-invoice_emails"] = "on"
    data[f"{prefix}-{rows[dropped.pk]}-DELETE"] = "on"
    data |= {f"{prefix}-TOTAL_FORMS": "3", f"{prefix}-2-first_name": "New", f"{prefix}-2-email": "new@example.com",
             f"{prefix}-2-client": str(owner.pk)}
    response = client.post(url, data)
    assert response.status_code == 302, response.context["errors"] if response.context else response
    assert sorted(Contact.objects.values_list("first_name", "invoice_emails")) == [("Kept", True), ("New", False)]
    assert sorted(ActivityLog.objects.filter(action__startswith="contact.").values_list("action", "actor_type")) == [
        ("contact.create", "staff"), ("contact.delete", "staff"), ("contact.update", "staff")]


def test_staff_adding_a_contact_with_an_address_the_client_has_get_a_form_error(client, staff_user, owner):
    Contact.objects.create(client=owner, first_name="Kept", email="kept@example.com")
    client.force_login(staff_user)
    url = reverse("admin:portal_client_change", args=[owner.pk])
    data = _admin_form_data(client.get(url))
    data |= {"contacts-TOTAL_FORMS": "2", "contacts-1-first_name": "Twin", "contacts-1-email": "KEPT@example.com",
             "contacts-1-client": str(owner.pk)}
    response = client.post(url, data)
    assert response.status_code == 200
    assert b"already has a contact with that e-mail" in response.content
    assert list(Contact.objects.values_list("first_name", flat=True)) == ["Kept"]


def _admin_form_data(page):
    """The values of the admin change form as rendered (the fields a browser would post)."""
    data = {}
    form = page.context["adminform"].form
    for name, field in form.fields.items():
        value = form.initial.get(name, field.initial)
        if value is None or value is False:
            continue
        data[name] = "on" if value is True else value
    for formset in page.context["inline_admin_formsets"]:
        fs = formset.formset
        for key, value in fs.management_form.initial.items():
            data[f"{fs.prefix}-{key}"] = value
        for form in fs.forms:
            for name, field in form.fields.items():
                value = form.initial.get(name, field.initial)
                if name == "id" and form.instance.pk:
                    value = form.instance.pk
                if value is None or value is False or value == "":
                    continue
                data[form.add_prefix(name)] = "on" if value is True else getattr(value, "pk", value)
    return data
