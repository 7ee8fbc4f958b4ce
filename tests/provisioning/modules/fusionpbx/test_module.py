"""The FusionPBX module through the lifecycle functions, against the simulator: Create verifies the tenant over
the REST add-on; suspension follows Auto Suspend Mode in FusionPBX's database (the simulator's SQLite file) and
tells FreeSWITCH over the (fake) event socket; unsuspension reverses the mode stored on the service even after
the product's mode changed (seed 002's warning); errors come back as clear ModuleErrors; call records stream
from v_xml_cdr. The same module against a real PostgreSQL is in test_fusionpbx_postgres.py."""
import re
from datetime import UTC, datetime

import pytest

from billing.models import Service
from provisioning import lifecycle
from provisioning.models import ModuleCall
from provisioning.modules.base import CdrSourceRef, ModuleError
from provisioning.modules.fusionpbx.options import PRODUCT_OPTIONS
from provisioning.modules.fusionpbx.simulator import SWITCHNAME
from provisioning.registry import get_module
from provisioning.telephony.cdrs import CdrError, CdrRecord
from tests.provisioning.modules.fusionpbx.fixtures import TENANT, fusionpbx_settings
from tests.provisioning.modules.voip_fixtures import ACTOR, created

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
    from tests.provisioning.modules.voip_fixtures import voip_service

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


# --- terminate, password, connection -------------------------------------------------------------------------


def test_terminate_in_extension_mode_disables_the_extensions_and_deletes_nothing(active, fusionpbx):
    service = active(auto_suspend_mode="extension")
    fusionpbx.seed_cdrs(TENANT, 3)
    lifecycle.service_terminate(service=service, actor=ACTOR, delete_data=True)
    assert not fusionpbx.extension_enabled(TENANT, "101") and not fusionpbx.extension_enabled(TENANT, "102")
    assert fusionpbx.extension_enabled(TENANT, "103") and fusionpbx.gateway_enabled(TENANT)
    assert "101" in fusionpbx.domain(TENANT).extensions and len(fusionpbx.cdr_rows()) == 3
    assert "never deletes" in ModuleCall.objects.get(action="terminate").response_summary
    assert fusionpbx.event_socket.commands[-1] == "reloadxml"


def test_terminate_in_gateway_mode_disables_and_stops_the_gateway(active, fusionpbx):
    lifecycle.service_terminate(service=active(), actor=ACTOR)
    assert fusionpbx.gateway_stopped(TENANT)
    assert fusionpbx.extension_enabled(TENANT, "101")


def test_terminate_of_a_domain_gone_from_fusionpbx_succeeds_with_nothing_to_do(active, fusionpbx):
    service = active()
    Service.objects.filter(pk=service.pk).update(module_data={**service.module_data, "tenant": "gone.example"})
    service.refresh_from_db()
    lifecycle.service_terminate(service=service, actor=ACTOR)
    service.refresh_from_db()
    assert service.status == S.TERMINATED
    assert "no longer exists in FusionPBX" in ModuleCall.objects.get(action="terminate").response_summary


def test_change_password_is_not_offered(active):
    with pytest.raises(ModuleError, match="no password change") as info:
        lifecycle.service_change_password(service=active(), actor=ACTOR, new_password="Whatever-123")
    assert info.value.permanent


def test_test_connection_checks_the_key_the_database_and_the_event_socket(fpbx_server, fusionpbx):
    from provisioning.lifecycle import server_ref

    module = get_module("fusionpbx")
    message = module.test_connection(server_ref(fpbx_server)).message
    assert "the API key is accepted" in message
    assert f"the FusionPBX database {fusionpbx.database_url} is readable" in message
    assert "FreeSWITCH's event socket answers (UP 0 years" in message
    assert fusionpbx.event_socket.commands == ["status"]
    fpbx_server.settings = {**fpbx_server.settings, "test_domain": TENANT}
    assert f"found {TENANT}" in module.test_connection(server_ref(fpbx_server)).message
    fpbx_server.settings = {**fpbx_server.settings, "database_url": ""}
    assert "Warning: no database URL is set" in module.test_connection(server_ref(fpbx_server)).message
    fusionpbx.event_socket.stop()
    fpbx_server.settings = fusionpbx_settings(fusionpbx, event_socket_port=1)
    with pytest.raises(ModuleError, match="Could not talk to FreeSWITCH's event socket at 127.0.0.1:1"):
        module.test_connection(server_ref(fpbx_server))


