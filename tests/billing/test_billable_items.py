"""Billable items: the recurring invoice generator bills them by their invoice action, on the client's one
invoice of the run, once per billing, in a fixed number of queries; recurring ones come back on their next
due date until they have been invoiced recur_for times; staff can invoice any open item at once."""
from datetime import date
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from billing.models import BillableItem, Invoice, InvoiceItem, Service
from billing.services.billable import billable_item_create, billable_items_invoice
from billing.services.generation import generate_invoices
from portal.models import ActivityLog
from tests.factories import ClientFactory, ServiceFactory

pytestmark = pytest.mark.django_db
RUN = date(2026, 11, 20)  # the default window bills what is due up to 2026-12-04
IA = BillableItem.InvoiceAction


def item(client=None, action=IA.DUE_DATE, due=date(2026, 12, 1), amount="20.00", **kwargs):
    return BillableItem.objects.create(
        client=client or ClientFactory(), description=kwargs.pop("description", "Consulting"), amount=Decimal(amount),
        invoice_action=action, due_date=due, **kwargs,
    )


def due_service(client, due=date(2026, 12, 1)):
    return ServiceFactory(client=client, next_due_date=due, next_invoice_date=due, registration_date=due.replace(year=2025))


def test_items_are_billed_by_their_invoice_action():
    alice, bob, carol = ClientFactory(), ClientFactory(), ClientFactory()
    next_cron = item(alice, IA.NEXT_CRON, due=date(2027, 6, 1), amount="5.00")
    due_soon = item(alice, IA.DUE_DATE, due=date(2026, 12, 4), amount="7.00")
    due_later = item(alice, IA.DUE_DATE, due=date(2026, 12, 5))
    never = item(alice, IA.NO_INVOICE)
    next_invoice_alone = item(bob, IA.NEXT_INVOICE)  # bob gets no invoice this run: it waits
    service = due_service(carol)
    next_invoice_joins = item(carol, IA.NEXT_INVOICE, due=date(2027, 1, 1), amount="3.00")
    result = generate_invoices(date=RUN)
    assert (result.invoices, result.services, result.billable_items) == (2, 1, 3)
    assert "3 billable item(s)" in result.summary
    alice_invoice = Invoice.objects.get(client=alice)
    assert sorted(alice_invoice.items.values_list("description", "amount", "kind")) == [
        ("Consulting", Decimal("5.00"), InvoiceItem.Kind.ITEM), ("Consulting", Decimal("7.00"), InvoiceItem.Kind.ITEM),
    ]
    assert alice_invoice.total == Decimal("12.00") and alice_invoice.due_date == date(2026, 12, 4)
    carol_invoice = Invoice.objects.get(client=carol)
    assert {(i.service_id, i.amount) for i in carol_invoice.items.all()} == {(service.pk, Decimal("10.00")), (None, Decimal("3.00"))}
    assert not Invoice.objects.filter(client=bob).exists()
    for billed, invoice in ((next_cron, alice_invoice), (due_soon, alice_invoice), (next_invoice_joins, carol_invoice)):
        billed.refresh_from_db()
        assert (billed.invoice, billed.invoice_count, billed.awaiting_invoice) == (invoice, 1, False)
    for waiting in (due_later, never, next_invoice_alone):
        waiting.refresh_from_db()
        assert (waiting.invoice, waiting.invoice_count, waiting.awaiting_invoice) == (None, 0, True)
    assert ActivityLog.objects.filter(action="billable_item.invoiced").count() == 3
    assert InvoiceItem.objects.get(invoice=alice_invoice, amount=Decimal("5.00")).period_key == f"billable:{next_cron.pk}:1"


def test_running_twice_bills_an_item_once():
    billed = item(action=IA.NEXT_CRON)
    generate_invoices(date=RUN)
    again = generate_invoices(date=RUN)
    assert (again.invoices, again.billable_items) == (0, 0)
    assert InvoiceItem.objects.filter(description="Consulting").count() == 1
    billed.refresh_from_db()
    assert billed.invoice_count == 1


def test_a_recurring_item_returns_on_its_next_due_date_until_recur_for():
    monthly = item(action=IA.NEXT_CRON, due=date(2026, 11, 30), recur_every=1, recur_cycle="months", recur_for=2)
    generate_invoices(date=RUN)
    monthly.refresh_from_db()
    assert (monthly.invoice_count, monthly.due_date, monthly.invoice_action, monthly.awaiting_invoice) == (
        1, date(2026, 12, 30), IA.DUE_DATE, True)
    assert generate_invoices(date=RUN).billable_items == 0  # 2026-12-30 is beyond this run's window
    generate_invoices(date=date(2026, 12, 20))
    monthly.refresh_from_db()
    assert (monthly.invoice_count, monthly.awaiting_invoice) == (2, False)
    assert generate_invoices(date=date(2027, 1, 20)).billable_items == 0
    assert list(InvoiceItem.objects.filter(period_key__startswith=f"billable:{monthly.pk}:").order_by("period_start")
                .values_list("period_start", flat=True)) == [date(2026, 11, 30), date(2026, 12, 30)]


