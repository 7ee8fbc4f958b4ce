"""Issue 13 item 2: when an upgrade/downgrade takes effect. A charged change waits for its invoice to be paid
(as WHMCS does); a product set to apply changes at once, a credited change, seed 003's one-mailbox type change and
staff's *Apply now* take effect at once. One change at a time; cancelling its invoice cancels it. Each step is
one activity-log row, and nothing else happens."""
from datetime import date
from decimal import Decimal
from unittest import mock

import pytest
from django.core.exceptions import ValidationError

from billing.models import CreditLedgerEntry, Invoice, InvoiceItem, Service, ServiceChange
from billing.pricing import service_option_values
from billing.services.changes import change_apply, change_apply_now, change_mailbox_type
from billing.services.invoices import invoice_cancel
from billing.services.ledger import ledger_post
from billing.services.payments import payment_record
from portal.models import ActivityLog
from tests.billing.conftest import mail_product
from tests.billing.test_orders_and_changes import active_service

pytestmark = pytest.mark.django_db

ON = date(2026, 11, 16)  # 15 of 30 days left in the paid period 2026-11-01 → 2026-12-01
MORE = {"mailboxes_basic": 5, "mailboxes_enhanced": 2}  # 15.00 → 27.00: 12.00 × 15/30 = 6.00


def upgraded(service, actor, **kwargs):
    with mock.patch("django.utils.timezone.localdate", return_value=ON):
        return change_apply(service=service, option_values=MORE, actor=actor, expected_amount="6.00", **kwargs)


def actions(service, after=0):
    return list(ActivityLog.objects.filter(target_id=str(service.pk), action__startswith="service.change", pk__gt=after)
                .order_by("pk").values_list("action", flat=True))


def last_log_pk():
    return ActivityLog.objects.order_by("-pk").values_list("pk", flat=True).first() or 0


def test_a_charged_change_is_invoiced_and_not_applied_before_its_invoice_is_paid(system):
    service = active_service(system, values={"mailboxes_basic": 5})  # 15.00
    invoices_before, log_before = Invoice.objects.count(), last_log_pk()
    result = upgraded(service, system)
    service.refresh_from_db()
    assert (service.recurring_amount, service_option_values(service)) == (Decimal("15.00"), {"mailboxes_basic": 5, "mailboxes_enhanced": 0})
    change = ServiceChange.objects.get()
    assert (change.status, change.invoice, change.amount, change.old_recurring, change.new_recurring) == (
        ServiceChange.Status.PENDING, result.invoice, Decimal("6.00"), Decimal("15.00"), Decimal("27.00"))
    assert (change.old_options, change.new_options) == ({"mailboxes_basic": 5, "mailboxes_enhanced": 0}, MORE)
    assert result.pending and result.credit is None
    line = result.invoice.items.get()
    assert (line.kind, line.amount, line.service_id) == (InvoiceItem.Kind.UPGRADE, Decimal("6.00"), service.pk)
    assert line.description == (f"Change – {service.domain}: options changed, recurring 15.00 → 27.00 USD monthly; "
                                "15 of 30 days left in the period 2026-11-01 – 2026-11-30")
    # Nothing else: one invoice, no credit, no other change of the service.
    assert Invoice.objects.count() == invoices_before + 1 and result.invoice.status == Invoice.Status.UNPAID
    assert not CreditLedgerEntry.objects.filter(client=service.client).exists()
    assert actions(service, log_before) == ["service.change"]
    entry = ActivityLog.objects.get(action="service.change", pk__gt=log_before)
    assert entry.message.endswith(f"charged 6.00 USD; takes effect when invoice {result.invoice.number} is paid")
    assert (entry.data["takes_effect"], entry.data["change"], entry.data["invoice"]) == ("on_payment", change.pk, result.invoice.pk)


def test_paying_the_invoice_applies_the_change_once(system, staff_actor):
    service = active_service(system, values={"mailboxes_basic": 5})
    result = upgraded(service, system)
    log_before = last_log_pk()
    payment_record(invoice=result.invoice, amount=Decimal("6.00"), transaction_id="up-1", actor=staff_actor)
    service.refresh_from_db()
    assert (service.recurring_amount, service_option_values(service)) == (Decimal("27.00"), MORE)
    change = ServiceChange.objects.get()
    assert change.status == ServiceChange.Status.APPLIED and change.applied_at is not None
    assert actions(service, log_before) == ["service.change_applied"]
    entry = ActivityLog.objects.get(action="service.change_applied")
    assert (entry.actor_label, entry.data["invoice"], entry.data["recurring"]) == (staff_actor.label, result.invoice.pk, "27.00")
    # The same payment notified again changes nothing more.
    payment_record(invoice=result.invoice, amount=Decimal("6.00"), transaction_id="up-1", actor=staff_actor)
    assert actions(service, log_before) == ["service.change_applied"]


