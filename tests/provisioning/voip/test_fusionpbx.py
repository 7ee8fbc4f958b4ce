"""The FusionPBX module through the lifecycle functions, over HTTP against the simulator: Create verifies the
tenant, suspension follows Auto Suspend Mode, unsuspension reverses the mode stored on the service even after the
product's mode changed (seed 002's warning), errors come back as clear ModuleErrors, and call records stream."""
from datetime import UTC, datetime

import pytest

from billing.models import Service
from provisioning import lifecycle
from provisioning.models import ModuleCall
from provisioning.modules.base import CdrSourceRef, ModuleError
from provisioning.modules.fusionpbx.options import PRODUCT_OPTIONS
from provisioning.registry import get_module
from tests.provisioning.voip.conftest import ACTOR, TENANT, created
from voip.cdr_formats import CdrError, CdrRecord

S = Service.Status
pytestmark = pytest.mark.django_db


@pytest.fixture
def active(fpbx_service):
    return created(fpbx_service)


def set_mode(service, mode):
    """Staff change the product's Auto Suspend Mode (as on the product page)."""
    product = service.product
    product.module_options = PRODUCT_OPTIONS.clean({**product.module_options, "auto_suspend_mode": mode})
    product.save()


# --- create ---------------------------------------------------------------------------------------------------


def test_create_finds_the_tenant_and_its_extensions_and_keeps_their_uuids(fpbx_service, fusionpbx):
    service = fpbx_service()
    lifecycle.service_create(service=service, actor=ACTOR)
    service.refresh_from_db()
    domain = fusionpbx.domain(TENANT)
    assert service.status == S.ACTIVE
    assert service.module_data["fusionpbx_domain_uuid"] == domain.domain_uuid
    assert service.module_data["fusionpbx_extension_uuids"] == {
        "101": domain.extensions["101"].extension_uuid, "102": domain.extensions["102"].extension_uuid}
    assert "Found the tenant acme.pbx.example" in ModuleCall.objects.get(action="create").response_summary


def test_create_refuses_an_unknown_tenant_and_says_the_reseller_creates_it(fpbx_service):
    service = fpbx_service(tenant="nobody.example")
    with pytest.raises(ModuleError, match="does not exist on FusionPBX .* The reseller creates the domain") as info:
        lifecycle.service_create(service=service, actor=ACTOR)
    assert info.value.permanent
    service.refresh_from_db()
    assert service.status == S.PENDING


def test_create_refuses_missing_extensions_unless_the_product_creates_them(fpbx_service, fusionpbx):
    with pytest.raises(ModuleError, match=r"extension\(s\) 555 do not exist .* create_extensions"):
        lifecycle.service_create(service=fpbx_service(extensions=["101", "555"]), actor=ACTOR)
    service = fpbx_service(extensions=["101", "555"], create_extensions=True)
    lifecycle.service_create(service=service, actor=ACTOR)
    service.refresh_from_db()
    assert "555" in fusionpbx.domain(TENANT).extensions
    assert set(service.module_data["fusionpbx_extension_uuids"]) == {"101", "555"}


def test_create_without_a_tenant_says_where_to_set_it(fpbx_server):
    from tests.provisioning.voip.conftest import voip_service

    service = voip_service("fusionpbx", fpbx_server, {})
    with pytest.raises(ModuleError, match="has no FusionPBX tenant domain. Set it in the VoIP service section"):
        lifecycle.service_create(service=service, actor=ACTOR)


# --- suspension modes -----------------------------------------------------------------------------------------


def test_gateway_mode_disables_the_tenants_gateway_and_unsuspend_restarts_it(active, fusionpbx):
    service = active()
    lifecycle.service_suspend(service=service, actor=ACTOR, reason=Service.SuspendReason.VOIP_CREDIT,
                              mode="gateway")
    service.refresh_from_db()
    assert service.suspend_mode == "gateway"
    assert not fusionpbx.gateway_enabled(TENANT)
    assert fusionpbx.extension_enabled(TENANT, "101")  # extensions untouched
    assert service.module_data["fusionpbx_suspension"]["mode"] == "gateway"
    lifecycle.service_unsuspend(service=service, actor=ACTOR)
    service.refresh_from_db()
    assert fusionpbx.gateway_enabled(TENANT) and service.suspend_mode == ""
    assert service.module_data["fusionpbx_suspension"] is None


