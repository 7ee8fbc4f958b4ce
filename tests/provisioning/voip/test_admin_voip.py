"""The VoIP section of the staff Service page: structured fields per kind, "Paste legacy line" filling them on
save, errors on the field, DIDs normalised with the product's country, the change logged."""
import pytest
from django.forms import MultiWidget
from django.urls import reverse

from portal.models import ActivityLog
from tests.factories import ServiceFactory
from tests.provisioning.modules.voip_fixtures import voip_service

pytestmark = pytest.mark.django_db


def change_url(service):
    return reverse("admin:billing_service_change", args=[service.pk])


def form_data(client, service, **changes):
    """The change form's current values as a browser would post them, with `changes` applied."""
    response = client.get(change_url(service))
    assert response.status_code == 200
    form = response.context["adminform"].form
    data = {}
    for name, field in form.fields.items():
        value = form[name].value()
        widget = field.widget
        if isinstance(widget, MultiWidget):
            for index, part in enumerate(widget.decompress(value)):
                data[f"{name}_{index}"] = "" if part is None else str(part)
        elif isinstance(value, bool):
            if value:
                data[name] = "on"
        elif isinstance(value, (list, tuple)):
            data[name] = [str(v) for v in value]
        elif value is not None:
            data[name] = str(value)
    for inline in response.context["inline_admin_formsets"]:
        management = inline.formset.management_form
        for name in management.fields:
            data[management.add_prefix(name)] = management[name].value()
    data.update(changes)
    return data


def test_a_vodia_service_page_shows_the_voip_section_with_its_fields(admin_client, vodia_server):
    service = voip_service("vodia", vodia_server, {"tenant": "t.example", "dids": ["15484815577"],
                                                   "search_string": "8300"})
    page = admin_client.get(change_url(service)).content.decode()
    assert "VoIP service (Vodia)" in page and "Paste legacy line" in page
    assert "Inbound search string" in page and "+15484815577" in page
    assert "Peer ID" not in page and "Extensions" not in page


def test_other_services_get_no_voip_section(admin_client):
    page = admin_client.get(change_url(ServiceFactory())).content.decode()
    assert "Paste legacy line" not in page


def test_a_pasted_legacy_line_fills_the_fields_on_save(admin_client, vodia_server, admin_user):
    service = voip_service("vodia", vodia_server, {"keep": "me"}, default_region="CA")
    data = form_data(admin_client, service,
                     voip_legacy_line="rucken.wat1.ictvoip.ca | 5484815577 | 5197830020 | 8300")
    response = admin_client.post(change_url(service), data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    service.refresh_from_db()
    assert service.module_data == {"keep": "me", "tenant": "rucken.wat1.ictvoip.ca",
                                   "dids": ["15484815577", "15197830020"], "search_string": "8300"}
    entry = ActivityLog.objects.get(action="service.voip_identifiers")
    assert entry.actor_user == admin_user and entry.data["after"]["tenant"] == "rucken.wat1.ictvoip.ca"


def test_structured_fields_are_normalised_and_saved(admin_client, lesnet_server):
    service = voip_service("lesnet", lesnet_server, {}, default_region="CA")
    data = form_data(admin_client, service, voip_peer_id="D4E3CD2BFC791", voip_dids="(204) 666-4021\n204 666 4022",
                     voip_cdr_url="https://portal.les.net/cdr/11330_0000.txt")
    assert admin_client.post(change_url(service), data).status_code == 302
    service.refresh_from_db()
    assert service.module_data == {"peer_id": "D4E3CD2BFC791", "dids": ["12046664021", "12046664022"],
                                   "cdr_url": "https://portal.les.net/cdr/11330_0000.txt"}
    # saving the page again unchanged keeps the values and logs nothing new
    assert admin_client.post(change_url(service), form_data(admin_client, service)).status_code == 302
    assert ActivityLog.objects.filter(action="service.voip_identifiers").count() == 1


def test_errors_are_shown_on_their_field_and_nothing_is_saved(admin_client, fpbx_server):
    service = voip_service("fusionpbx", fpbx_server, {"tenant": "a.example"})
    response = admin_client.post(change_url(service), form_data(admin_client, service,
                                                                voip_legacy_line="a.example || 101"))
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert "part 2 is empty" in errors["voip_legacy_line"][0]
    response = admin_client.post(change_url(service), form_data(admin_client, service, voip_dids="555",
                                                                voip_extensions="101, 1234567"))
    errors = response.context["adminform"].form.errors
    assert "extension 555 is not a DID" in errors["voip_dids"][0]
    assert "'1234567' is not an extension" in errors["voip_extensions"][0]
    service.refresh_from_db()
    assert service.module_data == {"tenant": "a.example"}


def test_invalid_product_number_settings_are_reported_not_a_500(admin_client, lesnet_server):
    from billing.models import Product

    service = voip_service("lesnet", lesnet_server, {})
    Product.objects.filter(pk=service.product_id).update(module_options={"default_region": "ZZ"})
    response = admin_client.post(change_url(service), form_data(admin_client, service, voip_peer_id="P1"))
    assert response.status_code == 200
    assert "module options are invalid" in response.context["adminform"].form.errors["voip_dids"][0]