def test_a_product_set_to_take_effect_at_once_applies_on_confirm_and_still_invoices(system):
    product = mail_product(changes_take_effect_at_once=True)
    service = active_service(system, product=product, values={"mailboxes_basic": 5})
    log_before = last_log_pk()
    result = upgraded(service, system)
    service.refresh_from_db()
    assert (service.recurring_amount, service_option_values(service)) == (Decimal("27.00"), MORE)
    assert (result.pending, result.change.status, result.invoice.status) == (False, ServiceChange.Status.APPLIED, Invoice.Status.UNPAID)
    assert actions(service, log_before) == ["service.change", "service.change_applied"]
    assert ActivityLog.objects.get(action="service.change", pk__gt=log_before).data["takes_effect"] == "at_once"
    payment_record(invoice=result.invoice, amount=Decimal("6.00"), transaction_id="up-2", actor=system)
    assert actions(service, log_before) == ["service.change", "service.change_applied"]  # not applied twice


def test_a_downgrade_is_credited_and_takes_effect_at_once(system):
    service = active_service(system, values={"mailboxes_enhanced": 3}, today=date(2026, 12, 1))  # 23.00
    with mock.patch("django.utils.timezone.localdate", return_value=date(2026, 12, 22)):
        result = change_apply(service=service, option_values={"mailboxes_enhanced": 1}, actor=system)
    service.refresh_from_db()
    assert (service.recurring_amount, result.invoice, result.credit.amount) == (Decimal("11.00"), None, Decimal("3.87"))
    assert (result.change.status, result.change.amount) == (ServiceChange.Status.APPLIED, Decimal("-3.87"))


def test_an_invoice_paid_from_credit_as_it_is_issued_applies_the_change_at_once(system):
    service = active_service(system, values={"mailboxes_basic": 5})
    service.client.apply_credit_to_invoices = True
    service.client.save(update_fields=["apply_credit_to_invoices"])
    ledger_post(client=service.client, kind=CreditLedgerEntry.Kind.TOPUP, amount=Decimal("10.00"), actor=system, description="top-up")
    result = upgraded(service, system)
    service.refresh_from_db()
    assert (result.invoice.status, result.change.status, service.recurring_amount) == (
        Invoice.Status.PAID, ServiceChange.Status.APPLIED, Decimal("27.00"))
    assert ServiceChange.objects.filter(status=ServiceChange.Status.APPLIED).count() == 1
    assert actions(service).count("service.change_applied") == 1


def test_a_second_change_while_one_is_pending_is_refused_with_its_invoice(system):
    service = active_service(system, values={"mailboxes_basic": 5})
    result = upgraded(service, system)
    with pytest.raises(ValidationError) as exc:
        with mock.patch("django.utils.timezone.localdate", return_value=ON):
            change_apply(service=service, option_values={"mailboxes_basic": 9}, actor=system)
    assert exc.value.messages == [
        f"A change of this service (options, 27.00 USD recurring) is waiting for payment of invoice {result.invoice.number}: "
        "it takes effect when that invoice is paid. Pay it first, or ask us to cancel it, before making another change."
    ]
    with pytest.raises(ValidationError, match="waiting for payment"):
        change_mailbox_type(service=service, from_type="basic", to_type="enhanced", actor=system)
    assert ServiceChange.objects.count() == 1 and Invoice.objects.filter(client=service.client).count() == 2


def test_cancelling_its_invoice_cancels_the_pending_change(system, staff_actor):
    service = active_service(system, values={"mailboxes_basic": 5})
    result = upgraded(service, system)
    log_before = last_log_pk()
    invoice_cancel(invoice=result.invoice, actor=staff_actor)
    change = ServiceChange.objects.get()
    assert change.status == ServiceChange.Status.CANCELLED and change.cancelled_at is not None
    assert actions(service, log_before) == ["service.change_cancelled"]
    service.refresh_from_db()
    assert service.recurring_amount == Decimal("15.00")
    assert upgraded(service, system).pending  # another change can be made


def test_staff_apply_now_applies_a_pending_change_and_payment_later_does_not_apply_it_again(system, staff_actor):
    service = active_service(system, values={"mailboxes_basic": 5})
    result = upgraded(service, system)
    change_apply_now(change=result.change, actor=staff_actor)
    service.refresh_from_db()
    assert service.recurring_amount == Decimal("27.00")
    assert Invoice.objects.get(pk=result.invoice.pk).status == Invoice.Status.UNPAID
    payment_record(invoice=result.invoice, amount=Decimal("6.00"), transaction_id="up-3", actor=system)
    assert actions(service).count("service.change_applied") == 1
    with pytest.raises(ValidationError, match="only a pending one"):
        change_apply_now(change=result.change, actor=staff_actor)


