"""The WHMCS API checks client and contact phone numbers as the forms do (portal.phones) and stores them in E.164."""
import pytest

from portal.models import Client, Contact
from tests.portal.test_phones import BAD

pytestmark = pytest.mark.django_db


def test_the_whmcs_api_refuses_a_bad_phone_and_stores_a_good_one_in_e164(whmcs, owner):
    refused = whmcs("UpdateClient", clientid=owner.pk, phonenumber="not a phone")
    assert refused["result"] == "error" and BAD.replace(" in CA", f" in {owner.country}") in refused["message"]
    added = whmcs("AddClient", firstname="Bo", lastname="Li", email="bo@example.com", country="GB",
                  phonenumber="020 7946 0958")
    assert Client.objects.get(pk=added["clientid"]).phone == "+442079460958"
    contact = whmcs("AddContact", clientid=owner.pk, firstname="Ann", email="ann@example.com", country="CA",
                    phonenumber="12")
    assert contact["result"] == "error" and BAD in contact["message"]
    assert not Contact.objects.exists()