def test_extension_mode_disables_only_the_services_extensions(active, fusionpbx):
    service = active(auto_suspend_mode="extension")
    lifecycle.service_suspend(service=service, actor=ACTOR, reason=Service.SuspendReason.MANUAL)
    service.refresh_from_db()
    assert service.suspend_mode == "extension"
    assert not fusionpbx.extension_enabled(TENANT, "101") and not fusionpbx.extension_enabled(TENANT, "102")
    assert fusionpbx.extension_enabled(TENANT, "103")  # another client's extension on the shared domain
    assert fusionpbx.gateway_enabled(TENANT)
    lifecycle.service_unsuspend(service=service, actor=ACTOR)
    assert fusionpbx.extension_enabled(TENANT, "101") and fusionpbx.extension_enabled(TENANT, "102")


def test_suspended_by_extension_then_product_moved_to_gateway_unsuspends_the_extensions(active, fusionpbx):
    """Seed 002's first warning: 'Unsuspend enables gateway but extensions remain disabled' must not happen."""
    service = active(auto_suspend_mode="extension")
    lifecycle.service_suspend(service=service, actor=ACTOR, reason=Service.SuspendReason.VOIP_CREDIT,
                              mode="extension")
    set_mode(service, "gateway")
    lifecycle.service_unsuspend(service=service, actor=ACTOR)
    assert fusionpbx.extension_enabled(TENANT, "101") and fusionpbx.extension_enabled(TENANT, "102")
    assert fusionpbx.gateway_enabled(TENANT)
    assert "extension mode" in ModuleCall.objects.filter(action="unsuspend").latest("id").response_summary


def test_suspended_by_gateway_then_product_moved_to_extension_unsuspends_the_gateway(active, fusionpbx):
    """Seed 002's second warning: 'Unsuspend enables extensions but gateway remains disabled' must not happen."""
    service = active()
    lifecycle.service_suspend(service=service, actor=ACTOR, reason=Service.SuspendReason.VOIP_CREDIT,
                              mode="gateway")
    set_mode(service, "extension")
    lifecycle.service_unsuspend(service=service, actor=ACTOR)
    assert fusionpbx.gateway_enabled(TENANT)
    service.refresh_from_db()
    assert service.status == S.ACTIVE


def test_a_tenant_corrected_after_create_is_the_one_suspended(active, fusionpbx):
    fusionpbx.add_domain("right.example", extensions=["101", "102"])
    service = active()
    Service.objects.filter(pk=service.pk).update(module_data={**service.module_data, "tenant": "right.example"})
    service.refresh_from_db()
    lifecycle.service_suspend(service=service, actor=ACTOR, reason=Service.SuspendReason.MANUAL, mode="gateway")
    assert not fusionpbx.gateway_enabled("right.example") and fusionpbx.gateway_enabled(TENANT)


def test_unsuspend_reenables_only_what_the_suspension_switched_off(active, fusionpbx):
    service = active(extensions=["101", "102"], auto_suspend_mode="extension")
    fusionpbx.set_extension(TENANT, "102", enabled=False)  # disabled by the reseller before, for its own reasons
    lifecycle.service_suspend(service=service, actor=ACTOR, reason=Service.SuspendReason.MANUAL)
    service.refresh_from_db()
    assert service.module_data["fusionpbx_suspension"]["extensions"] == ["101"]
    lifecycle.service_unsuspend(service=service, actor=ACTOR)
    assert fusionpbx.extension_enabled(TENANT, "101") and not fusionpbx.extension_enabled(TENANT, "102")


