"""Autosuspend scenarios (seed 002, voip-rating.md step 8): credit and unpaid invoices, the client's manual
fields, the "Has VoIP Service" gate, the remembered suspension mode, notices once per event."""
from decimal import Decimal

import pytest

from billing.emails import VOIP_ZERO_BALANCE
from billing.models import CreditLedgerEntry, EmailLog, Invoice, Service
from billing.services.ledger import ledger_post
from portal.models import Client
from provisioning import lifecycle
from provisioning.models import ModuleCall
from tests.factories import ClientFactory, InvoiceFactory, ProductFactory, ServiceFactory
from tests.voip.factories import SYSTEM, VoipProductFactory, VoipServiceFactory
from tests.voip.modules import PbxModule
from voip.services import autosuspend
from voip.services.autosuspend import run_sweep

pytestmark = pytest.mark.django_db

V = Client.VoipSuspended


@pytest.fixture(autouse=True)
def pbx(settings):
    settings.PROVISIONING_MODULES = [*settings.PROVISIONING_MODULES, "tests.voip.modules.PbxModule"]
    settings.VOIP_AUTOSUSPEND_UNGATED_MODULES = ["voip_pbx"]  # stands for FusionPBX: not gated by the client fields
    # The scenarios check the rules on the test's own connection (worker threads would open others, which
    # cannot see this test's uncommitted rows on MariaDB); the thread pool has its own transactional test.
    settings.VOIP_AUTOSUSPEND_THREADS = 1
    PbxModule.reset()
    yield PbxModule
    PbxModule.reset()


@pytest.fixture
def pbx_product():
    return VoipProductFactory(module="voip_pbx", module_options={"auto_suspend_mode": "gateway"})


def funded(credit="5.00", **fields):
    client = ClientFactory(**fields)
    if Decimal(credit):
        top_up(client, credit)
    return client


def top_up(client, amount):
    ledger_post(client=client, kind=CreditLedgerEntry.Kind.TOPUP, amount=Decimal(amount), description="Top-up")


def charge(client, amount):
    ledger_post(client=client, kind=CreditLedgerEntry.Kind.CDR_CHARGES, amount=-Decimal(amount), description="Calls")


def provisioned(client, product, domain):
    service = VoipServiceFactory(client=client, product=product, domain=domain, status=Service.Status.PENDING)
    return lifecycle.service_create(service=service, actor=SYSTEM)


def state(service):
    service.refresh_from_db()
    return service.status, service.suspend_reason, service.suspend_mode


def zero_balance_mails(client):
    return EmailLog.objects.filter(client=client, template_name=VOIP_ZERO_BALANCE).count()


def test_no_credit_suspends_with_the_products_mode_and_sends_one_notice(pbx_product):
    client = funded("0")
    service = provisioned(client, pbx_product, "pbx-a.example")
    result = run_sweep()
    assert result.suspended == [service.pk]
    assert state(service) == ("suspended", "voip_credit", "gateway")
    assert PbxModule.pbx["pbx-a.example"] == {"gateway": False, "extensions": True}
    assert zero_balance_mails(client) == 1
    assert str(run_sweep()) == "0 suspended, 0 unsuspended, 0 zero-balance e-mail(s)"  # nothing changes twice
    assert zero_balance_mails(client) == 1


def test_a_top_up_unsuspends_and_the_next_fall_is_a_new_event(pbx_product):
    client = funded("0")
    service = provisioned(client, pbx_product, "pbx-a.example")
    run_sweep()
    top_up(client, "10.00")
    assert run_sweep().unsuspended == [service.pk]
    assert state(service) == ("active", "", "")
    charge(client, "10.00")
    run_sweep()
    assert state(service)[0] == "suspended"
    assert zero_balance_mails(client) == 2


