"""Postpaid VoIP (voip-rating.md steps 6 and 9): calls of postpaid products are not debited at import but left
unbilled; the monthly job invoices them per client, one line per service, the sum of the stored 4-place costs
rounded once; idempotent; unrated calls reported, never billed as free; prepaid calls never invoiced."""
from datetime import date, datetime
from datetime import timezone as dt_timezone
from decimal import Decimal

import pytest
from django.core.management import call_command

from billing.emails import INVOICE_CREATED
from billing.models import CreditLedgerEntry, EmailLog, Invoice, InvoiceItem, TaxRule
from billing.services.ledger import ledger_post
from portal.models import ActivityLog, Client, JobRun
from tests.factories import ClientFactory, ensure_invoice_sequence
from tests.voip.factories import SYSTEM, VoipServiceFactory, stored_calls
from tests.voip.test_imports import upload
from voip.models import BillingMode, Cdr, UnbilledUsage, VoipProduct, VoipSettings
from voip.services.invoicing import invoice_usage, period_label, previous_period
from voip.services.rerating import rerate_service
from voip.services.unbilled import refresh_unbilled

pytestmark = pytest.mark.django_db

NOV_1 = date(2026, 11, 1)


def at(day, hour=12):
    return datetime(2026, 10, day, hour, tzinfo=dt_timezone.utc)


@pytest.fixture
def postpaid(product):
    VoipProduct.objects.filter(product=product).update(billing_mode=BillingMode.POSTPAID)
    return product


@pytest.fixture
def pservice(service, postpaid):
    return service


def calls(service, source, *costs, day=10, **fields):
    return stored_calls(service, source, [
        {"answer_time": at(day, 8 + n % 10), "cost": cost, "postpaid": True, **fields} for n, cost in enumerate(costs)
    ])


def unbilled(client):
    row = UnbilledUsage.objects.filter(client=client).first()
    return row.amount if row else None


def test_a_postpaid_import_debits_nothing_and_counts_as_unbilled_usage(pservice, source):
    result = upload(source, "portal.csv", "portal")
    assert result.rated == 4 and result.charged == Decimal("0")  # nothing debited from credit
    assert not CreditLedgerEntry.objects.exists()
    assert Client.objects.get(pk=pservice.client_id).credit_balance == Decimal("0")
    assert set(Cdr.objects.values_list("postpaid", flat=True)) == {True}
    assert unbilled(pservice.client) == Decimal("1.4254")  # 0.55 + 0.17 + 0.0054 + 0.70


def test_a_prepaid_import_is_unchanged(service, source):
    result = upload(source, "portal.csv", "portal")
    assert result.charged == Decimal("1.4254")
    assert set(Cdr.objects.values_list("postpaid", flat=True)) == {False}
    assert not UnbilledUsage.objects.exists()


def test_the_line_is_the_sum_of_the_call_costs_rounded_once(pservice, source):
    calls(pservice, source, "0.0049", "0.0049", "0.0049")  # 0.0147 → 0.01; rounding each call would give 0.00
    result = invoice_usage(run_date=NOV_1)
    invoice = Invoice.objects.get()
    item = invoice.items.get()
    assert (item.amount, item.kind, item.service_id) == (Decimal("0.01"), "voip_usage", pservice.pk)
    assert (item.period_start, item.period_end, item.period_key) == (
        date(2026, 10, 1), date(2026, 10, 31), f"voip:{pservice.pk}:2026-10-01"
    )
    assert item.description == "tenant-a.example – Calls 1–31 Oct 2026: 3 calls, 3 min"
    assert (invoice.subtotal, invoice.total, invoice.date, invoice.due_date) == (
        Decimal("0.01"), Decimal("0.01"), NOV_1, date(2026, 11, 15)
    )
    assert (result.invoices, result.lines, result.calls, result.amount) == (1, 1, 3, Decimal("0.01"))
    assert set(Cdr.objects.values_list("usage_invoice", flat=True)) == {invoice.pk}
    assert unbilled(pservice.client) == Decimal("0")


def test_half_a_cent_rounds_up_and_the_exact_lines_per_service(pservice, source, postpaid):
    second = VoipServiceFactory(client=pservice.client, product=postpaid, domain="tenant-b.example")
    calls(pservice, source, "0.0025", "0.0025")  # 0.0050 → 0.01 (half up, not half even)
    calls(second, source, *["1.2345"] * 4, billed_seconds=90)  # 4.9380 → 4.94
    invoice_usage(run_date=NOV_1)
    invoice = Invoice.objects.get()
    assert [(i.description, i.amount) for i in invoice.items.order_by("sort_order")] == [
        ("tenant-a.example – Calls 1–31 Oct 2026: 2 calls, 2 min", Decimal("0.01")),
        ("tenant-b.example – Calls 1–31 Oct 2026: 4 calls, 6 min", Decimal("4.94")),
    ]
    assert invoice.total == Decimal("4.95")