def test_suspending_what_is_already_disabled_succeeds_and_records_it_so_nobody_is_stranded(active, fusionpbx):
    service = active()
    fusionpbx.set_gateway(TENANT, "carrier", enabled=False)  # a half-finished earlier attempt
    lifecycle.service_suspend(service=service, actor=ACTOR, reason=Service.SuspendReason.MANUAL, mode="gateway")
    assert "already disabled" in ModuleCall.objects.get(action="suspend").response_summary
    lifecycle.service_unsuspend(service=service, actor=ACTOR)
    assert fusionpbx.gateway_enabled(TENANT)


def test_a_service_suspended_without_a_recorded_mode_is_unsuspended_both_ways(active, fusionpbx):
    service = active()
    fusionpbx.set_gateway(TENANT, "carrier", enabled=False)
    fusionpbx.set_extension(TENANT, "101", enabled=False)
    Service.objects.filter(pk=service.pk).update(status=S.SUSPENDED, suspend_mode="")  # imported as suspended
    service.refresh_from_db()
    lifecycle.service_unsuspend(service=service, actor=ACTOR)
    assert fusionpbx.gateway_enabled(TENANT) and fusionpbx.extension_enabled(TENANT, "101")
    assert "no recorded mode" in ModuleCall.objects.get(action="unsuspend").response_summary


def test_gateway_mode_needs_a_gateway_and_extension_mode_needs_extensions(active, fusionpbx):
    fusionpbx.add_domain("bare.example", extensions=["201"], gateways=())
    service = active(tenant="bare.example", extensions=["201"])
    with pytest.raises(ModuleError, match="has no gateway, so gateway mode cannot suspend it"):
        lifecycle.service_suspend(service=service, actor=ACTOR, reason=Service.SuspendReason.MANUAL, mode="gateway")
    lonely = active(extensions=[])
    with pytest.raises(ModuleError, match=r"has no extensions \(extension mode suspends"):
        lifecycle.service_suspend(service=lonely, actor=ACTOR, reason=Service.SuspendReason.MANUAL, mode="extension")


def test_without_the_portal_app_suspension_fails_permanently_with_what_to_install(active, fusionpbx):
    service = active()
    fusionpbx.portal_app_installed = False
    with pytest.raises(ModuleError, match="does not know the portal's FusionPBX app 'portal_billing'") as info:
        lifecycle.service_suspend(service=service, actor=ACTOR, reason=Service.SuspendReason.MANUAL)
    assert info.value.permanent
    service.refresh_from_db()
    assert service.status == S.ACTIVE


# --- terminate, password, connection -------------------------------------------------------------------------


def test_terminate_disables_the_extensions_and_deletes_nothing(active, fusionpbx):
    service = active()
    lifecycle.service_terminate(service=service, actor=ACTOR, delete_data=True)
    assert not fusionpbx.extension_enabled(TENANT, "101")
    assert "101" in fusionpbx.domain(TENANT).extensions
    assert "cannot delete" in ModuleCall.objects.get(action="terminate").response_summary


def test_terminate_of_a_service_without_extensions_disables_the_gateway(active, fusionpbx):
    lifecycle.service_terminate(service=active(extensions=[]), actor=ACTOR)
    assert not fusionpbx.gateway_enabled(TENANT)


def test_change_password_is_not_offered(active):
    with pytest.raises(ModuleError, match="no password change") as info:
        lifecycle.service_change_password(service=active(), actor=ACTOR, new_password="Whatever-123")
    assert info.value.permanent


def test_test_connection_checks_the_key_and_the_portal_app(fpbx_server, fusionpbx):
    from provisioning.lifecycle import server_ref

    module = get_module("fusionpbx")
    assert "the API key is accepted; portal app portal_billing version 1" in module.test_connection(
        server_ref(fpbx_server)).message
    fpbx_server.settings = {**fpbx_server.settings, "test_domain": TENANT}
    assert f"found {TENANT}" in module.test_connection(server_ref(fpbx_server)).message
    fusionpbx.portal_app_installed = False
    assert "Warning: the portal app 'portal_billing' is not installed" in module.test_connection(
        server_ref(fpbx_server)).message