def test_mode_changed_while_suspended_unsuspends_what_was_suspended(pbx_product):
    """Seed 002's warning: suspended in gateway mode, the product switched to extension mode, then a top-up.
    The stored mode is handed back, so the gateway comes back up; nothing is left disabled."""
    client = funded("0")
    service = provisioned(client, pbx_product, "pbx-a.example")
    run_sweep()
    pbx_product.module_options = {"auto_suspend_mode": "extension"}
    pbx_product.save()
    top_up(client, "20.00")
    run_sweep()
    assert PbxModule.modes == [("suspend", "pbx-a.example", "gateway"), ("unsuspend", "pbx-a.example", "gateway")]
    assert PbxModule.pbx["pbx-a.example"] == {"gateway": True, "extensions": True}
    # The next suspension uses the product's new mode, and is undone the same way.
    charge(client, "20.00")
    run_sweep()
    assert state(service) == ("suspended", "voip_credit", "extension")
    top_up(client, "5.00")
    run_sweep()
    assert PbxModule.modes[2:] == [
        ("suspend", "pbx-a.example", "extension"), ("unsuspend", "pbx-a.example", "extension"),
    ]
    assert PbxModule.pbx["pbx-a.example"] == {"gateway": True, "extensions": True}


def test_unpaid_invoices_larger_than_the_credit_suspend(pbx_product):
    client = funded("5.00")
    service = provisioned(client, pbx_product, "pbx-a.example")
    InvoiceFactory(client=client, total=Decimal("3.00"), subtotal=Decimal("3.00"))
    assert run_sweep().suspended == []  # owing 3 with 5 of credit: covered
    InvoiceFactory(client=client, total=Decimal("4.00"), subtotal=Decimal("4.00"))
    assert run_sweep().suspended == [service.pk]  # owing 7 > 5


def test_unsuspension_waits_until_nothing_is_outstanding(pbx_product):
    client = funded("0")
    service = provisioned(client, pbx_product, "pbx-a.example")
    run_sweep()
    invoice = InvoiceFactory(client=client, total=Decimal("3.00"), subtotal=Decimal("3.00"))
    top_up(client, "10.00")
    assert run_sweep().unsuspended == []  # positive credit, but an invoice is unpaid
    assert state(service)[0] == "suspended"
    Invoice.objects.filter(pk=invoice.pk).update(status=Invoice.Status.PAID, amount_paid=Decimal("3.00"))
    assert run_sweep().unsuspended == [service.pk]


def test_an_unpaid_add_funds_invoice_is_not_a_debt(pbx_product):
    client = funded("5.00")
    service = provisioned(client, pbx_product, "pbx-a.example")
    InvoiceFactory(client=client, kind=Invoice.Kind.ADD_FUNDS, total=Decimal("50.00"), subtotal=Decimal("50.00"))
    assert run_sweep().suspended == []
    assert state(service)[0] == "active"


def test_override_no_exempts_the_client(pbx_product):
    client = funded("0", voip_suspended=V.NO)
    service = provisioned(client, pbx_product, "pbx-a.example")
    assert run_sweep().suspended == []
    # Set to No while suspended: the services come back even without credit.
    Client.objects.filter(pk=client.pk).update(voip_suspended=V.NONE)
    run_sweep()
    assert state(service)[0] == "suspended"
    Client.objects.filter(pk=client.pk).update(voip_suspended=V.NO)
    assert run_sweep().unsuspended == [service.pk]


def test_override_yes_keeps_the_services_suspended_whatever_the_credit(pbx_product):
    client = funded("50.00", voip_suspended=V.YES)
    service = provisioned(client, pbx_product, "pbx-a.example")
    assert run_sweep().suspended == [service.pk]
    service.refresh_from_db()
    assert service.suspend_reason_text == autosuspend.BY_OVERRIDE
    assert zero_balance_mails(client) == 0  # not a credit problem: no "VoIP Zero Balance"
    top_up(client, "10.00")
    assert run_sweep().unsuspended == []
    Client.objects.filter(pk=client.pk).update(voip_suspended=V.NONE)
    assert run_sweep().unsuspended == [service.pk]