def test_tax_numbering_and_the_invoice_created_email_come_from_billing(pservice, source):
    TaxRule.objects.create(country="CA", name="HST", rate=Decimal("13.000"))
    calls(pservice, source, "10.0000")
    invoice_usage(run_date=NOV_1)
    invoice = Invoice.objects.get()
    assert (invoice.subtotal, invoice.tax, invoice.total) == (Decimal("10.00"), Decimal("1.30"), Decimal("11.30"))
    assert invoice.number and invoice.status == Invoice.Status.UNPAID
    assert EmailLog.objects.filter(template_name=INVOICE_CREATED, invoice=invoice).count() == 1
    assert ActivityLog.objects.filter(action="invoice.create", target_id=str(invoice.pk)).count() == 1


def test_running_twice_makes_one_invoice(pservice, source):
    calls(pservice, source, "1.0000", "2.0000")
    first = invoice_usage(run_date=NOV_1)
    second = invoice_usage(run_date=NOV_1)
    assert (first.invoices, second.invoices, second.lines, second.calls) == (1, 0, 0, 0)
    assert Invoice.objects.count() == 1 and InvoiceItem.objects.count() == 1
    assert EmailLog.objects.filter(template_name=INVOICE_CREATED).count() == 1


def test_a_period_key_already_billed_is_not_billed_again(pservice, source):
    calls(pservice, source, "1.0000")
    invoice_usage(run_date=NOV_1)
    Cdr.objects.update(usage_invoice=None)  # as if the marks were lost: the unique period key still holds
    result = invoice_usage(run_date=NOV_1)
    assert (result.invoices, result.already_billed) == (0, 1)
    assert Invoice.objects.count() == 1


def test_only_calls_up_to_the_periods_end_are_billed_and_later_ones_wait(pservice, source):
    calls(pservice, source, "1.0000", day=31)  # 31 Oct 12:00 UTC
    stored_calls(pservice, source, [{"answer_time": datetime(2026, 11, 1, 0, 0, tzinfo=dt_timezone.utc),
                                     "cost": "5.0000", "postpaid": True}])
    invoice_usage(run_date=NOV_1)
    assert Invoice.objects.get().total == Decimal("1.00")
    assert Cdr.objects.filter(usage_invoice__isnull=True).count() == 1
    assert unbilled(pservice.client) == Decimal("5.0000")


def test_the_period_is_read_in_the_business_time_zone(pservice, source, settings):
    settings.TIME_ZONE = "America/Toronto"
    # 1 Nov 02:00 UTC is 31 Oct 22:00 in Toronto: October's call.
    stored_calls(pservice, source, [{"answer_time": datetime(2026, 11, 1, 2, 0, tzinfo=dt_timezone.utc),
                                     "cost": "2.0000", "postpaid": True}])
    invoice_usage(run_date=NOV_1)
    assert Invoice.objects.get().total == Decimal("2.00")


def test_unrated_calls_are_reported_not_billed_and_billed_after_re_rating(pservice, source, package):
    calls(pservice, source, "1.0000")
    unrated = calls(pservice, source, "0", status="unrated", number="2125559999", callee="2125559999",
                    e164="", prefix="", destination="")
    result = invoice_usage(run_date=NOV_1)
    assert (result.unrated, result.unrated_services) == (1, 1)
    assert "1 unrated call(s) in 1 service(s) not billed" in result.summary
    log = ActivityLog.objects.get(action="voip.usage_invoicing")
    assert log.data["unrated"] == 1 and log.data["invoices"] == 1
    assert Invoice.objects.get().total == Decimal("1.00")
    assert Cdr.objects.get(pk=unrated[0].pk).usage_invoice_id is None
    # Re-rated (the deck had the prefix all along here: 1212 at 0.10 + 0.60/min for 60 s = 0.70), it is billed
    # by the next run, as an earlier call.
    rerate_service(service=pservice, start=date(2026, 10, 1), end=date(2026, 10, 31), actor=SYSTEM)
    assert not CreditLedgerEntry.objects.exists()  # postpaid: the re-rating posts nothing to credit
    assert unbilled(pservice.client) == Decimal("0.7000")
    december = invoice_usage(run_date=date(2026, 12, 1))
    item = Invoice.objects.order_by("-pk").first().items.get()
    assert (item.amount, item.period_key) == (Decimal("0.70"), f"voip:{pservice.pk}:2026-11-01")
    assert item.description == ("tenant-a.example – Calls 1–30 Nov 2026: 1 call, 1 min "
                                "(including 1 earlier call rated since)")
    assert december.unrated == 0


