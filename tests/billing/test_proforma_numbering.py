"""Proforma numbering (INVOICE_NUMBERING=proforma): an unpaid invoice carries a proforma number, and the legal
number of the gap-free sequence is given when it is paid, by every path that pays one (a payment, a batch of
payments, credit, an invoice issued with nothing to pay). Cancelled proformas leave no gap in the legal numbers.
The concurrency half (8 payments at once, on MariaDB) is in test_proforma_concurrency.py."""
import os
import subprocess
import sys
from decimal import Decimal

import pytest
from django.conf import settings as django_settings
from django.utils import timezone

from billing.models import CreditLedgerEntry, Invoice, InvoiceItem, NumberSequence
from billing.services.invoices import Line, invoice_cancel, invoice_create
from billing.services.payment_batch import PaymentRequest, payments_record_batch
from billing.services.payments import invoice_pay_from_credit, payment_record
from portal.activity import Actor
from portal.models import ActivityLog, Client
from tests.api.conftest import Rest, Whmcs, make_key
from tests.factories import ClientFactory

SYSTEM = Actor.system("test")


@pytest.fixture(autouse=True)
def proforma(settings):
    settings.INVOICE_NUMBERING = "proforma"
    settings.INVOICE_NUMBER_FORMAT = "INV-{seq:05d}"
    settings.PROFORMA_NUMBER_FORMAT = "PF-{seq:05d}"


def issue(client, amount="25.00"):
    return invoice_create(client=client, actor=SYSTEM,
                          lines=[Line(InvoiceItem.Kind.ITEM, "Mail hosting", Decimal(amount))])


def legal_numbers():
    return list(Invoice.objects.exclude(number=None).order_by("number").values_list("number", flat=True))


@pytest.mark.django_db
def test_an_unpaid_invoice_is_a_proforma_and_takes_its_legal_number_when_paid():
    client = ClientFactory(apply_credit_to_invoices=False)
    first, second = issue(client), issue(client)
    assert (first.number, first.proforma_number, str(first)) == (None, "PF-00001", "PF-00001")
    assert second.proforma_number == "PF-00002" and first.is_proforma
    payment_record(invoice=second, amount="10.00", transaction_id="t-part", actor=SYSTEM)
    second.refresh_from_db()
    assert second.number is None  # partly paid: still a proforma
    payment_record(invoice=second, amount="15.00", transaction_id="t-rest", actor=SYSTEM)
    second.refresh_from_db()
    assert (second.status, second.number, second.proforma_number) == ("paid", "INV-00001", "PF-00002")
    assert second.date == timezone.localdate() and not second.is_proforma
    entry = ActivityLog.objects.get(action="invoice.numbered")
    assert entry.data == {"number": "INV-00001", "proforma_number": "PF-00002"}


@pytest.mark.django_db
def test_a_cancelled_proforma_leaves_no_gap_in_the_legal_numbers():
    client = ClientFactory(apply_credit_to_invoices=False)
    cancelled, paid_later, paid_first = issue(client), issue(client), issue(client)
    invoice_cancel(invoice=cancelled, actor=SYSTEM)
    payment_record(invoice=paid_first, amount="25.00", transaction_id="a", actor=SYSTEM)
    payment_record(invoice=paid_later, amount="25.00", transaction_id="b", actor=SYSTEM)
    numbers = dict(Invoice.objects.values_list("pk", "number"))
    assert numbers == {cancelled.pk: None, paid_first.pk: "INV-00001", paid_later.pk: "INV-00002"}
    assert NumberSequence.objects.get(name="invoice").next_value == 3


@pytest.mark.django_db
def test_credit_a_batch_and_an_invoice_with_nothing_to_pay_each_give_the_legal_number():
    client = ClientFactory(apply_credit_to_invoices=True)
    by_credit, batch_a, batch_b = issue(client), issue(client), issue(client)
    CreditLedgerEntry.objects.create(client=client, kind="topup", amount=Decimal("100"), description="Top-up")
    Client.objects.filter(pk=client.pk).update(credit_balance=Decimal("100"))
    invoice_pay_from_credit(invoice=by_credit, actor=SYSTEM)
    results = payments_record_batch(requests=[PaymentRequest(batch_b.pk, Decimal("25.00"), "s-2"),
                                              PaymentRequest(batch_a.pk, Decimal("25.00"), "s-1")],
                                     gateway="bank", actor=SYSTEM)
    assert all(result.created for result in results)
    covered = issue(client, "30.00")  # the client's remaining credit (75) pays it when it is issued
    assert (covered.status, covered.number, covered.proforma_number) == ("paid", "INV-00004", "PF-00004")
    numbers = dict(Invoice.objects.values_list("pk", "number"))
    # a batch numbers its invoices in id order
    assert [numbers[i.pk] for i in (by_credit, batch_a, batch_b)] == ["INV-00001", "INV-00002", "INV-00003"]


@pytest.mark.django_db
def test_sequential_numbering_is_unchanged(settings):
    settings.INVOICE_NUMBERING = "sequential"
    invoice = issue(ClientFactory())
    assert (invoice.number, invoice.proforma_number) == ("INV-00001", None)
    payment_record(invoice=invoice, amount="25.00", transaction_id="x", actor=SYSTEM)
    invoice.refresh_from_db()
    assert invoice.number == "INV-00001" and not ActivityLog.objects.filter(action="invoice.numbered").exists()


@pytest.mark.django_db
def test_the_apis_show_the_legal_number_once_paid_and_the_proforma_number_meanwhile(client):
    customer = ClientFactory(apply_credit_to_invoices=False)
    invoice = issue(customer)
    key = make_key(name="numbers")
    whmcs, rest = Whmcs(client, key), Rest(client, key)
    assert whmcs("GetInvoice", invoiceid=invoice.pk)["invoicenum"] == ""  # as WHMCS leaves a proforma's
    assert rest.get(f"invoices/{invoice.pk}/").json()["proforma_number"] == "PF-00001"
    whmcs("AddInvoicePayment", invoiceid=invoice.pk, transid="w-1", gateway="bank")
    assert whmcs("GetInvoice", invoiceid=invoice.pk)["invoicenum"] == "INV-00001"
    row = rest.get(f"invoices/{invoice.pk}/").json()
    assert (row["number"], row["proforma_number"]) == ("INV-00001", "PF-00001")


def test_a_numbering_mode_other_than_the_two_stops_the_start():
    env = {**os.environ, "INVOICE_NUMBERING": "paid-only", "DJANGO_SETTINGS_MODULE": "config.settings"}
    run = subprocess.run([sys.executable, "-c", "import config.settings"], env=env, capture_output=True, text=True,
                         cwd=django_settings.BASE_DIR, timeout=60)
    assert run.returncode != 0 and "INVOICE_NUMBERING is 'sequential' or 'proforma'" in run.stderr