def test_manual_voip_suspend_suspends_all_voip_services_and_clearing_it_restores_them(pbx_product):
    client = funded("50.00", manual_voip_suspend=True, voip_suspended=V.NO)  # manual wins over "No"
    first = provisioned(client, pbx_product, "pbx-a.example")
    second = provisioned(client, pbx_product, "pbx-b.example")
    mail = ServiceFactory(client=client, product=ProductFactory(module="fake"), domain="mail.example")
    assert sorted(run_sweep().suspended) == sorted([first.pk, second.pk])
    assert state(mail)[0] == "active"  # not a VoIP service
    assert state(first)[0] == "suspended" and first.suspend_reason_text == autosuspend.BY_MANUAL_FLAG
    Client.objects.filter(pk=client.pk).update(manual_voip_suspend=False)
    assert sorted(run_sweep().unsuspended) == sorted([first.pk, second.pk])


def test_has_voip_service_gates_the_custom_modules(pbx_product):
    custom = VoipProductFactory(module="fake")
    off = funded("0", has_voip_service=False)
    on = funded("0", has_voip_service=True)
    off_custom = provisioned(off, custom, "off.example")
    on_custom = provisioned(on, custom, "on.example")
    off_pbx = provisioned(off, pbx_product, "pbx-off.example")  # the ungated module ignores the field
    assert sorted(run_sweep().suspended) == sorted([on_custom.pk, off_pbx.pk])
    assert state(off_custom)[0] == "active"
    # Turning it off never strands a client: a healthy client's services still come back.
    Client.objects.filter(pk=on.pk).update(has_voip_service=False)
    top_up(on, "5.00")
    assert run_sweep().unsuspended == [on_custom.pk]


def test_services_suspended_for_other_reasons_are_left_alone(pbx_product):
    client = funded("10.00")
    overdue = provisioned(client, pbx_product, "pbx-a.example")
    lifecycle.service_suspend(service=overdue, actor=SYSTEM, reason=Service.SuspendReason.OVERDUE)
    assert run_sweep().unsuspended == []
    assert state(overdue)[1] == "overdue"


def test_a_provider_failure_leaves_the_service_for_the_next_sweep(pbx_product):
    client = funded("0")
    service = provisioned(client, pbx_product, "pbx-a.example")
    PbxModule.fail_next("suspend", "Gateway API down")
    result = run_sweep()
    assert result.failed == [(service.pk, "suspend", "Gateway API down")] and result.suspended == []
    assert state(service)[0] == "active"
    assert ModuleCall.objects.filter(action="suspend", success=False, awaiting_retry=True).exists()
    assert zero_balance_mails(client) == 0
    assert run_sweep().suspended == [service.pk]
    assert zero_balance_mails(client) == 1


def test_a_change_that_no_longer_holds_is_skipped(pbx_product):
    client = funded("0")
    service = provisioned(client, pbx_product, "pbx-a.example")
    changes = autosuspend.plan()
    top_up(client, "5.00")  # between the selection and the call
    assert autosuspend.apply_change(changes[0], SYSTEM) == (False, "")
    assert state(service)[0] == "active" and PbxModule.modes == []


def test_the_selection_takes_the_same_queries_whatever_the_number_of_clients(pbx_product, django_assert_num_queries):
    for _ in range(30):
        VoipServiceFactory(client=funded("5.00"), product=pbx_product, status=Service.Status.ACTIVE)
    suspended = [
        VoipServiceFactory(client=funded("5.00"), product=pbx_product, status=Service.Status.SUSPENDED,
                           suspend_reason="voip_credit")
        for _ in range(5)
    ]
    InvoiceFactory(client=suspended[0].client, total=Decimal("1.00"), subtotal=Decimal("1.00"))
    with django_assert_num_queries(4):  # owing clients, the scan, the suspended services, what their clients owe
        changes = autosuspend.plan()
    assert sorted(change.service_id for change in changes) == sorted(service.pk for service in suspended[1:])