# --- what FreeSWITCH is told ------------------------------------------------------------------------------------


def test_gateway_suspension_clears_the_cached_sofia_conf_then_kills_the_gateway(active, fusionpbx):
    service = active()
    gateway = next(iter(fusionpbx.domain(TENANT).gateways))
    fusionpbx.sofia_conf()  # FusionPBX served (and cached) sofia.conf while the gateway was enabled
    lifecycle.service_suspend(service=service, actor=ACTOR, reason=Service.SuspendReason.MANUAL, mode="gateway")
    assert fusionpbx.event_socket.commands == [
        "switchname",
        f'lua ~local cache = require "resources.functions.cache"; local ok, err = cache.del("configuration:sofia.conf:'
        f'{SWITCHNAME}"); stream:write(ok and "+OK" or ("-ERR " .. tostring(err)))',
        f"sofia profile external killgw {gateway}",
    ]
    assert fusionpbx.gateway_stopped(TENANT)
    assert fusionpbx.sofia_conf() == {}  # a later rescan (by anyone) does not start it again


def test_the_module_call_record_lists_the_database_statements_and_switch_commands(active, fusionpbx):
    service = active()
    gateway = next(iter(fusionpbx.domain(TENANT).gateways))
    lifecycle.service_suspend(service=service, actor=ACTOR, reason=Service.SuspendReason.MANUAL, mode="gateway")
    steps = ModuleCall.objects.get(action="suspend").request["http"]
    assert {step["method"] for step in steps} == {"SQL", "ESL"}
    updates = [step for step in steps if step["method"] == "SQL" and step["body"].startswith("UPDATE v_gateways")]
    assert [step["rows"] for step in updates] == [1]
    assert updates[0]["url"] == fusionpbx.database_url and "error" not in updates[0]
    commands = [step["body"] for step in steps if step["method"] == "ESL"]
    assert commands[0] == "api switchname" and commands[-1] == f"api sofia profile external killgw {gateway}"
    assert all(step["url"] == f"esl://127.0.0.1:{fusionpbx.event_socket.port}" for step in steps
               if step["method"] == "ESL")


def test_gateway_unsuspension_rescans_with_a_fresh_sofia_conf(active, fusionpbx):
    service = active()
    lifecycle.service_suspend(service=service, actor=ACTOR, reason=Service.SuspendReason.MANUAL, mode="gateway")
    fusionpbx.sofia_conf()  # cached while the gateway was disabled: a stale cache would keep it stopped
    lifecycle.service_unsuspend(service=service, actor=ACTOR)
    assert fusionpbx.gateway_enabled(TENANT)
    assert fusionpbx.event_socket.commands[-1] == "sofia profile external rescan"


