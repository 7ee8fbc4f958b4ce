"""The invoice's RF payment reference (ISO 11649) and the seller's bank details on the invoice page and PDF."""
import os
import subprocess
import sys
from decimal import Decimal

import pytest
from django.conf import settings as django_settings
from django.urls import reverse
from reportlab import rl_config
from stdnum import iso11649

from billing.payment_reference import (
    bank_transfer_instructions,
    invoice_id_of,
    invoice_ids_in,
    invoice_reference,
    invoice_reference_display,
    references_in,
    rf_reference,
)
from billing.pdf import invoice_pdf
from tests.factories import InvoiceFactory

BANK = {"BANK_IBAN": "DE89370400440532013000", "BANK_BIC": "COBADEFFXXX", "BANK_ACCOUNT_NAME": "Example Hosting GmbH",
        "BANK_NAME": "Commerzbank"}


def test_the_reference_is_iso_11649_valid_and_reads_back_to_the_invoice_id():
    assert rf_reference("539007547034") == "RF18539007547034"  # the standard's own example
    for pk in (1, 12, 99999, 123456789012):
        reference = rf_reference(pk)
        assert iso11649.is_valid(reference) and reference[4:] == str(pk)
        assert invoice_id_of(reference) == pk
        assert invoice_id_of(reference.lower()) == pk
        assert invoice_id_of(iso11649.format(reference)) == pk


def test_a_mistyped_reference_names_no_invoice():
    good = rf_reference(4711)
    assert invoice_id_of(good[:-1] + ("2" if good[-1] != "2" else "3")) is None
    assert invoice_id_of("RF18539007547035") is None
    assert invoice_id_of("") is None
    assert invoice_id_of("RF18ABC") is None  # valid or not, a body with letters is not one of ours


@pytest.mark.parametrize(("text", "found"), [
    ("Payment RF18 5390 0754 7034 inv 12", ["RF18539007547034"]),
    ("payment rf18 5390 0754 7034 inv 12", ["RF18539007547034"]),
    ("RF18539007547034", ["RF18539007547034"]),
    ("ref:RF18539007547034inv", ["RF18539007547034"]),
    ("RF18 5390 0754 7034, thanks", ["RF18539007547034"]),
    ("two: RF6812 and RF18 5390 0754 7034", ["RF6812", "RF18539007547034"]),
    ("RF00 1234 no valid check digits", []),
    ("INTERFACE RF", []),
    ("", []),
])
def test_references_are_read_out_of_free_text(text, found):
    assert references_in(text) == found


@pytest.mark.django_db
def test_the_invoice_reference_is_deterministic(owner):
    invoice = InvoiceFactory(client=owner)
    assert invoice_reference(invoice) == rf_reference(invoice.pk) == invoice_reference(invoice)
    assert invoice_reference_display(invoice).startswith("RF") and " " in invoice_reference_display(invoice)


@pytest.mark.django_db
def test_no_bank_details_without_an_iban(owner, settings):
    settings.BANK_IBAN = ""
    assert bank_transfer_instructions(InvoiceFactory(client=owner)) is None


@pytest.mark.django_db
def test_the_invoice_page_shows_bank_details_and_reference_while_unpaid(client, owner, settings):
    for name, value in BANK.items():
        setattr(settings, name, value)
    unpaid = InvoiceFactory(client=owner, total=Decimal("119.00"), currency="EUR")
    paid = InvoiceFactory(client=owner, status="paid", amount_paid=Decimal("10.00"))
    client.force_login(owner.owner_user)
    page = client.get(reverse("clientarea:invoice", args=[unpaid.pk])).content.decode()
    assert "Pay by bank transfer" in page
    assert "DE89 3704 0044 0532 0130 00" in page and "COBADEFFXXX" in page and "Example Hosting GmbH" in page
    assert invoice_reference_display(unpaid) in page and "119.00 EUR" in page
    assert "Pay by bank transfer" not in client.get(reverse("clientarea:invoice", args=[paid.pk])).content.decode()
    pdf = client.get(reverse("clientarea:invoice_pdf", args=[unpaid.pk]))
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")


@pytest.mark.django_db
def test_the_pdf_carries_the_reference(owner, settings):
    for name, value in BANK.items():
        setattr(settings, name, value)
    invoice = InvoiceFactory(client=owner)
    compression, rl_config.pageCompression = rl_config.pageCompression, 0
    try:
        content = invoice_pdf(invoice)
    finally:
        rl_config.pageCompression = compression
    assert invoice_reference_display(invoice).encode() in content and b"DE89 3704 0044 0532 0130 00" in content


@pytest.mark.parametrize(("name", "value", "message"), [
    ("BANK_IBAN", "DE89370400440532013001", "BANK_IBAN 'DE89370400440532013001' is not a valid IBAN"),
    ("BANK_BIC", "NOT A BIC", "BANK_BIC 'NOTABIC' is not a valid BIC"),
])
def test_a_bad_iban_or_bic_stops_the_start(name, value, message):
    env = {**os.environ, "BANK_IBAN": BANK["BANK_IBAN"], name: value, "DJANGO_SETTINGS_MODULE": "config.settings"}
    run = subprocess.run([sys.executable, "-c", "import config.settings"], env=env, capture_output=True, text=True,
                         cwd=django_settings.BASE_DIR, timeout=60)
    assert run.returncode != 0 and message in run.stderr


def test_a_reading_that_passes_its_check_digits_by_chance_does_not_hide_the_invoice():
    # "rf97 72 inv 3" reads as RF9772INV, valid by chance (not ours: it has letters), and as RF9772: invoice 72.
    assert references_in("payment rf97 72 inv 3") == ["RF9772INV"]
    assert invoice_ids_in("payment rf97 72 inv 3") == [72]
    assert invoice_ids_in("RF18 5390 0754 7034 and RF6812") == [539007547034, 12]
    assert invoice_ids_in("RF18 ABCD") == []
