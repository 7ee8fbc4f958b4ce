"""The demo's VoIP billing (voip.demo): a month of calls imported through the pipeline, rated and debited, a
low-balance alert for alice, frank autosuspended for zero credit, two weeks of FusionPBX calls read from the
simulator's v_xml_cdr, carol's Hosted PBX suspended in extension mode, and the Vodia, LesNet and FusionPBX
simulators seeded."""
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.db.models import Sum
from django.urls import reverse

from billing.emails import LOW_BALANCE, VOIP_ZERO_BALANCE
from billing.models import CreditLedgerEntry, EmailLog, Product, Service
from billing.selectors import ledger_balance
from config import demo
from portal.activity import Actor
from portal.models import ActivityLog, Client
from provisioning import lifecycle
from provisioning.models import Server
from provisioning.modules.fusionpbx.options import SERVER_SETTINGS as FUSION_SETTINGS
from provisioning.modules.fusionpbx.simulator import FusionPbxSimulator
from provisioning.modules.lesnet.simulator import LesNetSimulator
from provisioning.modules.vodia.simulator import VodiaSimulator
from voip import demo as voip_demo
from voip import demo_fusionpbx
from voip.models import Cdr, CdrImport, CdrSource, RatePackage, VoipProduct
from voip.money import exact_sum

pytestmark = pytest.mark.django_db

ALICE, FRANK, BOB = "alice@acme.example", "frank@northwind.example", "bob@globex.example"
CAROL = "carol@initech.example"


@pytest.fixture(autouse=True)
def no_simulators_from_the_environment(monkeypatch):
    for variable in (voip_demo.VODIA_URL_VARIABLE, voip_demo.LESNET_URL_VARIABLE, voip_demo.FUSION_URL_VARIABLE,
                     "DEMO_SMARTERMAIL_URL", "DEMO_POLARISMAIL_URL"):
        monkeypatch.delenv(variable, raising=False)


def test_load_demo_loads_an_empty_database():
    # How long it takes is measured by bench/demo_load.py (docs/benchmarks.md), not asserted here.
    out = StringIO()
    call_command("load_demo", stdout=out)
    assert "Demo data loaded." in out.getvalue()
    assert Client.objects.count() == len(demo.CLIENTS)


def test_a_month_of_calls_comes_through_the_import_pipeline_and_is_debited():
    demo.load_demo()
    push, lesnet = CdrSource.objects.get(name=voip_demo.PUSH_SOURCE), CdrSource.objects.get(name=voip_demo.LESNET_SOURCE)
    fusion = CdrSource.objects.get(name=voip_demo.FUSION_SOURCE)
    imports = CdrImport.objects.all()
    assert {(i.source_id, i.kind) for i in imports} == {(push.pk, "push"), (lesnet.pk, "scheduled"),
                                                         (fusion.pk, "scheduled")}
    assert set(imports.values_list("status", flat=True)) == {"done"}
    assert imports.filter(source=lesnet).count() == voip_demo.HISTORY_DAYS
    assert imports.filter(source=fusion).count() == voip_demo.FUSION_HISTORY_DAYS
    assert sum(imports.values_list("inserted", flat=True)) == Cdr.objects.count()
    assert 300 <= Cdr.objects.count() <= 1500
    rated = Cdr.objects.filter(status="rated")
    assert set(rated.values_list("service__domain", flat=True)) == {
        "acme.example", "northwind.example", "northwind-sales.example", "globex-trunk.example", "globex-pbx.example",
        "initech-pbx.example"}
    assert {"USA/Canada", "Canada Toronto", "United Kingdom mobile", "Germany mobile"} <= set(
        rated.values_list("destination", flat=True))
    days = {answered.date() for answered in rated.values_list("answer_time", flat=True)}
    assert len(days) >= 25  # spread over the month
    for client in Client.objects.all():  # every debit is the sum of the client's rated calls, once
        charges = CreditLedgerEntry.objects.filter(client=client, kind="cdr_charges").aggregate(t=Sum("amount"))["t"]
        costs = rated.filter(service__client=client).aggregate(t=Sum("cost"))["t"]
        assert exact_sum(charges) == -exact_sum(costs)
        assert client.credit_balance == ledger_balance(client)