def test_extension_suspension_clears_each_directory_entry_and_its_alias_so_phones_are_refused(active, fusionpbx):
    fusionpbx.set_number_alias(TENANT, "101", "2101")
    service = active(auto_suspend_mode="extension")
    assert fusionpbx.directory_lookup(TENANT, "101") and fusionpbx.directory_lookup(TENANT, "2101")  # cached
    lifecycle.service_suspend(service=service, actor=ACTOR, reason=Service.SuspendReason.MANUAL)
    deleted = [command.split('cache.del("')[1].split('"')[0] for command in fusionpbx.event_socket.commands
               if "cache.del" in command]
    assert deleted == [f"directory:101@{TENANT}", f"directory:2101@{TENANT}", f"directory:102@{TENANT}"]
    assert fusionpbx.event_socket.commands[-1] == "reloadxml"
    assert not fusionpbx.directory_lookup(TENANT, "101") and not fusionpbx.directory_lookup(TENANT, "2101")
    assert fusionpbx.directory_lookup(TENANT, "103")
    lifecycle.service_unsuspend(service=service, actor=ACTOR)
    assert fusionpbx.directory_lookup(TENANT, "101") and fusionpbx.directory_lookup(TENANT, "102")


def test_a_memcache_installation_is_cleared_with_memcache_delete(fpbx_server, fpbx_service, fusionpbx):
    fpbx_server.settings = fusionpbx_settings(fusionpbx, cache_method="memcache")
    fpbx_server.save()
    fusionpbx.set_knobs({"cache_method": "memcache"})
    service = created(fpbx_service)(auto_suspend_mode="extension", extensions=["101"])
    fusionpbx.directory_lookup(TENANT, "101")
    lifecycle.service_suspend(service=service, actor=ACTOR, reason=Service.SuspendReason.MANUAL)
    assert fusionpbx.event_socket.commands == [f"memcache delete directory:101@{TENANT}", "reloadxml"]
    assert not fusionpbx.directory_lookup(TENANT, "101")


def test_cache_method_none_sends_no_cache_commands(fpbx_server, fpbx_service, fusionpbx):
    fpbx_server.settings = fusionpbx_settings(fusionpbx, cache_method="none")
    fpbx_server.save()
    fusionpbx.set_knobs({"cache_method": "none"})
    service = created(fpbx_service)()
    gateway = next(iter(fusionpbx.domain(TENANT).gateways))
    lifecycle.service_suspend(service=service, actor=ACTOR, reason=Service.SuspendReason.MANUAL, mode="gateway")
    assert fusionpbx.event_socket.commands == [f"sofia profile external killgw {gateway}"]


def test_a_cache_method_the_switch_does_not_have_is_a_permanent_error_after_the_change(fpbx_server, fpbx_service,
                                                                                         fusionpbx):
    fpbx_server.settings = fusionpbx_settings(fusionpbx, cache_method="memcache")  # but FusionPBX uses files
    fpbx_server.save()
    service = created(fpbx_service)(auto_suspend_mode="extension", extensions=["101"])
    with pytest.raises(ModuleError, match=r"Disabled the extension\(s\) 101 in FusionPBX's database, but FreeSWITCH "
                                          r"was not told: .*memcache Command not found.*cache_method") as info:
        lifecycle.service_suspend(service=service, actor=ACTOR, reason=Service.SuspendReason.MANUAL)
    assert info.value.permanent


# --- errors of the database and the event socket ------------------------------------------------------------------


def test_an_unreachable_event_socket_changes_nothing_and_is_retried(active, fusionpbx):
    service = active()
    fusionpbx.event_socket.stop()
    with pytest.raises(ModuleError, match="Could not talk to FreeSWITCH's event socket .* Nothing was changed") as info:
        lifecycle.service_suspend(service=service, actor=ACTOR, reason=Service.SuspendReason.MANUAL)
    assert not info.value.permanent
    assert fusionpbx.gateway_enabled(TENANT)
    service.refresh_from_db()
    assert service.status == S.ACTIVE
    assert ModuleCall.objects.get(action="suspend", success=False).awaiting_retry


