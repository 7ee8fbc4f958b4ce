"""Staff actions: closing clients (only for staff who may terminate services) and billable items (added and
changed through the audited service, invoiced at once or stopped; never deleted)."""
from datetime import date
from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from billing.models import BillableItem, Invoice, Service
from portal.models import ActivityLog, Client
from tests.factories import ClientFactory, InvoiceFactory, ServiceFactory, StaffFactory

pytestmark = pytest.mark.django_db


def test_staff_close_clients_with_the_action(client, staff_user):
    leaving, staying = ClientFactory(), ClientFactory()
    service = ServiceFactory(client=leaving, product__module="")
    invoice = InvoiceFactory(client=leaving)
    client.force_login(staff_user)
    response = client.post(reverse("admin:portal_client_changelist"),
                           {"action": "close_clients", "_selected_action": [leaving.pk]}, follow=True)
    texts = [str(m) for m in response.context["messages"]]
    assert texts == [f"{leaving} closed: 1 invoice(s) and 1 service(s) cancelled."]
    assert Client.objects.get(pk=leaving.pk).status == "closed" and Client.objects.get(pk=staying.pk).status == "active"
    assert (Service.objects.get(pk=service.pk).status, Invoice.objects.get(pk=invoice.pk).status) == ("cancelled", "cancelled")
    assert ActivityLog.objects.get(action="client.close").actor_user == staff_user


def test_the_close_action_needs_the_terminate_permission(client):
    clerk = StaffFactory()
    clerk.user_permissions.add(*Permission.objects.filter(codename__in=["view_client", "change_client"]))
    target = ClientFactory()
    client.force_login(clerk)
    page = client.get(reverse("admin:portal_client_changelist"))
    assert b"close_clients" not in page.content
    client.post(reverse("admin:portal_client_changelist"), {"action": "close_clients", "_selected_action": [target.pk]})
    assert Client.objects.get(pk=target.pk).status == "active"


def test_staff_add_change_invoice_and_stop_billable_items(client, staff_user, owner):
    client.force_login(staff_user)
    add = client.post(reverse("admin:billing_billableitem_add"), {
        "client": owner.pk, "description": "Training", "amount": "80.00", "taxable": "on", "invoice_action": "noinvoice",
        "due_date": "2026-12-01", "recur_every": "0", "recur_cycle": "", "recur_for": "0",
    })
    assert add.status_code == 302
    item = BillableItem.objects.get()
    assert ActivityLog.objects.get(action="billable_item.create").actor_user == staff_user
    change = client.post(reverse("admin:billing_billableitem_change", args=[item.pk]), {
        "description": "Training (2 days)", "amount": "160.00", "taxable": "on", "invoice_action": "noinvoice",
        "due_date": "2026-12-01", "recur_every": "0", "recur_cycle": "", "recur_for": "0",
    })
    assert change.status_code == 302
    item.refresh_from_db()
    assert (item.description, item.amount) == ("Training (2 days)", Decimal("160.00"))
    assert ActivityLog.objects.get(action="billable_item.update").data["changes"]["amount"] == ["80.00", "160.00"]
    recurring = BillableItem.objects.create(client=owner, description="Support", amount=Decimal("10.00"),
                                            due_date=date(2030, 1, 1), recur_every=1, recur_cycle="months")
    response = client.post(reverse("admin:billing_billableitem_changelist"),
                           {"action": "invoice_now", "_selected_action": [item.pk]}, follow=True)
    assert "Issued 1 invoice(s)." in [str(m) for m in response.context["messages"]]
    item.refresh_from_db()
    assert item.invoice.total == Decimal("160.00") and item.awaiting_invoice is False
    client.post(reverse("admin:billing_billableitem_changelist"), {"action": "stop_items", "_selected_action": [recurring.pk]})
    recurring.refresh_from_db()
    assert recurring.awaiting_invoice is False and recurring.invoice is None
    assert ActivityLog.objects.filter(action="billable_item.stop").count() == 1
    assert client.post(reverse("admin:billing_billableitem_delete", args=[item.pk])).status_code == 403
    assert BillableItem.objects.count() == 2


def test_the_billable_item_list_takes_a_fixed_number_of_queries(client, staff_user):
    client.force_login(staff_user)

    def queries():
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(reverse("admin:billing_billableitem_changelist")).status_code == 200
        return len(ctx)

    BillableItem.objects.create(client=ClientFactory(), description="x", amount=Decimal("1.00"))
    few = queries()
    for _ in range(10):
        BillableItem.objects.create(client=ClientFactory(), description="y", amount=Decimal("1.00"),
                                    invoice=InvoiceFactory())
    assert queries() == few


