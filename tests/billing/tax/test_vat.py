"""EU VAT numbers: refused with the reason (format, check digit, VIES "not valid") wherever they are entered; VIES
through its simulator; VIES unavailable → taxed as B2C with the reason on the invoice; the evidence on the
invoice and its page."""
from decimal import Decimal as D

import pytest
import requests
from django.core.exceptions import ValidationError
from django.urls import reverse

from billing.models import TaxTreatment
from portal.models import Client
from portal.services import client_update_profile
from portal.activity import Actor
from portal.vat import ViesClient, vat_number_check, vat_number_clean
from tests.billing.tax.conftest import breakdown, invoice_of
from tests.factories import ClientFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(("number", "reason"), [
    ("DE136695977", "fails its check digit"),
    ("DE13669597", "wrong format"),
    ("QQ136695976", "does not start with an EU country prefix"),
])
def test_bad_numbers_are_refused_with_the_reason(number, reason):
    with pytest.raises(ValidationError, match=reason):
        vat_number_clean(number)


def test_numbers_are_compacted_and_get_the_country_prefix():
    assert vat_number_clean("de 136 695 976") == "DE136695976"
    assert vat_number_clean("136695976", "DE") == "DE136695976"
    assert vat_number_clean("094259216", "GR") == "EL094259216"


def test_vies_through_the_simulator(vies):
    assert ViesClient().check("DE136695976").valid is True
    assert ViesClient().check("ATU13585627").valid is False
    vies.make_unavailable("AT")
    answer = ViesClient().check("ATU13585627")
    assert answer.valid is None and "MS_UNAVAILABLE" in answer.error
    vies.fail("status", status=503)
    assert ViesClient().check("DE136695976").valid is None
    with pytest.raises(ValidationError, match="VIES says the VAT number IT00743110157 is not valid"):
        vat_number_check("IT00743110157")
    assert vies.calls_to("check-vat-number") == 5


def test_unreachable_vies_is_unavailable(settings):
    settings.VIES_ENABLED, settings.VIES_URL, settings.VIES_TIMEOUT = True, "http://127.0.0.1:9", 1
    result = vat_number_check("DE136695976")
    assert result.check == "unavailable" and "could not be reached" in result.detail


def test_profile_form_refuses_a_bad_number_and_keeps_a_good_one(client, owner):
    client.force_login(owner.owner_user)
    fields = {name: getattr(owner, name) for name in ("first_name", "last_name", "email", "country", "company_name")}
    page = client.post(reverse("clientarea:profile"), {**fields, "vat_number": "DE136695977"})
    assert page.status_code == 200 and b"fails its check digit" in page.content
    assert Client.objects.get(pk=owner.pk).vat_number == ""
    client.post(reverse("clientarea:profile"), {**fields, "vat_number": "de136695976"})
    owner.refresh_from_db()
    assert (owner.vat_number, owner.vat_check) == ("DE136695976", "format") and owner.vat_checked_at


def test_vies_not_valid_is_refused_where_entered(vies, owner):
    with pytest.raises(ValidationError, match="VIES says"):
        client_update_profile(client=owner, actor=Actor.system("test"), changes={"vat_number": "ATU13585627"})
    assert Client.objects.get(pk=owner.pk).vat_number == ""


def test_staff_client_page_checks_the_number(client, staff_user, owner):
    client.force_login(staff_user)
    page = client.get(reverse("admin:portal_client_change", args=[owner.pk]))
    assert b"vat_number" in page.content


