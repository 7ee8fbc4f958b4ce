"""Closing a client: in one transaction the client is Closed, its unpaid invoices cancelled (money received goes
to credit), its services get an immediate cancellation request and open billable items are dropped; then each
service is cancelled through the lifecycle, on its own, a module failure being left to the daily run."""
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from billing.models import BillableItem, CreditLedgerEntry, Invoice, Service
from billing.services.cancellation import cancellations_process
from billing.services.closing import client_close
from billing.services.payments import payment_record
from portal.models import ActivityLog, Client
from provisioning import lifecycle
from provisioning.modules.fake import FakeModule
from tests.factories import ClientFactory, InvoiceFactory, ProductFactory, ServiceFactory

pytestmark = pytest.mark.django_db
S = Service.Status


def live_service(client, system, **kwargs):
    service = ServiceFactory(client=client, status=S.PENDING, product=ProductFactory(module="fake"), **kwargs)
    lifecycle.service_create(service=service, actor=system)
    return service


def test_closing_cancels_services_invoices_and_items_and_audits(system, staff_actor):
    client, bystander = ClientFactory(), ClientFactory()
    active = live_service(client, system)
    suspended = live_service(client, system)
    lifecycle.service_suspend(service=suspended, actor=system, reason="manual")
    pending = ServiceFactory(client=client, status=S.PENDING, product=ProductFactory(module="fake"))
    ending = live_service(client, system, cancellation_type=Service.CancellationType.END_OF_PERIOD)
    terminated = ServiceFactory(client=client, status=S.TERMINATED)
    unpaid, part_paid = InvoiceFactory(client=client), InvoiceFactory(client=client)
    payment_record(invoice=part_paid, amount="4.00", transaction_id="p1", actor=system)
    paid = InvoiceFactory(client=client, status=Invoice.Status.PAID)
    open_item = BillableItem.objects.create(client=client, description="x", amount=Decimal("1.00"))
    other_service, other_invoice = live_service(bystander, system), InvoiceFactory(client=bystander)
    FakeModule.calls.clear()

    result = client_close(client=client, actor=staff_actor, reason="asked to leave")

    client.refresh_from_db()
    assert client.status == Client.Status.CLOSED
    assert sorted(i.pk for i in result.invoices_cancelled) == sorted([unpaid.pk, part_paid.pk])
    assert set(Invoice.objects.filter(client=client).values_list("pk", "status")) == {
        (unpaid.pk, "cancelled"), (part_paid.pk, "cancelled"), (paid.pk, "paid")}
    assert client.credit_balance == Decimal("4.00")
    assert CreditLedgerEntry.objects.get(client=client, kind="refund").invoice_id == part_paid.pk
    assert sorted(s.pk for s in result.services_cancelled) == sorted([active.pk, suspended.pk, pending.pk, ending.pk])
    assert result.services_failed == []
    statuses = dict(Service.objects.filter(client=client).values_list("pk", "status"))
    assert statuses == {active.pk: S.CANCELLED, suspended.pk: S.CANCELLED, pending.pk: S.CANCELLED,
                        ending.pk: S.CANCELLED, terminated.pk: S.TERMINATED}
    # Live services were removed by their module; the pending one had nothing to remove.
    assert sorted(FakeModule.calls) == sorted([("terminate", active.domain), ("terminate", suspended.domain),
                                              ("terminate", ending.domain)])
    open_item.refresh_from_db()
    assert open_item.awaiting_invoice is False
    entry = ActivityLog.objects.get(action="client.close")
    assert entry.client == client and entry.actor_label == staff_actor.label
    assert "asked to leave" in entry.message and entry.data["billable_items_dropped"] == 1
    assert ActivityLog.objects.filter(action="invoice.cancel", client=client).count() == 2
    assert ActivityLog.objects.filter(action="service.cancel", client=client).count() == 4
    # Nothing of another client changed.
    other_service.refresh_from_db()
    other_invoice.refresh_from_db()
    assert (other_service.status, other_invoice.status, Client.objects.get(pk=bystander.pk).status) == (
        S.ACTIVE, "unpaid", "active")


def test_a_module_failure_leaves_the_request_for_the_daily_run(system, staff_actor):
    client = ClientFactory()
    stuck, fine = live_service(client, system), live_service(client, system)
    FakeModule.fail_next("terminate", "Server unreachable")
    result = client_close(client=client, actor=staff_actor)
    assert [(s.pk, m) for s, m in result.services_failed] == [(stuck.pk, "Server unreachable")]
    assert [s.pk for s in result.services_cancelled] == [fine.pk]
    stuck.refresh_from_db()
    assert (stuck.status, stuck.cancellation_type) == (S.ACTIVE, "immediate")
    assert Client.objects.get(pk=client.pk).status == Client.Status.CLOSED
    assert [s.pk for s in cancellations_process(date=date(2026, 11, 21), actor=system).cancelled] == [stuck.pk]


def test_closing_again_retries_and_changes_nothing_else(system, staff_actor):
    client = ClientFactory()
    stuck = live_service(client, system)
    FakeModule.fail_next("terminate", "Timeout")
    client_close(client=client, actor=staff_actor)
    again = client_close(client=client, actor=staff_actor)
    assert [s.pk for s in again.services_cancelled] == [stuck.pk] and again.invoices_cancelled == []
    assert ActivityLog.objects.filter(action="service.cancellation_request").count() == 1
    assert ActivityLog.objects.get(action="client.close", data__from="closed").client_id == client.pk


def test_closing_stamps_updated_at_on_what_it_changes_in_bulk(system, staff_actor):
    client = ClientFactory()
    invoice, item = InvoiceFactory(client=client), BillableItem.objects.create(client=client, description="x",
                                                                               amount=Decimal("1.00"))
    earlier = timezone.now() - timedelta(days=3)
    for model, pk in ((Invoice, invoice.pk), (BillableItem, item.pk)):
        model.objects.filter(pk=pk).update(updated_at=earlier)
    before = timezone.now()
    client_close(client=client, actor=staff_actor)
    stamps = [Invoice.objects.get(pk=invoice.pk).updated_at, BillableItem.objects.get(pk=item.pk).updated_at]
    assert all(stamp >= before for stamp in stamps), stamps