def test_alice_has_call_records_a_spend_chart_positive_credit_and_a_low_balance_alert(client):
    demo.load_demo()
    alice = Client.objects.get(email=ALICE)
    assert Decimal(0) < alice.credit_balance <= alice.low_balance_threshold
    assert alice.low_balance_alert_sent_at is not None
    # Two crossings: before her mid-month top-up and after it (the top-up re-armed the alert).
    assert EmailLog.objects.filter(client=alice, template_name=LOW_BALANCE).count() == 2
    service = Service.objects.get(domain="acme.example", product__type=Product.Type.VOIP)
    assert service.status == "active"
    assert Cdr.objects.filter(service=service, status="rated").count() > 100
    client.post("/login/", {"username": ALICE, "password": demo.CLIENT_PASSWORD})
    page = client.get(reverse("clientarea:voip_calls", args=[service.pk]))
    assert page.status_code == 200
    chart = page.context["chart"]
    assert "<svg" in chart and "<rect" in chart  # bars: days with spend
    assert page.context["totals"].cost > 0 and page.context["totals"].calls > 50
    # A call is one row: the demo's outbound calls push an extension leg and a trunk leg (one PrimaryCallID); the
    # page counts calls, not legs, and lists no extension legs.
    from voip.selectors import CallFilter, period_bounds

    shown = CallFilter.default()
    first, after = period_bounds(shown.start, shown.end)
    answered = Cdr.objects.filter(service=service, answer_time__gte=first, answer_time__lt=after)
    assert page.context["totals"].calls == answered.values("call_id").distinct().count() < answered.count()
    assert {call.direction for call in page.context["page"].object_list} <= {"outbound", "inbound"}


def test_frank_runs_out_of_credit_and_the_sweep_suspends_his_vodia_services():
    demo.load_demo()
    frank = Client.objects.get(email=FRANK)
    assert frank.credit_balance <= 0 and frank.has_voip_service
    suspended = Service.objects.filter(status="suspended", suspend_reason=Service.SuspendReason.VOIP_CREDIT,
                                       product__module="vodia")
    assert {s.domain for s in suspended} == {"northwind.example", "northwind-sales.example"}
    assert {s.client_id for s in suspended} == {frank.pk}  # the only Vodia client suspended for VoIP credit
    by_domain = {s.domain: s.module_data["vodia_suspension"]["extensions"] for s in suspended}
    assert by_domain == {"northwind.example": ["200", "201"], "northwind-sales.example": ["300", "301", "302"]}
    assert EmailLog.objects.filter(client=frank, template_name=VOIP_ZERO_BALANCE).count() == 1
    # Frank's two and carol's Hosted PBX (test_carol_runs_short_...).
    assert ActivityLog.objects.filter(actor_label="system:voip_autosuspend", action="service.suspend").count() == 3
    # No call after the suspension: the PBX's extensions were disabled.
    last_call = Cdr.objects.filter(service__client=frank).latest("answer_time").answer_time
    assert all(last_call <= s.suspended_at for s in suspended)
    assert set(Service.objects.filter(status="suspended", product__type=Product.Type.VOIP).exclude(client=frank)
               .values_list("client__email", "product__module")) == {(CAROL, "fusionpbx")}


def test_the_rate_package_products_and_sources_are_configured():
    demo.load_demo()
    package = RatePackage.objects.get(name=voip_demo.PACKAGE_NAME)
    rates = package.rates.all()
    assert rates.count() == 14
    assert {(r.minimum_seconds, r.increment_seconds) for r in rates} == {(6, 6), (1, 1), (60, 60), (30, 6)}
    assert any(r.connect_fee > 0 for r in rates)
    assert set(VoipProduct.objects.values_list("product__module", "rate_package")) == {
        ("vodia", package.pk), ("lesnet", package.pk), ("fusionpbx", package.pk)}
    hosted = Product.objects.get(name=voip_demo.FUSION_PRODUCT)
    assert (hosted.module, hosted.module_options["auto_suspend_mode"]) == ("fusionpbx", "extension")
    fusion = CdrSource.objects.get(name=voip_demo.FUSION_SOURCE)
    assert (fusion.kind, fusion.schedule, fusion.server.name) == ("fusionpbx", "daily", voip_demo.FUSION_SERVER)
    server = Server.objects.get(name=voip_demo.FUSION_SERVER)
    settings = FUSION_SETTINGS.resolve(server.settings)
    assert settings["database_url"].startswith("sqlite:///") and settings["event_socket_port"] > 0
    assert (server.module, server.username, settings["event_socket_password"]) == (
        "fusionpbx", "00000000-0000-4000-8000-000000000001", "ClueCon")
    push = CdrSource.objects.get(name=voip_demo.PUSH_SOURCE)
    assert (push.kind, push.schedule, push.push_username) == ("vodia", "manual", voip_demo.PUSH_USERNAME)
    assert push.push_password == voip_demo.PUSH_PASSWORD
    lesnet = CdrSource.objects.get(name=voip_demo.LESNET_SOURCE)
    assert (lesnet.kind, lesnet.schedule, lesnet.server.module) == ("lesnet", "daily", "lesnet")
    assert Client.objects.filter(has_voip_service=True).count() == 2