@pytest.mark.parametrize("cycle, every, expected", [
    ("days", 10, date(2026, 12, 11)), ("weeks", 2, date(2026, 12, 15)), ("years", 1, date(2027, 12, 1)),
])
def test_recurrence_units(cycle, every, expected):
    recurring = item(due=date(2026, 12, 1), recur_every=every, recur_cycle=cycle)
    generate_invoices(date=RUN)
    recurring.refresh_from_db()
    assert (recurring.due_date, recurring.awaiting_invoice) == (expected, True)


def test_the_number_of_queries_does_not_grow_with_the_number_of_items():
    def run(count, day):
        for _ in range(count):
            item(ClientFactory(), IA.DUE_DATE, due=day)
            item(None, IA.NO_INVOICE, due=day)
        with CaptureQueriesContext(connection) as ctx:
            result = generate_invoices(date=day)
        assert result.billable_items == count
        return len(ctx.captured_queries)

    run(1, date(2026, 10, 1))
    assert run(3, date(2026, 12, 1)) == run(25, date(2027, 3, 1))


def test_a_due_service_and_a_due_item_share_one_invoice():
    client = ClientFactory()
    service = due_service(client)
    charge = item(client, IA.DUE_DATE)
    generate_invoices(date=RUN)
    invoice = Invoice.objects.get(client=client)
    assert invoice.items.count() == 2 and invoice.total == Decimal("30.00")
    charge.refresh_from_db()
    assert charge.invoice == invoice
    assert Service.objects.get(pk=service.pk).next_invoice_date == date(2027, 1, 1)


def test_staff_invoice_open_items_at_once(staff_actor):
    alice, bob = ClientFactory(), ClientFactory()
    a1, a2 = item(alice, IA.NO_INVOICE, due=date(2026, 1, 1)), item(alice, IA.DUE_DATE, amount="1.50")
    b1 = item(bob, IA.NEXT_INVOICE)
    invoices = billable_items_invoice(items=[a1, a2, b1], actor=staff_actor)
    assert len(invoices) == 2
    assert Invoice.objects.get(client=alice).total == Decimal("21.50")
    assert not BillableItem.objects.filter(awaiting_invoice=True).exists()
    with pytest.raises(ValidationError, match="None of these items is waiting"):
        billable_items_invoice(items=[a1], actor=staff_actor)
    assert Invoice.objects.count() == 2


def test_create_validates_and_audits(staff_actor, owner):
    created = billable_item_create(client=owner, description=" Setup work ", amount=Decimal("12.50"), actor=staff_actor,
                                   recur_every=3, recur_cycle="months", recur_for=4)
    assert (created.description, created.invoice_action, created.recurring) == ("Setup work", IA.DUE_DATE, True)
    entry = ActivityLog.objects.get(action="billable_item.create")
    assert entry.client == owner and "every 3 months" in entry.message
    for kwargs, field in (
        ({"amount": Decimal("1.234")}, "amount"), ({"recur_every": 1}, "recur_cycle"), ({"recur_for": 2}, "recur_for"),
        ({"description": "  "}, "description"), ({"invoice_action": "later"}, "invoice_action"),
    ):
        params = {"description": "x", "amount": Decimal("1.00"), **kwargs}
        with pytest.raises(ValidationError) as exc:
            billable_item_create(client=owner, actor=staff_actor, **params)
        assert field in exc.value.message_dict
    assert BillableItem.objects.count() == 1


def test_the_audit_of_billing_and_stopping_items_names_each_items_client():
    from billing.services.billable import billable_items_stop
    from portal.activity import Actor

    alice, bob = ClientFactory(), ClientFactory()
    billed = [item(alice, IA.NEXT_CRON), item(bob, IA.NEXT_CRON)]
    generate_invoices(date=RUN)
    assert sorted(ActivityLog.objects.filter(action="billable_item.invoiced").values_list("client_id", "target_id")) == sorted(
        (i.client_id, str(i.pk)) for i in billed)
    stopped = [item(alice, IA.NO_INVOICE), item(bob, IA.NO_INVOICE)]
    billable_items_stop(items=stopped, actor=Actor.system("t"))
    assert sorted(ActivityLog.objects.filter(action="billable_item.stop").values_list("client_id", "target_id")) == sorted(
        (i.client_id, str(i.pk)) for i in stopped)