def test_prepaid_calls_are_never_on_a_usage_invoice(service, source, product):
    stored_calls(service, source, [{"answer_time": at(10), "cost": "3.0000"}])  # stored while prepaid
    VoipProduct.objects.filter(product=product).update(billing_mode=BillingMode.POSTPAID)
    result = invoice_usage(run_date=NOV_1)
    assert result.invoices == 0 and not Invoice.objects.exists()


def test_a_service_under_half_a_cent_is_carried_to_the_next_period(pservice, source):
    calls(pservice, source, "0.0020")
    result = invoice_usage(run_date=NOV_1)
    assert (result.invoices, result.carried) == (0, 1)
    calls(pservice, source, "0.0040", day=20)
    stored_calls(pservice, source, [{"answer_time": datetime(2026, 11, 5, tzinfo=dt_timezone.utc),
                                     "cost": "0.0000", "postpaid": True}])
    invoice_usage(run_date=date(2026, 12, 1))
    item = InvoiceItem.objects.get()
    assert item.amount == Decimal("0.01")  # 0.0020 + 0.0040 + 0: nothing lost
    assert item.description.endswith("3 calls, 3 min (including 2 earlier calls rated since)")


def test_credit_is_applied_to_the_usage_invoice_like_any_invoice(pservice, source):
    ledger_post(client=pservice.client, kind=CreditLedgerEntry.Kind.TOPUP, amount=Decimal("1.00"), description="t")
    calls(pservice, source, "2.5000")
    invoice_usage(run_date=NOV_1)
    invoice = Invoice.objects.get()
    assert (invoice.credit_applied, invoice.balance) == (Decimal("1.00"), Decimal("1.50"))


def test_one_invoice_per_client_and_a_fixed_number_of_queries_per_batch(
    postpaid, source, django_assert_max_num_queries
):
    services = [VoipServiceFactory(client=ClientFactory(), product=postpaid, domain=f"t{n}.example") for n in range(12)]
    for svc in services:
        calls(svc, source, "1.0000", "0.5000")
    with django_assert_max_num_queries(40):  # not one per call nor per client
        result = invoice_usage(run_date=NOV_1)
    assert (result.invoices, result.lines, result.calls) == (12, 12, 24)
    assert sorted(Invoice.objects.values_list("client_id", "total")) == sorted(
        (svc.client_id, Decimal("1.50")) for svc in services
    )


def test_refresh_recomputes_rather_than_adds(pservice, source):
    calls(pservice, source, "1.2345")
    assert refresh_unbilled([pservice.client_id]) == {pservice.client_id: Decimal("1.2345")}
    assert refresh_unbilled([pservice.client_id]) == {pservice.client_id: Decimal("1.2345")}
    assert unbilled(pservice.client) == Decimal("1.2345")


def test_the_command_runs_for_a_date_and_records_the_job(pservice, source, capsys):
    calls(pservice, source, "1.0000")
    call_command("invoice_voip_usage", "--date", "2026-11-01")
    out = capsys.readouterr().out
    assert "2026-10-01 – 2026-10-31" in out and "1 invoice(s), 1 line(s), 1 call(s), 1.00" in out
    assert JobRun.objects.get(name="voip_usage_invoicing").status == JobRun.Status.SUCCESS


def test_the_due_date_follows_the_voip_settings(pservice, source):
    VoipSettings.objects.update_or_create(singleton=True, defaults={"usage_invoice_due_days": 30})
    calls(pservice, source, "1.0000")
    invoice_usage(run_date=NOV_1)
    assert Invoice.objects.get().due_date == date(2026, 12, 1)


def test_periods_and_labels():
    assert previous_period(date(2026, 11, 1)) == (date(2026, 10, 1), date(2026, 10, 31))
    assert previous_period(date(2026, 3, 15)) == (date(2026, 2, 1), date(2026, 2, 28))
    assert previous_period(date(2027, 1, 1)) == (date(2026, 12, 1), date(2026, 12, 31))
    assert period_label(date(2026, 10, 1), date(2026, 10, 31)) == "1–31 Oct 2026"
    assert period_label(date(2026, 9, 15), date(2026, 10, 31)) == "15 Sep – 31 Oct 2026"
    assert period_label(date(2025, 12, 1), date(2026, 1, 31)) == "1 Dec 2025 – 31 Jan 2026"