# --- provider errors ------------------------------------------------------------------------------------------


def test_a_wrong_api_key_is_a_permanent_error_saying_which_credentials(fpbx_service):
    service = fpbx_service()
    service.server.password = "wrong-secret"
    service.server.save()
    with pytest.raises(ModuleError, match=r"refused the REST API key \(401 unauthorized\).*key_uuid") as info:
        lifecycle.service_create(service=service, actor=ACTOR)
    assert info.value.permanent


@pytest.mark.parametrize("status", [500, 503])
def test_server_errors_are_temporary_and_leave_the_state(active, fusionpbx, status):
    service = active()
    fusionpbx.fail("status", status=status, times=3)
    with pytest.raises(ModuleError, match=f"answered {status}") as info:
        lifecycle.service_suspend(service=service, actor=ACTOR, reason=Service.SuspendReason.MANUAL)
    assert not info.value.permanent
    service.refresh_from_db()
    assert service.status == S.ACTIVE
    assert ModuleCall.objects.get(action="suspend", success=False).awaiting_retry


def test_a_timeout_is_retried_for_reads_then_reported_as_temporary(active, fusionpbx):
    service = active()
    service.server.settings = {**service.server.settings, "read_timeout": 1}
    service.server.save()
    fusionpbx.fail("timeout", seconds=2, times=1)
    lifecycle.service_suspend(service=service, actor=ACTOR, reason=Service.SuspendReason.MANUAL)  # retried read
    assert not fusionpbx.gateway_enabled(TENANT)
    fusionpbx.fail("timeout", seconds=2, times=3)
    with pytest.raises(ModuleError, match="timed out") as info:
        lifecycle.service_unsuspend(service=service, actor=ACTOR)
    assert not info.value.permanent


def test_extension_already_exists_from_an_earlier_attempt_counts_as_created(fpbx_service, fusionpbx, monkeypatch):
    """extension-create answers 500 {"error": "extension already exists"} when an earlier attempt made it but
    lost the answer: Create goes on (and a 500 that is a refusal is not retried as an outage)."""
    from provisioning.modules.fusionpbx.module import FusionPbxModule

    fusionpbx.add_domain(TENANT, extensions=["777"])
    real = FusionPbxModule._extensions
    calls = []

    def stale_first_listing(client, domain_uuid):
        listing = real(client, domain_uuid)
        calls.append(1)
        return {k: v for k, v in listing.items() if k != "777"} if len(calls) == 1 else listing

    monkeypatch.setattr(FusionPbxModule, "_extensions", staticmethod(stale_first_listing))
    service = fpbx_service(extensions=["101", "777"], create_extensions=True)
    lifecycle.service_create(service=service, actor=ACTOR)
    service.refresh_from_db()
    assert service.module_data["fusionpbx_extension_uuids"]["777"] == fusionpbx.domain(TENANT).extensions["777"].extension_uuid
    assert fusionpbx.actions.count(("extension-create", None)) == 1


# --- call records ---------------------------------------------------------------------------------------------


def source_for(server, **options):
    from provisioning.lifecycle import server_ref

    return CdrSourceRef(id=1, kind="fusionpbx", server=server_ref(server), options=options)