def test_loading_twice_imports_and_charges_nothing_more():
    demo.load_demo()
    counts = (Cdr.objects.count(), CdrImport.objects.count(), CreditLedgerEntry.objects.count(),
              EmailLog.objects.count())
    assert demo.load_demo() is False
    assert voip_demo.load_calls() == 0
    assert (Cdr.objects.count(), CdrImport.objects.count(), CreditLedgerEntry.objects.count(),
            EmailLog.objects.count()) == counts


def test_each_start_points_the_voip_servers_at_the_simulators_and_seeds_them(monkeypatch):
    vodia = VodiaSimulator().start()
    lesnet = LesNetSimulator().start()  # run.py's defaults; the demo sets its rows per day
    try:
        monkeypatch.setenv(voip_demo.VODIA_URL_VARIABLE, vodia.url)
        monkeypatch.setenv(voip_demo.LESNET_URL_VARIABLE, lesnet.url)
        demo.load_demo()
        assert Server.objects.get(name=voip_demo.VODIA_SERVER).port == vodia.port
        assert Server.objects.get(name=voip_demo.LESNET_SERVER).port == lesnet.port
        assert set(vodia.tenants) == {"acme.pbx.example", "northwind.pbx.example", "northwind-sales.pbx.example"}
        assert vodia.extension_disabled("northwind.pbx.example", "200") is True  # suspended in the portal
        assert vodia.extension_disabled("acme.pbx.example", "100") is False
        trunk = Service.objects.get(domain="globex-trunk.example")
        assert trunk.module_data["cdr_url"] == lesnet.url_for("11330")
        # The simulator serves yesterday's file, which the demo imported already: the daily import adds nothing.
        from voip.services.fetching import import_source

        again = import_source(source_id=CdrSource.objects.get(name=voip_demo.LESNET_SOURCE).pk)
        assert (again.status, again.lines_read, again.inserted) == ("done", voip_demo.LESNET_ROWS_PER_DAY, 0)
    finally:
        vodia.stop()
        lesnet.stop()


def test_two_weeks_of_fusionpbx_calls_are_read_from_v_xml_cdr_rated_and_debited():
    demo.load_demo()
    fusion = CdrSource.objects.get(name=voip_demo.FUSION_SOURCE)
    imports = CdrImport.objects.filter(source=fusion)
    assert set(imports.values_list("kind", "status")) == {("scheduled", "done")}
    assert sum(imports.values_list("inserted", flat=True)) == Cdr.objects.filter(source=fusion).count()
    calls = Cdr.objects.filter(source=fusion)
    assert not calls.filter(service__isnull=True).exists()  # every row matched by its extension or DID
    assert set(calls.values_list("status", flat=True)) == {"rated", "ignored"}  # ignored: unanswered, local
    for email, domain in ((BOB, "globex-pbx.example"), (CAROL, "initech-pbx.example")):
        service = Service.objects.get(client__email=email, product__module="fusionpbx")
        assert service.domain == domain
        rated = calls.filter(service=service, status="rated")
        assert rated.count() > 20 and all(cost > 0 for cost in rated.values_list("cost", flat=True))
        assert rated.filter(direction="inbound").exists() and rated.filter(direction="outbound").exists()
    days = {at.date() for at in calls.filter(status="rated").values_list("answer_time", flat=True)}
    assert len(days) == voip_demo.FUSION_HISTORY_DAYS  # bob called on every day of the two weeks
    bob = Client.objects.get(email=BOB)
    assert bob.credit_balance > 12  # above his unpaid mail invoice: his Hosted PBX stays up