@pytest.mark.django_db(transaction=True)
def test_provider_calls_run_concurrently_and_each_service_is_suspended_once(pbx_product, monkeypatch, settings):
    from django.db import connection

    if connection.vendor == "sqlite":
        pytest.skip("SQLite takes one writer at a time, so the sweep runs one call at a time there (CI: MariaDB)")
    import threading
    import time

    settings.VOIP_AUTOSUSPEND_THREADS = 4
    services = [provisioned(funded("0"), pbx_product, f"pbx-{n}.example") for n in range(8)]
    in_flight, most = [0], [0]
    lock = threading.Lock()
    original = PbxModule.suspend

    def slow_suspend(self, service, *, reason, mode=""):
        with lock:
            in_flight[0] += 1
            most[0] = max(most[0], in_flight[0])
        time.sleep(0.2)
        with lock:
            in_flight[0] -= 1
        return original(self, service, reason=reason, mode=mode)

    monkeypatch.setattr(PbxModule, "suspend", slow_suspend)
    result = run_sweep()
    assert sorted(result.suspended) == sorted(s.pk for s in services)
    assert sorted(domain for action, domain in PbxModule.calls if action == "suspend") == sorted(
        s.domain for s in services
    )
    assert most[0] > 1  # calls overlapped: not one after another
    assert run_sweep().suspended == []  # a second sweep finds nothing to do


# Postpaid (voip-rating.md step 8): balance = credit − unbilled usage − unpaid invoices; suspended at or below
# −(credit limit); unsuspended above it when nothing is overdue.


@pytest.fixture
def postpaid_product():
    from voip.models import BillingMode, VoipProduct

    product = VoipProductFactory(module="voip_pbx", module_options={"auto_suspend_mode": "gateway"})
    VoipProduct.objects.filter(product=product).update(billing_mode=BillingMode.POSTPAID)
    return product


def use(service, amount):
    """Unbilled postpaid calls of `amount` on the service (as an import leaves them)."""
    from django.utils import timezone

    from tests.voip.factories import CdrSourceFactory, stored_calls
    from voip.models import CdrSource
    from voip.services.unbilled import refresh_unbilled

    source = CdrSource.objects.filter(name="Uploads").first() or CdrSourceFactory()
    stored_calls(service, source, [{"answer_time": timezone.now(), "cost": amount, "postpaid": True}])
    refresh_unbilled([service.client_id])


def test_postpaid_runs_on_until_usage_reaches_the_credit_limit(postpaid_product):
    client = funded("0", voip_credit_limit=Decimal("50.00"))
    service = provisioned(client, postpaid_product, "pbx-a.example")
    assert run_sweep().suspended == []  # no credit, but postpaid: the limit is what counts
    use(service, "49.9900")
    assert run_sweep().suspended == []  # balance −49.99 > −50
    use(service, "0.0100")
    assert run_sweep().suspended == [service.pk]  # balance −50.00 ≤ −50
    service.refresh_from_db()
    assert (service.suspend_reason, service.suspend_reason_text) == ("voip_credit", autosuspend.BY_LIMIT)
    assert zero_balance_mails(client) == 1
    assert run_sweep().suspended == []


def test_postpaid_counts_credit_unbilled_usage_and_unpaid_invoices_together(postpaid_product):
    client = funded("10.00", voip_credit_limit=Decimal("50.00"))
    service = provisioned(client, postpaid_product, "pbx-a.example")
    use(service, "30.0000")
    InvoiceFactory(client=client, total=Decimal("29.00"), subtotal=Decimal("29.00"))
    assert run_sweep().suspended == []  # 10 − 30 − 29 = −49 > −50
    InvoiceFactory(client=client, kind=Invoice.Kind.ADD_FUNDS, total=Decimal("500.00"), subtotal=Decimal("500.00"))
    assert run_sweep().suspended == []  # an add-funds invoice is not a debt
    InvoiceFactory(client=client, total=Decimal("1.00"), subtotal=Decimal("1.00"))
    assert run_sweep().suspended == [service.pk]  # −50 ≤ −50


def test_postpaid_with_a_zero_limit_suspends_on_the_first_unbilled_call(postpaid_product):
    client = funded("0")
    service = provisioned(client, postpaid_product, "pbx-a.example")
    use(service, "0.0001")
    assert run_sweep().suspended == [service.pk]


