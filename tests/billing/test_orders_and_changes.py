"""Orders (tied to a domain) and upgrades/downgrades with proration: the worked examples of docs/billing.md."""
from datetime import date
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from billing.models import CreditLedgerEntry, Invoice, InvoiceItem, Service, ServiceConfigOption
from billing.pricing import service_option_values
from billing.services.changes import change_apply, change_mailbox_type, change_mailbox_type_quote, change_quote
from billing.services.orders import normalize_domain, order_create
from billing.services.payments import payment_record
from portal.models import ActivityLog
from tests.billing.conftest import mail_product, priced_product, quantity_option
from tests.factories import ClientFactory

pytestmark = pytest.mark.django_db


def test_an_order_makes_a_pending_service_and_its_first_invoice(system):
    client = ClientFactory(apply_credit_to_invoices=False)
    product = mail_product(name="Mail Pro")
    product.prices.update(setup_fee=Decimal("3.00"))
    result = order_create(
        client=client, product=product, domain="Example.COM.", cycle="monthly",
        option_values={"mailboxes_basic": 3, "mailboxes_enhanced": 2}, actor=system,
    )
    service = result.service
    assert (service.status, service.domain, service.recurring_amount) == ("pending", "example.com", Decimal("23.00"))
    assert service_option_values(service) == {"mailboxes_basic": 3, "mailboxes_enhanced": 2}
    items = list(result.invoice.items.order_by("sort_order"))
    assert [(i.kind, i.amount) for i in items] == [("service", Decimal("23.00")), ("setup", Decimal("3.00"))]
    assert items[0].period_key == f"service:{service.pk}:{service.registration_date}"
    assert "Basic mailboxes: 3" in items[0].description
    assert result.invoice.total == Decimal("26.00")
    assert ActivityLog.objects.filter(action="order.create", client=client).exists()


@pytest.mark.parametrize("bad", ["", "http://example.com", "no-dot", "-bad.example", "a..b", "user@example.com", "x" * 64 + ".com"])
def test_a_bad_domain_is_a_field_error(bad):
    with pytest.raises(ValidationError) as exc:
        normalize_domain(bad)
    assert "domain" in exc.value.message_dict


def test_idn_domains_are_stored_in_ascii():
    assert normalize_domain("Bücher.example") == "xn--bcher-kva.example"


def test_order_refuses_a_domain_already_served_and_bad_options(system):
    product = mail_product()
    client = ClientFactory()
    order_create(client=client, product=product, domain="taken.example", cycle="monthly", option_values={}, actor=system)
    with pytest.raises(ValidationError) as exc:
        order_create(client=ClientFactory(), product=product, domain="taken.example", cycle="monthly", option_values={}, actor=system)
    assert "already has" in exc.value.message_dict["domain"][0]
    with pytest.raises(ValidationError) as exc:
        order_create(client=client, product=product, domain="new.example", cycle="monthly",
                     option_values={"mailboxes_basic": 501}, actor=system)
    assert "option_mailboxes_basic" in exc.value.message_dict
    with pytest.raises(ValidationError) as exc:
        order_create(client=client, product=product, domain="new.example", cycle="annually", option_values={}, actor=system)
    assert "no annually price" in exc.value.message_dict["cycle"][0].lower()
    assert Service.objects.count() == 1


def active_service(system, *, product=None, values=None, today=date(2026, 11, 1), paid=True):
    """Ordered on `today` and paid: paid up to one month later."""
    from unittest import mock

    product = product or mail_product()
    client = ClientFactory(apply_credit_to_invoices=False)
    with mock.patch("django.utils.timezone.localdate", return_value=today):
        result = order_create(client=client, product=product, domain=f"d{product.pk}.example", cycle="monthly",
                              option_values=values or {}, actor=system)
        if paid:
            payment_record(invoice=result.invoice, amount=result.invoice.total, transaction_id=f"t{result.service.pk}", actor=system)
    Service.objects.filter(pk=result.service.pk).update(status=Service.Status.ACTIVE)
    return Service.objects.select_related("product").get(pk=result.service.pk)


def test_docs_example_1_upgrade_half_way_through_a_30_day_month(system):
    # November has 30 days; paid 2026-11-01 → due 2026-12-01; upgrading on 2026-11-16 leaves 15 of 30 days.
    service = active_service(system, values={"mailboxes_basic": 5})  # 5.00 + 5 × 2.00 = 15.00
    quote = change_quote(service=service, option_values={"mailboxes_basic": 5, "mailboxes_enhanced": 2}, today=date(2026, 11, 16))
    assert (quote.old_recurring, quote.new_recurring, quote.days_left, quote.days_in_period) == (Decimal("15.00"), Decimal("27.00"), 15, 30)
    assert quote.amount == Decimal("6.00")


def test_docs_example_2_downgrade_with_10_of_31_days_left_is_credited(system):
    # Paid 2026-12-01 → due 2027-01-01 (31 days); on 2026-12-22, 10 days are left.
    service = active_service(system, values={"mailboxes_enhanced": 3}, today=date(2026, 12, 1))  # 23.00
    quote = change_quote(service=service, option_values={"mailboxes_enhanced": 1}, today=date(2026, 12, 22))
    # (11.00 − 23.00) × 10 / 31 = −3.870967… → −3.87
    assert (quote.days_left, quote.days_in_period, quote.amount) == (10, 31, Decimal("-3.87"))