def test_fetch_cdrs_streams_every_row_over_pages_with_the_rating_rules(fpbx_server, fusionpbx, monkeypatch):
    monkeypatch.setattr("provisioning.modules.fusionpbx.module.CDR_PAGE", 7)
    rows = fusionpbx.seed_cdrs(TENANT, 40, seed=3)
    items = list(get_module("fusionpbx").fetch_cdrs(source_for(fpbx_server), None))
    assert len(items) == 40 and all(isinstance(item, CdrRecord) for item in items)
    assert [item.external_id for item in items] == [r["xml_cdr_uuid"] for r in sorted(
        rows, key=lambda r: (r["end_epoch"], r["xml_cdr_uuid"]))]
    by_id = {item.external_id: item for item in items}
    for row in rows:
        record = by_id[row["xml_cdr_uuid"]]
        assert record.account == TENANT and record.billsec == row["billsec"]
        assert record.fields[2] == row["extension"]
        if row["direction"] == "inbound":
            assert record.number == row["caller_destination"]
        elif row["direction"] == "outbound":
            assert record.number == row["destination_number"]
        if row["billsec"]:
            assert record.answer_time == datetime.fromtimestamp(row["answer_epoch"], UTC)  # epochs, never stamps
        if row["leg"] == "b":
            assert record.ignore_reason.startswith("b-leg")
        if row["direction"] == "local":
            assert record.ignore_reason.startswith("local call")
    assert fusionpbx.actions.count(("xml-cdr-list", "portal_billing")) == 6  # 40 rows in pages of 7


def test_fetch_cdrs_since_a_time_returns_calls_ended_from_then(fpbx_server, fusionpbx):
    rows = fusionpbx.seed_cdrs(TENANT, 20)
    cut = sorted(r["end_epoch"] for r in rows)[10]
    items = list(get_module("fusionpbx").fetch_cdrs(source_for(fpbx_server), datetime.fromtimestamp(cut, UTC)))
    assert {item.external_id for item in items} == {r["xml_cdr_uuid"] for r in rows if r["end_epoch"] >= cut}


def test_malformed_rows_are_errors_with_their_position_and_the_good_rows_still_come(fpbx_server, fusionpbx):
    fusionpbx.add_cdr(TENANT, end_epoch=1767225700)
    fusionpbx.add_cdr(TENANT, end_epoch=1767225800, direction="sideways")
    fusionpbx.add_cdr(TENANT, end_epoch=1767225900, billsec="lots")
    fusionpbx.add_cdr(TENANT, end_epoch=1767226000, direction="outbound", destination_number="")
    fusionpbx.add_cdr(TENANT, end_epoch=1767226100, answer_epoch="soon")
    fusionpbx.add_cdr(TENANT, end_epoch=1767226200)
    items = list(get_module("fusionpbx").fetch_cdrs(source_for(fpbx_server), None))
    assert [type(item).__name__ for item in items] == ["CdrRecord", "CdrError", "CdrError", "CdrError", "CdrError",
                                                       "CdrRecord"]
    errors = [item for item in items if isinstance(item, CdrError)]
    assert [error.line for error in errors] == [2, 3, 4, 5]
    assert "direction must be inbound, outbound or local" in errors[0].reason
    assert "billsec" in errors[1].reason and "empty destination_number" in errors[2].reason
    assert "answer_epoch" in errors[3].reason


def test_fetch_cdrs_of_chosen_domains_only(fpbx_server, fusionpbx):
    fusionpbx.add_domain("other.example", extensions=["100"])
    fusionpbx.seed_cdrs(TENANT, 5)
    fusionpbx.seed_cdrs("other.example", 4)
    module = get_module("fusionpbx")
    assert len(list(module.fetch_cdrs(source_for(fpbx_server), None))) == 9
    only = list(module.fetch_cdrs(source_for(fpbx_server, domains=["other.example"]), None))
    assert len(only) == 4 and {item.account for item in only} == {"other.example"}
    with pytest.raises(ModuleError, match="nobody.example does not exist"):
        list(module.fetch_cdrs(source_for(fpbx_server, domains=["nobody.example"]), None))


def test_fetch_cdrs_uses_the_sources_own_credentials_when_set(fpbx_server, fusionpbx):
    from provisioning.lifecycle import server_ref

    fusionpbx.seed_cdrs(TENANT, 2)
    source = CdrSourceRef(id=1, kind="fusionpbx", server=server_ref(fpbx_server), username="x", password="y")
    with pytest.raises(ModuleError, match="401"):
        list(get_module("fusionpbx").fetch_cdrs(source, None))