def test_staff_edit_an_unpaid_invoice_then_refund_it_and_correct_the_refund(client, staff_user, owner):
    from billing.models import InvoiceItem, Payment
    from billing.services.invoices import Line, invoice_create
    from portal.activity import Actor

    Client.objects.filter(pk=owner.pk).update(apply_credit_to_invoices=False)
    invoice = invoice_create(client=owner, actor=Actor.system("t"), lines=[
        Line(InvoiceItem.Kind.ITEM, "Setup", Decimal("10.00")), Line(InvoiceItem.Kind.ITEM, "Extra", Decimal("5.00"))])
    setup, extra = invoice.items.order_by("sort_order")
    client.force_login(staff_user)
    page = client.get(reverse("admin:billing_invoice_change", args=[invoice.pk]))
    assert reverse("admin:billing_invoice_edit", args=[invoice.pk]).encode() in page.content
    edit_url = reverse("admin:billing_invoice_edit", args=[invoice.pk])
    assert client.get(edit_url).status_code == 200
    response = client.post(edit_url, {
        "date": invoice.date, "due_date": invoice.due_date, "notes": "",
        f"description_{setup.pk}": "Setup", f"amount_{setup.pk}": "12.00", f"taxable_{setup.pk}": "on",
        f"description_{extra.pk}": "Extra", f"amount_{extra.pk}": "5.00", f"delete_{extra.pk}": "on",
        "new_description_1": "Training", "new_amount_1": "3.00",
    })
    assert response.status_code == 302
    invoice.refresh_from_db()
    assert invoice.total == Decimal("15.00")
    assert sorted(invoice.items.values_list("description", "amount")) == [("Setup", Decimal("12.00")), ("Training", Decimal("3.00"))]
    missing_amount = client.post(edit_url, {"date": invoice.date, "due_date": invoice.due_date,
                                            **{f"description_{i.pk}": i.description for i in invoice.items.all()},
                                            **{f"amount_{i.pk}": i.amount for i in invoice.items.all()},
                                            "new_description_1": "No amount"})
    assert missing_amount.status_code == 200 and b"the new line" in missing_amount.content
    client.post(reverse("admin:billing_invoice_record_payment", args=[invoice.pk]),
                {"amount": "15.00", "gateway": "wire", "transaction_id": "IN-1"})
    refund_url = reverse("admin:billing_invoice_refund", args=[invoice.pk])
    assert client.get(refund_url).status_code == 200
    too_much = client.post(refund_url, {"amount": "20.00", "gateway": "wire", "transaction_id": "OUT-1"})
    assert too_much.status_code == 200 and b"Refund at most 15.00" in too_much.content
    assert client.post(refund_url, {"amount": "15.00", "gateway": "wire", "transaction_id": "OUT-1"}).status_code == 302
    assert Invoice.objects.get(pk=invoice.pk).status == "refunded"
    refund = Payment.objects.get(transaction_id="OUT-1")
    correct_url = reverse("admin:billing_payment_correct", args=[refund.pk])
    assert client.get(correct_url).status_code == 200
    assert client.post(correct_url, {"note": "Wire back", "transaction_id": "OUT-1b", "gateway": "wire",
                                     "received_at": "2026-11-05 10:00:00", "fees": "0.00"}).status_code == 302
    refund.refresh_from_db()
    assert (refund.note, refund.transaction_id, refund.amount_out) == ("Wire back", "OUT-1b", Decimal("15.00"))
    assert ActivityLog.objects.filter(action__in=["invoice.update", "payment.refund", "payment.update"]).count() == 3


def test_correcting_a_transaction_needs_the_change_payment_permission(client, owner):
    from billing.models import Payment

    payment = Payment.objects.create(client=owner, amount=Decimal("5.00"), transaction_id="T", gateway="wire")
    clerk = StaffFactory()
    clerk.user_permissions.add(Permission.objects.get(codename="view_payment"))
    client.force_login(clerk)
    url = reverse("admin:billing_payment_correct", args=[payment.pk])
    assert client.post(url, {"note": "x", "transaction_id": "T2", "gateway": "wire", "received_at": "2026-11-05 10:00:00",
                             "fees": "0"}).status_code == 403
    assert Payment.objects.get(pk=payment.pk).transaction_id == "T"


def test_staff_record_a_payment_to_credit_and_refund_credit(client, staff_user, owner):
    client.force_login(staff_user)
    assert b"Record a payment to credit" in client.get(reverse("admin:billing_creditledgerentry_changelist")).content
    pay_url, refund_url = reverse("admin:billing_creditledgerentry_payment"), reverse("admin:billing_creditledgerentry_refund")
    assert client.get(pay_url, {"client": owner.pk}).status_code == 200
    assert client.post(pay_url, {"client": owner.pk, "amount": "50.00", "gateway": "wire", "transaction_id": "W1"}).status_code == 302
    too_much = client.post(refund_url, {"client": owner.pk, "amount": "60.00", "gateway": "wire", "transaction_id": "W2"})
    assert too_much.status_code == 200 and b"Refund at most 50.00" in too_much.content
    assert client.post(refund_url, {"client": owner.pk, "amount": "20.00", "gateway": "wire", "transaction_id": "W2"}).status_code == 302
    assert Client.objects.get(pk=owner.pk).credit_balance == Decimal("30.00")
    assert list(ActivityLog.objects.filter(action__in=["payment.to_credit", "payment.refund"]).order_by("pk")
                .values_list("action", flat=True)) == ["payment.to_credit", "payment.refund"]