def test_docs_example_3_an_already_invoiced_next_period_adds_the_full_difference(system):
    service = active_service(system, values={"mailboxes_basic": 1})  # 7.00, due 2026-12-01
    from billing.services.generation import generate_invoices

    generate_invoices(date=date(2026, 11, 20))  # December invoiced at 7.00
    quote = change_quote(service=service, option_values={"mailboxes_basic": 2}, today=date(2026, 11, 21))
    # 2.00 × 10/30 + 2.00 × 1 = 0.666… + 2.00 = 2.67
    assert (quote.periods_ahead, quote.amount) == (1, Decimal("2.67"))


def test_docs_example_4_an_unpaid_current_period_is_prorated_from_today(system):
    service = active_service(system, values={"mailboxes_basic": 1}, paid=False)  # [11-01, 12-01) invoiced, unpaid
    quote = change_quote(service=service, option_values={"mailboxes_basic": 4}, today=date(2026, 11, 10))
    # 6.00 × 21/30 = 4.20
    assert (quote.days_left, quote.days_in_period, quote.periods_ahead, quote.amount) == (21, 30, 0, Decimal("4.20"))


def test_no_proration_when_nothing_is_paid_or_invoiced(system):
    service = active_service(system, values={"mailboxes_basic": 1}, paid=False)
    Invoice.objects.update(status=Invoice.Status.CANCELLED)
    quote = change_quote(service=service, option_values={"mailboxes_basic": 4}, today=date(2026, 11, 10))
    # The period is still real (21 of 30 days left); it is not invoiced, so nothing of it is prorated.
    assert (quote.days_left, quote.days_in_period, quote.period_billed, quote.amount) == (21, 30, False, Decimal("0.00"))


def test_confirming_an_upgrade_invoices_the_difference_and_applies_it_when_paid(system):
    service = active_service(system, values={"mailboxes_basic": 5})
    from unittest import mock

    with mock.patch("django.utils.timezone.localdate", return_value=date(2026, 11, 16)):
        with pytest.raises(ValidationError, match="amount changed"):
            change_apply(service=service, option_values={"mailboxes_basic": 5, "mailboxes_enhanced": 2}, actor=system, expected_amount="5.00")
        result = change_apply(service=service, option_values={"mailboxes_basic": 5, "mailboxes_enhanced": 2}, actor=system, expected_amount="6.00")
    service.refresh_from_db()
    assert (result.pending, service.recurring_amount) == (True, Decimal("15.00"))
    payment_record(invoice=result.invoice, amount=Decimal("6.00"), transaction_id="up-1", actor=system)
    service.refresh_from_db()
    assert service.recurring_amount == Decimal("27.00")
    assert service_option_values(service) == {"mailboxes_basic": 5, "mailboxes_enhanced": 2}
    assert result.invoice.total == Decimal("6.00") and result.invoice.items.get().kind == InvoiceItem.Kind.UPGRADE
    assert ActivityLog.objects.filter(action="service.change", client=service.client).exists()


def test_a_downgrade_credits_the_client(system):
    service = active_service(system, values={"mailboxes_enhanced": 3}, today=date(2026, 12, 1))
    from unittest import mock

    with mock.patch("django.utils.timezone.localdate", return_value=date(2026, 12, 22)):
        result = change_apply(service=service, option_values={"mailboxes_enhanced": 1}, actor=system)
    assert result.invoice is None and result.credit.amount == Decimal("3.87")
    assert result.credit.kind == CreditLedgerEntry.Kind.PRORATION
    service.client.refresh_from_db()
    assert service.client.credit_balance == Decimal("3.87")


def test_changing_product_within_the_same_type(system):
    small = mail_product(name="Small")
    big = priced_product("20.00", name="Big")
    quantity_option(big, "mailboxes_basic", "1.00", included=10)
    service = active_service(system, product=small, values={"mailboxes_basic": 2})  # 9.00
    quote = change_quote(service=service, product=big, option_values={"mailboxes_basic": 12}, today=date(2026, 11, 16))
    assert quote.new_recurring == Decimal("22.00") and quote.amount == Decimal("6.50")  # 13.00 × 15/30
    with pytest.raises(ValidationError):
        change_quote(service=service, product=priced_product(type="voip"))


def test_one_mailbox_changes_type_with_proration(system):
    service = active_service(system, values={"mailboxes_basic": 4, "mailboxes_enhanced": 1})  # 5 + 8 + 6 = 19.00
    quote = change_mailbox_type_quote(service=service, from_type="basic", to_type="enhanced", today=date(2026, 11, 16))
    assert quote.new_recurring == Decimal("23.00") and quote.amount == Decimal("2.00")  # 4.00 × 15/30
    from unittest import mock

    with mock.patch("django.utils.timezone.localdate", return_value=date(2026, 11, 16)):
        result = change_mailbox_type(service=service, from_type="basic", to_type="enhanced", actor=system,
                                     expected_amount="2.00", mailbox="ceo@d.example")
    assert service_option_values(service) == {"mailboxes_basic": 3, "mailboxes_enhanced": 2}
    assert "ceo@d.example" in result.invoice.items.get().description
    with pytest.raises(ValidationError) as exc:
        change_mailbox_type_quote(service=service, from_type="basic", to_type="premium")
    assert "to_type" in exc.value.message_dict
    with pytest.raises(ValidationError) as exc:
        change_mailbox_type_quote(service=service, from_type="basic", to_type="enhanced", count=4)
    assert "from_type" in exc.value.message_dict
    assert ServiceConfigOption.objects.filter(service=service).count() == 2
    assert Invoice.objects.filter(client=service.client).count() == 2
