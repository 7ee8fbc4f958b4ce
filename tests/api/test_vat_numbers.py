"""VAT numbers through the APIs: api.php's tax_id (as WHMCS) and REST's vat_number are checked as everywhere
(format and check digit refused with the reason), and invoices carry the level 2 rate (taxrate2)."""
from decimal import Decimal

import pytest

from billing.models import InvoiceItem, TaxRule
from billing.services.invoices import Line, invoice_create
from portal.activity import Actor
from portal.models import Client

pytestmark = pytest.mark.django_db


def test_whmcs_update_client_tax_id(whmcs, owner):
    refused = whmcs("UpdateClient", clientid=owner.pk, tax_id="DE136695977")
    assert refused["result"] == "error" and "fails its check digit" in refused["message"]
    assert whmcs("UpdateClient", clientid=owner.pk, tax_id="DE 136 695 976")["result"] == "success"
    assert Client.objects.get(pk=owner.pk).vat_number == "DE136695976"
    assert whmcs("GetClientsDetails", clientid=owner.pk)["client"]["tax_id"] == "DE136695976"


def test_rest_client_vat_number(rest, owner):
    refused = rest.patch(f"clients/{owner.pk}/", {"vat_number": "FR123"})
    assert refused.status_code == 400 and "wrong format" in refused.content.decode()
    answer = rest.patch(f"clients/{owner.pk}/", {"vat_number": "FR40303265045"})
    assert answer.status_code == 200 and answer.json()["vat_number"] == "FR40303265045"
    assert answer.json()["vat_check"] == "format"


def test_invoice_shapes_carry_both_levels(whmcs, owner):
    TaxRule.objects.create(country=owner.country, name="GST", rate=Decimal("5.000"))
    TaxRule.objects.create(country=owner.country, level=2, name="QST", rate=Decimal("9.975"), compound=True)
    invoice = invoice_create(client=owner, actor=Actor.system("test"), lines=[
        Line(InvoiceItem.Kind.ITEM, "Hosting", Decimal("100.00"))])
    shape = whmcs("GetInvoice", invoiceid=invoice.pk)
    assert (shape["taxrate"], shape["taxrate2"], shape["tax"], shape["total"]) == ("5.00", "9.98", "15.47", "115.47")


def test_whmcs_add_client_tax_id_and_language(whmcs):
    base = {"firstname": "Ada", "lastname": "Lovelace", "email": "ada@example.com", "country": "DE",
            "password2": "x" * 12}
    refused = whmcs("AddClient", **base, tax_id="DE136695977", language="german")
    assert refused["result"] == "error" and "fails its check digit" in refused["message"]
    assert not Client.objects.filter(email="ada@example.com").exists()
    added = whmcs("AddClient", **base, tax_id="136695976", language="german", notes="Met at a fair")
    client = Client.objects.get(pk=added["clientid"])
    assert (client.vat_number, client.language, client.notes) == ("DE136695976", "german", "Met at a fair")
    details = whmcs("GetClientsDetails", clientid=client.pk)["client"]
    assert (details["tax_id"], details["language"]) == ("DE136695976", "german")


def test_whmcs_update_client_language(whmcs, owner):
    assert whmcs("UpdateClient", clientid=owner.pk, language="french")["result"] == "success"
    assert Client.objects.get(pk=owner.pk).language == "french"
    assert whmcs("GetClientsDetails", clientid=owner.pk)["language"] == "french"