def test_carol_runs_short_of_credit_and_the_sweep_suspends_her_hosted_pbx_in_extension_mode():
    demo.load_demo()
    carol = Client.objects.get(email=CAROL)
    service = Service.objects.get(client=carol, product__module="fusionpbx")
    assert (service.status, service.suspend_reason, service.suspend_mode) == (
        "suspended", Service.SuspendReason.VOIP_CREDIT, "extension")
    assert service.module_data["fusionpbx_suspension"] == {"mode": "extension", "gateways": [],
                                                           "extensions": ["400", "401", "402"]}
    assert 0 < carol.credit_balance < Decimal("4.00")  # her unpaid invoice (4.00) exceeds what is left
    assert Service.objects.get(client__email=BOB, product__module="fusionpbx").status == "active"
    # She called until the suspension, not after it: fewer days of calls than the two weeks.
    rated = Cdr.objects.filter(service=service, status="rated")
    days = {at.date() for at in rated.values_list("answer_time", flat=True)}
    assert 5 <= len(days) < voip_demo.FUSION_HISTORY_DAYS
    assert ActivityLog.objects.filter(actor_label="system:voip_autosuspend", action="service.suspend",
                                      target_id=service.pk).count() == 1


def test_each_start_seeds_the_fusionpbx_simulator_with_the_tenant_the_calls_and_the_suspension(monkeypatch):
    simulator = FusionPbxSimulator().start()
    try:
        monkeypatch.setenv(voip_demo.FUSION_URL_VARIABLE, simulator.url)
        demo.load_demo()
        server = Server.objects.get(name=voip_demo.FUSION_SERVER)
        settings = FUSION_SETTINGS.resolve(server.settings)
        assert (server.port, settings["database_url"], settings["event_socket_port"]) == (
            simulator.port, simulator.database_url, simulator.event_socket.port)
        tenant = demo_fusionpbx.TENANT
        domain = simulator.domain(tenant)
        # The portal's state: carol's extensions (suspended) off, bob's on, the shared gateway up and running.
        assert {n: e.enabled for n, e in domain.extensions.items()} == {
            "400": False, "401": False, "402": False, "500": True, "501": True, "502": True}
        assert [g.gateway for g in domain.gateways.values()] == [demo_fusionpbx.GATEWAY]
        assert simulator.gateway_enabled(tenant) is True
        # v_xml_cdr holds exactly the rows the demo imported, so the daily import adds nothing.
        fusion = CdrSource.objects.get(name=voip_demo.FUSION_SOURCE)
        assert {row["xml_cdr_uuid"] for row in simulator.cdr_rows()} == set(
            Cdr.objects.filter(source=fusion).values_list("external_id", flat=True))
        from voip.services.fetching import import_source

        again = import_source(source_id=fusion.pk)
        assert (again.status, again.inserted) == ("done", 0)
        # Staff's Unsuspend turns carol's extensions back on in the simulator (through its database and event
        # socket); a second start re-seeds the same state.
        carol = Service.objects.get(client__email=CAROL, product__module="fusionpbx")
        lifecycle.service_unsuspend(service=carol, actor=Actor.system("test"))
        carol.refresh_from_db()
        assert carol.status == "active"
        assert all(simulator.extension_enabled(tenant, ext) for ext in ("400", "401", "402"))
        assert voip_demo.attach_simulators()["fusionpbx"] == len(simulator.cdr_rows())
    finally:
        simulator.stop()


def test_a_restarted_fusionpbx_simulator_gets_a_terminated_services_extensions_disabled(monkeypatch):
    first = FusionPbxSimulator().start()
    try:
        monkeypatch.setenv(voip_demo.FUSION_URL_VARIABLE, first.url)
        demo.load_demo()
        bob = Service.objects.get(client__email=BOB, product__module="fusionpbx")
        lifecycle.service_terminate(service=bob, actor=Actor.system("test"))
        assert not first.extension_enabled(demo_fusionpbx.TENANT, "500")
    finally:
        first.stop()
    again = FusionPbxSimulator().start()  # run.py's next start: a fresh database
    try:
        assert voip_demo.attach_simulators(fusion_url=again.url)["fusionpbx"] > 0
        domain = again.domain(demo_fusionpbx.TENANT)
        assert {n for n, e in domain.extensions.items() if not e.enabled} == {"400", "401", "402", "500", "501", "502"}
        assert again.gateway_enabled(demo_fusionpbx.TENANT) is True  # extension mode never touches the gateway
    finally:
        again.stop()