def test_a_switch_lost_after_the_change_says_so_and_the_retry_finishes_the_job(active, fusionpbx):
    service = active()
    fusionpbx.set_knobs({"esl_hangup_on": "sofia profile"})
    with pytest.raises(ModuleError, match=r"Disabled the gateway\(s\) carrier of acme.pbx.example in FusionPBX's "
                                          r"database, but FreeSWITCH was not told: .*hung up|failed") as info:
        lifecycle.service_suspend(service=service, actor=ACTOR, reason=Service.SuspendReason.VOIP_CREDIT, mode="gateway")
    assert not info.value.permanent and "repeating the action is harmless" in info.value.message
    gateway = next(iter(fusionpbx.domain(TENANT).gateways.values()))
    assert not gateway.enabled and gateway.running  # in the database, not yet in the switch
    service.refresh_from_db()
    assert service.status == S.ACTIVE  # the portal does not claim a suspension that did not take effect
    fusionpbx.set_knobs({"esl_hangup_on": ""})
    lifecycle.service_suspend(service=service, actor=ACTOR, reason=Service.SuspendReason.VOIP_CREDIT, mode="gateway")
    service.refresh_from_db()
    assert service.status == S.SUSPENDED and fusionpbx.gateway_stopped(TENANT)
    assert service.module_data["fusionpbx_suspension"]["gateways"] == [gateway.gateway_uuid]
    lifecycle.service_unsuspend(service=service, actor=ACTOR)
    assert fusionpbx.gateway_enabled(TENANT)


@pytest.mark.parametrize("knob, settings, expected", [
    ({}, {"event_socket_password": "wrong"}, "refused the password"),
    ({"esl_reject": True}, {}, "refused this portal's address"),
])
def test_a_refusing_event_socket_is_a_permanent_error_and_changes_nothing(active, fpbx_server, fusionpbx, knob,
                                                                          settings, expected):
    service = active()
    fpbx_server.settings = fusionpbx_settings(fusionpbx, **settings)
    fpbx_server.save()
    fusionpbx.set_knobs(knob)
    with pytest.raises(ModuleError, match=expected) as info:
        lifecycle.service_suspend(service=service, actor=ACTOR, reason=Service.SuspendReason.MANUAL)
    assert info.value.permanent and "Nothing was changed" in info.value.message
    assert fusionpbx.gateway_enabled(TENANT) and fusionpbx.event_socket.commands == []


def test_an_unreachable_database_is_temporary_and_the_switch_is_told_nothing(active, fpbx_server, fusionpbx, tmp_path):
    service = active()
    fpbx_server.settings = fusionpbx_settings(fusionpbx, database_url=f"sqlite:///{tmp_path}/missing.sqlite3")
    fpbx_server.save()
    with pytest.raises(ModuleError, match="Could not open the FusionPBX database") as info:
        lifecycle.service_suspend(service=service, actor=ACTOR, reason=Service.SuspendReason.MANUAL)
    assert not info.value.permanent
    assert fusionpbx.event_socket.commands == [] and fusionpbx.gateway_enabled(TENANT)


def test_a_database_without_fusionpbx_tables_is_a_permanent_error(active, fpbx_server, fusionpbx, tmp_path):
    import sqlite3

    sqlite3.connect(tmp_path / "empty.sqlite3").execute("CREATE TABLE other (x)").connection.close()
    service = active()
    fpbx_server.settings = fusionpbx_settings(fusionpbx, database_url=f"sqlite:///{tmp_path}/empty.sqlite3")
    fpbx_server.save()
    with pytest.raises(ModuleError, match="lacks what the portal reads .*no such table: v_domains") as info:
        lifecycle.service_suspend(service=service, actor=ACTOR, reason=Service.SuspendReason.MANUAL)
    assert info.value.permanent


def test_a_server_without_a_database_url_says_which_setting_is_missing(active, fpbx_server, fusionpbx):
    service = active()
    fpbx_server.settings = fusionpbx_settings(fusionpbx, database_url="")
    fpbx_server.save()
    with pytest.raises(ModuleError, match="has no database URL.*Set database_url") as info:
        lifecycle.service_suspend(service=service, actor=ACTOR, reason=Service.SuspendReason.MANUAL)
    assert info.value.permanent


