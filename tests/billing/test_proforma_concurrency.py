"""On MariaDB, in proforma numbering: 8 payments of 8 proformas at once (threads, each its own transaction), with
2 more that roll back after paying, give the 8 paid invoices the legal numbers 1 to 8, each once, in the order
the payments committed (the paid times run with the numbers), and the rolled-back ones none. SQLite takes one
writer at a time, so it cannot show a race."""
import threading
from decimal import Decimal

import pytest
from django.db import connection, connections, transaction

from billing.models import Invoice, InvoiceItem, NumberSequence
from billing.numbering import INVOICE_SEQUENCE
from billing.services.invoices import Line, invoice_create
from billing.services.payments import payment_record
from portal.activity import Actor
from tests.factories import ClientFactory

pytestmark = pytest.mark.django_db(transaction=True)
SYSTEM = Actor.system("test")
PAYMENTS, ROLLED_BACK = 8, 2


@pytest.fixture(autouse=True)
def mariadb_only():
    if connection.vendor != "mysql":
        pytest.skip("Concurrent payments need row locks and concurrent writers: run on MariaDB "
                    "(DATABASE_URL=mysql://…); SQLite serialises writers.")


@pytest.fixture(autouse=True)
def proforma(settings):
    settings.INVOICE_NUMBERING = "proforma"
    settings.INVOICE_NUMBER_FORMAT = "INV-{seq:05d}"
    settings.PROFORMA_NUMBER_FORMAT = "PF-{seq:05d}"


class Abandoned(Exception):
    """Raised after a payment, inside its transaction, so that all of it (its legal number too) rolls back."""


def at_once(targets):
    barrier = threading.Barrier(len(targets))
    errors = []

    def run(target):
        try:
            barrier.wait()
            target()
        except Abandoned:
            pass
        except Exception as exc:  # noqa: BLE001 - surfaced below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(target,)) for target in targets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []


def pay(invoice, *, abandon=False):
    def run():
        with transaction.atomic():
            payment_record(invoice=invoice, amount="25.00", transaction_id=f"race-{invoice.pk}", actor=SYSTEM)
            if abandon:
                raise Abandoned
    return run


def test_eight_concurrent_payments_take_gapless_unique_legal_numbers_in_payment_order():
    invoices = [invoice_create(client=ClientFactory(apply_credit_to_invoices=False), actor=SYSTEM,
                               lines=[Line(InvoiceItem.Kind.ITEM, "Mail hosting", Decimal("25.00"))])
                for _ in range(PAYMENTS + ROLLED_BACK)]
    assert all(invoice.is_proforma for invoice in invoices)
    # The sequence's row comes from a migration; an earlier transactional test's flush emptied the table, and
    # concurrent first inserts of one row deadlock (billing/numbering.py), so it is put back as the migration did.
    NumberSequence.objects.get_or_create(name=INVOICE_SEQUENCE)
    at_once([pay(invoice, abandon=n >= PAYMENTS) for n, invoice in enumerate(invoices)])
    paid = list(Invoice.objects.filter(status=Invoice.Status.PAID).order_by("paid_at"))
    assert [invoice.number for invoice in paid] == [f"INV-{n:05d}" for n in range(1, PAYMENTS + 1)]
    assert {invoice.pk for invoice in paid} == {invoice.pk for invoice in invoices[:PAYMENTS]}
    left = Invoice.objects.filter(pk__in=[invoice.pk for invoice in invoices[PAYMENTS:]])
    assert [(invoice.status, invoice.number) for invoice in left] == [("unpaid", None)] * ROLLED_BACK