def test_reverse_charge_with_vies_valid_and_evidence_on_the_page(eu_seller, vies, client):
    fr = ClientFactory(country="FR")
    client_update_profile(client=fr, actor=Actor.system("test"), changes={"vat_number": "FR40303265045"})
    fr.refresh_from_db()
    assert fr.vat_check == "valid"
    invoice = invoice_of(fr, D("80.00"))
    assert (invoice.tax, invoice.total, invoice.tax_treatment) == (D("0.00"), D("80.00"), TaxTreatment.REVERSE_CHARGE)
    assert invoice.tax_evidence["vat_check"] == "valid" and invoice.tax_evidence["vat_checked_at"]
    client.force_login(fr.owner_user)
    page = client.get(reverse("clientarea:invoice", args=[invoice.pk])).content.decode()
    assert "Article 196 Directive 2006/112/EC" in page and "VAT number FR40303265045, check: valid" in page


def test_vies_unavailable_is_taxed_as_b2c_and_says_why(eu_seller, vies):
    vies.make_unavailable("FR")
    fr = ClientFactory(country="FR")
    client_update_profile(client=fr, actor=Actor.system("test"), changes={"vat_number": "FR40303265045"})
    fr.refresh_from_db()
    assert fr.vat_check == "unavailable"
    invoice = invoice_of(fr, D("80.00"))
    assert breakdown(invoice) == [("VAT", D("20.000"), D("80.00"), D("16.00"))]
    assert invoice.tax_treatment == TaxTreatment.VIES_UNAVAILABLE
    assert "VIES was unavailable" in invoice.tax_note and "taxed as a sale to a consumer" in invoice.tax_note
    vies.make_unavailable("FR", False)  # saving the profile again asks again
    client_update_profile(client=fr, actor=Actor.system("test"), changes={"vat_number": "FR40303265045"})
    fr.refresh_from_db()
    assert fr.vat_check == "valid"
    assert invoice_of(fr, D("80.00")).tax_treatment == TaxTreatment.REVERSE_CHARGE


def test_storefront_signup_refuses_a_bad_vat_number(client):
    page = client.post(reverse("storefront:signup"), {
        "first_name": "Ann", "last_name": "Lee", "email": "ann@example.fr", "address1": "1 rue", "city": "Paris",
        "postcode": "75001", "country": "FR", "vat_number": "FR40303265046", "password1": "a-Long-pass-phrase-9",
        "password2": "a-Long-pass-phrase-9", "accept_terms": "on",
    })
    assert page.status_code == 200 and b"fails its check digit" in page.content
    assert not Client.objects.filter(email="ann@example.fr").exists()


def test_rest_update_refuses_a_bad_vat_number(owner):
    with pytest.raises(ValidationError, match="wrong format"):
        client_update_profile(client=owner, actor=Actor.system("test"), changes={"vat_number": "FR123"})


def test_vies_simulator_inspection_api(vies):
    requests.post(vies.url + "/_simulator/seed", json={"numbers": {"ATU13585627": "Beispiel AT"}}, timeout=5)
    assert ViesClient().check("ATU13585627").valid is True
    assert "ATU13585627" in requests.get(vies.url + "/_simulator/state", timeout=5).json()["numbers"]
    requests.post(vies.url + "/_simulator/reset", json={}, timeout=5)
    assert ViesClient().check("ATU13585627").valid is False


def test_a_client_outside_the_eu_may_give_another_tax_id_which_is_kept_as_given_and_never_checked(settings):
    settings.VIES_ENABLED = True  # nothing is asked: a VIES call here would fail the test (no simulator)
    assert vat_number_clean(" 12-3456789 ", "US") == "12-3456789"
    result = vat_number_check("US123", "US", client=None)
    assert (result.number, result.check) == ("US123", "foreign")
    assert vat_number_clean("DE136695976", "US") == "DE136695976"  # an EU number is an EU number anywhere
    with pytest.raises(ValidationError, match="wrong format"):
        vat_number_clean("DE13669597", "US")
    with pytest.raises(ValidationError, match="does not start with an EU country prefix"):
        vat_number_clean("US123", "DE")  # a client in the EU gives an EU VAT number
    with pytest.raises(ValidationError, match="longer than 20 characters"):
        vat_number_clean("X" * 21, "US")