def test_a_recorded_gateway_deleted_since_is_skipped_and_named(active, fusionpbx):
    fusionpbx.add_domain(TENANT, gateways=["backup"])
    service = active()
    lifecycle.service_suspend(service=service, actor=ACTOR, reason=Service.SuspendReason.MANUAL, mode="gateway")
    fusionpbx.remove_gateway(TENANT, "backup")
    lifecycle.service_unsuspend(service=service, actor=ACTOR)
    assert fusionpbx.gateway_enabled(TENANT, "carrier")
    assert "1 recorded gateway(s) no longer exist" in ModuleCall.objects.get(action="unsuspend").response_summary


def test_a_gateway_whose_sip_profile_the_switch_lacks_cannot_be_restarted(active, fusionpbx):
    fusionpbx.add_domain("odd.example", extensions=["101"], gateways=["carrier"], profile="nowhere")
    service = active(tenant="odd.example", extensions=["101"])
    lifecycle.service_suspend(service=service, actor=ACTOR, reason=Service.SuspendReason.MANUAL, mode="gateway")
    with pytest.raises(ModuleError, match=r"answered 'Invalid Profile \[nowhere\]'.*Correct the gateway's profile") as info:
        lifecycle.service_unsuspend(service=service, actor=ACTOR)
    assert info.value.permanent


@pytest.mark.parametrize("text, sqlstate, expected, permanent", [
    ('connection failed: FATAL:  password authentication failed for user "portal"', None, "refused the login", True),
    ('connection failed: FATAL:  no pg_hba.conf entry for host "203.0.113.10"', None, "pg_hba.conf entry", True),
    ('connection failed: FATAL:  database "fusion" does not exist', None, "does not exist", True),
    ("connection failed: Connection refused", None, "Could not reach", False),
    ("permission denied for table v_gateways", "42501", "GRANT|Grant the portal's role SELECT", True),
    ('relation "v_xml_cdr" does not exist', "42P01", "lacks a table or column", True),
    ("canceling statement due to statement timeout", "57014", "longer than the read timeout", False),
    ("terminating connection due to administrator command", "57P01", "Could not reach", False),
])
def test_postgres_errors_are_sentences_temporary_only_for_the_connection(text, sqlstate, expected, permanent):
    import psycopg

    from provisioning.modules.fusionpbx.database import FusionPbxDatabase

    error = psycopg.OperationalError(text)
    if sqlstate:
        error = type("Coded", (psycopg.Error,), {"sqlstate": sqlstate})(text)
    database = FusionPbxDatabase("postgres://portal:s3cret@pbx.example:5432/fusionpbx")
    result = database.error(error)
    assert re.search(expected, result.message) and result.permanent is permanent
    assert result.message.startswith(("The FusionPBX database postgres://portal@pbx.example:5432/fusionpbx",
                                      "Could not reach the FusionPBX database postgres://portal@pbx.example:5432/"))
    assert "s3cret" not in result.message


def test_secrets_are_stored_encrypted_in_the_server_settings(fpbx_server, fusionpbx):
    from provisioning.lifecycle import server_ref

    assert fpbx_server.settings["database_url"].startswith("enc:")
    assert fpbx_server.settings["event_socket_password"].startswith("enc:")
    resolved = get_module("fusionpbx").server_settings(server_ref(fpbx_server))
    assert resolved["database_url"] == fusionpbx.database_url and resolved["event_socket_password"] == "ClueCon"


def test_settings_saved_with_the_retired_portal_app_still_work(active, fpbx_server, fusionpbx):
    fpbx_server.settings = {**fpbx_server.settings, "portal_app": "portal_billing"}
    fpbx_server.save()
    lifecycle.service_suspend(service=active(), actor=ACTOR, reason=Service.SuspendReason.MANUAL, mode="gateway")
    assert fusionpbx.gateway_stopped(TENANT)


# --- REST add-on errors (Create) --------------------------------------------------------------------------------