def test_the_job_is_scheduled_monthly():
    from portal.jobs import all_jobs

    job = {job.name: job for job in all_jobs()}["voip_usage_invoicing"]
    assert job.task == "voip.tasks.usage_invoicing"
    assert (job.schedule.day_of_month, job.schedule.hour, job.schedule.minute) == ({1}, {5}, {0})


def test_a_call_arriving_between_the_sum_and_the_mark_rolls_the_batch_back_and_it_is_done_again(
    pservice, source, monkeypatch
):
    from voip.services import invoicing

    calls(pservice, source, "1.0000")
    calls(pservice, source, "2.0000", day=30)
    original, attempts = invoicing._usage_rows, []

    def sum_taken_before_the_late_call(client_ids, first, after):
        rows = original(client_ids, first, after)
        if not attempts:  # the first sum missed the 2.0000 call: an import stored it just after
            rows[0].update(total=rows[0]["total"] - Decimal("2"), calls=rows[0]["calls"] - 1,
                           seconds=rows[0]["seconds"] - 60)
        attempts.append(rows)
        return rows

    monkeypatch.setattr(invoicing, "_usage_rows", sum_taken_before_the_late_call)
    result = invoice_usage(run_date=NOV_1)
    assert len(attempts) == 2 and (result.retried, result.invoices, result.calls) == (1, 1, 2)
    invoice = Invoice.objects.get()  # the first attempt left nothing: no invoice, no number used
    assert invoice.total == Decimal("3.00") and invoice.items.get().description.endswith("2 calls, 2 min")
    assert set(Cdr.objects.values_list("usage_invoice", flat=True)) == {invoice.pk}
    assert EmailLog.objects.filter(template_name=INVOICE_CREATED).count() == 1


@pytest.mark.django_db(transaction=True)
def test_two_runs_at_once_make_one_invoice(product, source):
    from django.db import connection

    if connection.vendor == "sqlite":
        pytest.skip("SQLite takes one writer at a time: the client row locks are exercised on MariaDB (CI)")
    import threading

    from django.db import connections

    ensure_invoice_sequence()
    VoipProduct.objects.filter(product=product).update(billing_mode=BillingMode.POSTPAID)
    services = [VoipServiceFactory(client=ClientFactory(), product=product, domain=f"race{n}.example")
                for n in range(6)]
    for svc in services:
        calls(svc, source, "1.0000", "0.2500")
    results, errors = [], []
    barrier = threading.Barrier(2)

    def run():
        try:
            barrier.wait()
            results.append(invoice_usage(run_date=NOV_1, batch_size=2))
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sum(result.invoices for result in results) == 6
    assert Invoice.objects.count() == 6 and InvoiceItem.objects.count() == 6
    assert sorted(Invoice.objects.values_list("total", flat=True)) == [Decimal("1.25")] * 6
    assert Cdr.objects.filter(usage_invoice__isnull=True).count() == 0
    assert len(set(Invoice.objects.values_list("number", flat=True))) == 6


def test_unmatched_calls_matched_again_to_a_postpaid_service_are_left_unbilled(service, source, postpaid):
    from voip.services.rerating import rematch_unmatched

    service.module_data = {"extensions": ["2002"]}
    service.save()
    upload(source, "portal.csv", "portal")
    service.module_data = {"extensions": ["1001"], "dids": ["12125550100"]}
    service.save()
    result = rematch_unmatched(source=source, actor=SYSTEM)
    assert (result.rated, result.charged) == (4, Decimal("0"))
    assert not CreditLedgerEntry.objects.exists()
    assert set(Cdr.objects.values_list("postpaid", flat=True)) == {True}
    assert unbilled(service.client) == Decimal("1.4254")


def test_re_rating_a_prepaid_call_still_posts_to_credit_and_leaves_unbilled_usage_alone(service, source, package):
    from voip.models import Rate

    upload(source, "portal.csv", "portal")
    Rate.objects.filter(package=package, prefix="1212").update(connect_fee=Decimal("0"))
    package.rates_version += 1
    package.save()
    result = rerate_service(service=service, start=date(2024, 1, 15), end=date(2024, 1, 15), actor=SYSTEM)
    assert result.charged == Decimal("-0.2000")
    assert CreditLedgerEntry.objects.get(kind="adjustment").amount == Decimal("0.2000")
    assert not UnbilledUsage.objects.exists()