def test_postpaid_unsuspends_above_the_threshold_only_when_nothing_is_overdue(postpaid_product):
    from datetime import timedelta

    from django.utils import timezone

    client = funded("0", voip_credit_limit=Decimal("20.00"))
    service = provisioned(client, postpaid_product, "pbx-a.example")
    use(service, "25.0000")
    run_sweep()
    assert state(service)[0] == "suspended"
    overdue = InvoiceFactory(client=client, total=Decimal("5.00"), subtotal=Decimal("5.00"),
                             due_date=timezone.localdate() - timedelta(days=1))
    top_up(client, "40.00")  # 40 − 25 − 5 = 10 > −20, but an invoice is past its due date
    assert run_sweep().unsuspended == []
    Invoice.objects.filter(pk=overdue.pk).update(due_date=timezone.localdate())  # due today: not overdue yet
    assert run_sweep().unsuspended == [service.pk]
    assert state(service) == ("active", "", "")


def test_postpaid_invoicing_moves_usage_into_an_invoice_without_changing_the_balance(postpaid_product):
    from datetime import date

    from django.utils import timezone

    from billing.services.payments import payment_record
    from voip.services.invoicing import invoice_usage

    client = funded("0", voip_credit_limit=Decimal("10.00"))
    service = provisioned(client, postpaid_product, "pbx-a.example")
    use(service, "12.0000")
    assert run_sweep().suspended == [service.pk]
    today = timezone.localdate()
    invoice_usage(run_date=today, period=(date(2000, 1, 1), today))
    invoice = Invoice.objects.get(client=client)
    assert invoice.total == Decimal("12.00")
    assert run_sweep().unsuspended == []  # the same −12 now as an unpaid invoice
    payment_record(invoice=invoice, amount=Decimal("12.00"), gateway="manual", transaction_id="t-1", actor=SYSTEM)
    assert run_sweep().unsuspended == [service.pk]


def test_a_clients_prepaid_services_keep_the_prepaid_rule(pbx_product, postpaid_product):
    client = funded("0", voip_credit_limit=Decimal("50.00"))
    prepaid = provisioned(client, pbx_product, "pbx-pre.example")
    postpaid = provisioned(client, postpaid_product, "pbx-post.example")
    assert run_sweep().suspended == [prepaid.pk]
    assert state(postpaid)[0] == "active"


def test_the_postpaid_overrides_still_win(postpaid_product):
    client = funded("0", voip_credit_limit=Decimal("0"), voip_suspended=V.NO)
    service = provisioned(client, postpaid_product, "pbx-a.example")
    use(service, "100.0000")
    assert run_sweep().suspended == []
    Client.objects.filter(pk=client.pk).update(voip_suspended=V.NONE, manual_voip_suspend=True)
    assert run_sweep().suspended == [service.pk]
    service.refresh_from_db()
    assert service.suspend_reason_text == autosuspend.BY_MANUAL_FLAG


def test_the_postpaid_selection_takes_the_same_queries(postpaid_product, pbx_product, django_assert_num_queries):
    over = []
    for n in range(20):
        client = funded("0", voip_credit_limit=Decimal("5.00"))
        service = VoipServiceFactory(client=client, product=postpaid_product, status=Service.Status.ACTIVE)
        if n % 4 == 0:
            use(service, "6.0000")
            over.append(service.pk)
    owing = funded("0", voip_credit_limit=Decimal("5.00"))
    owing_service = VoipServiceFactory(client=owing, product=postpaid_product, status=Service.Status.ACTIVE)
    InvoiceFactory(client=owing, total=Decimal("5.00"), subtotal=Decimal("5.00"))
    healthy = VoipServiceFactory(client=funded("0", voip_credit_limit=Decimal("5.00")), product=postpaid_product,
                                 status=Service.Status.SUSPENDED, suspend_reason="voip_credit")
    held = VoipServiceFactory(client=funded("0", voip_credit_limit=Decimal("5.00")), product=postpaid_product,
                              status=Service.Status.SUSPENDED, suspend_reason="voip_credit")
    use(held, "5.0000")
    with django_assert_num_queries(4):  # owing clients, the scan, the suspended services, what their clients owe
        changes = autosuspend.plan()
    assert sorted((change.action, change.service_id) for change in changes) == sorted(
        [*(("suspend", pk) for pk in [*over, owing_service.pk]), ("unsuspend", healthy.pk)]
    )