def test_a_wrong_api_key_is_a_permanent_error_saying_which_credentials(fpbx_service):
    service = fpbx_service()
    service.server.password = "wrong-secret"
    service.server.save()
    with pytest.raises(ModuleError, match=r"refused the REST API key \(401 unauthorized\).*key_uuid") as info:
        lifecycle.service_create(service=service, actor=ACTOR)
    assert info.value.permanent


@pytest.mark.parametrize("status", [500, 503])
def test_server_errors_are_temporary_and_leave_the_state(fpbx_service, fusionpbx, status):
    service = fpbx_service()
    fusionpbx.fail("status", status=status, times=3)
    with pytest.raises(ModuleError, match=f"answered {status}") as info:
        lifecycle.service_create(service=service, actor=ACTOR)
    assert not info.value.permanent
    service.refresh_from_db()
    assert service.status == S.PENDING
    assert ModuleCall.objects.get(action="create", success=False).awaiting_retry


def test_a_timeout_is_retried_for_reads_then_reported_as_temporary(fpbx_service, fusionpbx):
    service = fpbx_service()
    service.server.settings = {**service.server.settings, "read_timeout": 1}
    service.server.save()
    fusionpbx.fail("timeout", seconds=2, times=1)
    lifecycle.service_create(service=service, actor=ACTOR)  # the read was retried
    service.refresh_from_db()
    assert service.status == S.ACTIVE
    other = fpbx_service(extensions=["103"])
    fusionpbx.fail("timeout", seconds=2, times=3)
    with pytest.raises(ModuleError, match="timed out") as info:
        lifecycle.service_create(service=other, actor=ACTOR)
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
    assert fusionpbx.actions.count("extension-create") == 1


# --- call records ---------------------------------------------------------------------------------------------


def source_for(server, **options):
    from provisioning.lifecycle import server_ref

    return CdrSourceRef(id=1, kind="fusionpbx", server=server_ref(server), options=options)


def test_fetch_cdrs_streams_every_row_over_pages_with_the_rating_rules(fpbx_server, fusionpbx, monkeypatch):
    from provisioning.modules.fusionpbx.database import Session

    monkeypatch.setattr("provisioning.modules.fusionpbx.module.CDR_PAGE", 7)
    pages = []
    real_page = Session.cdr_page
    monkeypatch.setattr(Session, "cdr_page", lambda self, **kw: pages.append(kw["after"]) or real_page(self, **kw))
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
    assert len(pages) == 6 and pages[0] is None  # 40 rows in pages of 7, each after the previous page's last key
    assert fusionpbx.actions == [] and fusionpbx.event_socket.commands == []  # the database only


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


def test_fetch_cdrs_reads_only_the_columns_the_installation_has(fpbx_server, fusionpbx, tmp_path):
    """Older FusionPBX has no `status` column: the import reads without it (the record's status is then the
    hangup cause)."""
    import sqlite3

    fusionpbx.add_cdr(TENANT, end_epoch=1767225700)
    [record] = list(get_module("fusionpbx").fetch_cdrs(source_for(fpbx_server), None))
    assert record.disposition == "answered"
    with sqlite3.connect(fusionpbx.db_path) as db:
        db.execute("ALTER TABLE v_xml_cdr DROP COLUMN status")
    [record] = list(get_module("fusionpbx").fetch_cdrs(source_for(fpbx_server), None))
    assert isinstance(record, CdrRecord) and record.disposition == "NORMAL_CLEARING"


def test_fetch_cdrs_without_a_database_url_is_a_permanent_error(fpbx_server, fusionpbx):
    fpbx_server.settings = fusionpbx_settings(fusionpbx, database_url="")
    with pytest.raises(ModuleError, match="has no database URL") as info:
        list(get_module("fusionpbx").fetch_cdrs(source_for(fpbx_server), None))
    assert info.value.permanent
