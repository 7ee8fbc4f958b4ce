"""Seed 001 "Invoice Handling" on termination: a single-line invoice becomes Cancelled; from a multi-line invoice
the terminated service's line moves to a new Cancelled invoice without a number, and the original keeps its
number with recomputed totals."""
from datetime import timedelta
from decimal import Decimal

import pytest

from billing.automation.engine import run_automation
from billing.models import Invoice
from portal.models import ActivityLog
from tests.billing.automation.conftest import RUN, S, overdue_service, service_line, unpaid_invoice

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def termination_on(automation):
    automation(termination_enabled=True, terminate_days=30)


def test_an_invoice_whose_only_line_is_the_terminated_service_is_cancelled():
    service = overdue_service(days=30, status=S.SUSPENDED)
    invoice = Invoice.objects.get(items__service=service)
    run_automation(date=RUN)
    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.CANCELLED and invoice.cancelled_at is not None
    assert Invoice.objects.count() == 1  # no new invoice for a single line


def test_the_terminated_services_line_moves_to_a_new_cancelled_invoice():
    service = overdue_service(days=30, status=S.SUSPENDED, invoice=False)
    other = overdue_service(days=0, client=service.client, invoice=False)  # not due: stays on the invoice
    invoice = unpaid_invoice(service, due=RUN - timedelta(days=30), amount="10.00")
    kept_line = service_line(invoice, other, amount="25.50")
    Invoice.objects.filter(pk=invoice.pk).update(tax_rate=Decimal("13.000"), subtotal=Decimal("35.50"),
                                                  tax=Decimal("4.62"), total=Decimal("40.12"))
    number = invoice.number

    run_automation(date=RUN)

    service.refresh_from_db()
    invoice.refresh_from_db()
    assert service.status == S.TERMINATED
    assert (invoice.number, invoice.status) == (number, Invoice.Status.UNPAID)
    assert [i.pk for i in invoice.items.all()] == [kept_line.pk]
    assert (invoice.subtotal, invoice.tax, invoice.total) == (Decimal("25.50"), Decimal("3.32"), Decimal("28.82"))
    split = Invoice.objects.exclude(pk=invoice.pk).get()
    assert (split.status, split.number, split.client_id) == (Invoice.Status.CANCELLED, None, service.client_id)
    assert [i.service_id for i in split.items.all()] == [service.pk]
    assert (split.subtotal, split.tax, split.total) == (Decimal("10.00"), Decimal("1.30"), Decimal("11.30"))
    assert ActivityLog.objects.filter(action="invoice.lines_cancelled", target_id=str(invoice.pk)).exists()


def test_paid_invoices_are_not_touched():
    service = overdue_service(days=30, status=S.SUSPENDED)
    paid = unpaid_invoice(service, due=RUN - timedelta(days=60), status=Invoice.Status.PAID)
    run_automation(date=RUN)
    paid.refresh_from_db()
    assert paid.status == Invoice.Status.PAID and paid.items.count() == 1


def test_a_failed_termination_leaves_the_invoice_alone():
    from provisioning.modules.fake import FakeModule

    service = overdue_service(days=30, status=S.SUSPENDED)
    FakeModule.fail_next("terminate")
    run_automation(date=RUN)
    assert Invoice.objects.get(items__service=service).status == Invoice.Status.UNPAID