def test_a_service_ended_before_payment_is_not_changed_and_its_change_is_cancelled(system):
    service = active_service(system, values={"mailboxes_basic": 5})
    result = upgraded(service, system)
    Service.objects.filter(pk=service.pk).update(status=Service.Status.TERMINATED)
    payment_record(invoice=result.invoice, amount=Decimal("6.00"), transaction_id="up-4", actor=system)
    service.refresh_from_db()
    assert (service.recurring_amount, ServiceChange.objects.get().status) == (Decimal("15.00"), ServiceChange.Status.CANCELLED)
    assert ActivityLog.objects.get(action="service.change_cancelled").data["reason"] == "the service is terminated"


def test_one_mailbox_type_change_takes_effect_at_once_as_seed_003_says(system):
    service = active_service(system, values={"mailboxes_basic": 4, "mailboxes_enhanced": 1})
    with mock.patch("django.utils.timezone.localdate", return_value=ON):
        result = change_mailbox_type(service=service, from_type="basic", to_type="enhanced", actor=system,
                                     expected_amount="2.00", mailbox="ceo@d.example")
    assert (result.change.status, result.invoice.status) == (ServiceChange.Status.APPLIED, Invoice.Status.UNPAID)
    assert service_option_values(service) == {"mailboxes_basic": 3, "mailboxes_enhanced": 2}


def test_staff_see_pending_changes_and_apply_one_now_from_the_admin(client, system, staff_user):
    from django.urls import reverse

    service = active_service(system, values={"mailboxes_basic": 5})
    result = upgraded(service, system)
    client.force_login(staff_user)
    listing = client.get(reverse("admin:billing_servicechange_changelist"))
    assert listing.status_code == 200 and service.domain in listing.content.decode()
    assert client.get(reverse("admin:billing_servicechange_change", args=[result.change.pk])).status_code == 200
    assert b"changes_take_effect_at_once" in client.get(reverse("admin:billing_product_change", args=[service.product_id])).content
    response = client.post(reverse("admin:billing_servicechange_changelist"),
                           {"action": "apply_now", "_selected_action": [result.change.pk]})
    assert response.status_code == 302
    service.refresh_from_db()
    assert (service.recurring_amount, ServiceChange.objects.get().status) == (Decimal("27.00"), ServiceChange.Status.APPLIED)
    assert ActivityLog.objects.get(action="service.change_applied").actor_label == staff_user.username


def test_a_renewal_invoiced_while_the_change_waited_is_billed_the_difference_when_the_change_takes_effect(system, staff_actor):
    # Upgraded on 11-16 (15.00 → 27.00, pending); the December renewal is invoiced on 11-20 at the old 15.00; the
    # change's invoice is paid on 11-20: December (a whole period ahead) owes 12.00 more, on an invoice of its own.
    from billing.services.generation import generate_invoices

    service = active_service(system, values={"mailboxes_basic": 5})
    result = upgraded(service, system)
    on = date(2026, 11, 20)
    with mock.patch("django.utils.timezone.localdate", return_value=on):
        generate_invoices(date=on)
        renewal = InvoiceItem.objects.get(service=service, kind=InvoiceItem.Kind.SERVICE, period_start=date(2026, 12, 1))
        assert (renewal.amount, renewal.period_end) == (Decimal("15.00"), date(2026, 12, 31))
        invoices_before, log_before = set(Invoice.objects.values_list("pk", flat=True)), last_log_pk()
        payment_record(invoice=result.invoice, amount=Decimal("6.00"), transaction_id="up-2", actor=staff_actor)
    new = Invoice.objects.exclude(pk__in=invoices_before).get()
    line = new.items.get()
    assert (new.client_id, new.total, new.status, line.kind, line.amount, line.service_id) == (
        service.client_id, Decimal("12.00"), Invoice.Status.UNPAID, InvoiceItem.Kind.UPGRADE, Decimal("12.00"), service.pk)
    assert line.description == (f"Change – {service.domain}: 12.00 USD more for 2026-12-01 – 2026-12-31, invoiced at "
                                "the old price while the change waited for payment")
    assert actions(service, log_before) == ["service.change_applied", "service.change_difference_invoiced"]
    entry = ActivityLog.objects.get(action="service.change_difference_invoiced")
    assert entry.data == {"change": result.change.pk, "invoice": new.pk, "amount": "12.00",
                          "periods": [["2026-12-01", "2027-01-01"]]}


def test_a_change_paid_before_any_renewal_is_invoiced_owes_nothing_more(system, staff_actor):
    service = active_service(system, values={"mailboxes_basic": 5})
    result = upgraded(service, system)
    invoices_before = Invoice.objects.count()
    with mock.patch("django.utils.timezone.localdate", return_value=ON):
        payment_record(invoice=result.invoice, amount=Decimal("6.00"), transaction_id="up-3", actor=staff_actor)
    assert Invoice.objects.count() == invoices_before
    assert not ActivityLog.objects.filter(action="service.change_difference_invoiced").exists()
