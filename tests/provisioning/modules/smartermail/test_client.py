"""The SmarterMail client over real HTTP against the simulator: tokens (cache, expiry, refresh, new login),
401, 403, timeouts, 5xx and dropped connections. The module's real HTTP client is under test throughout."""
import threading

import pytest

from provisioning import lifecycle
from provisioning.modules.base import ModuleError
from provisioning.modules.smartermail.client import SmarterMailClient
from provisioning.modules.smartermail.options import SERVER_SETTINGS
from tests.provisioning.modules.smartermail.fixtures import server_for

pytestmark = pytest.mark.django_db


def client_for(server):
    return SmarterMailClient(lifecycle.server_ref(server), settings=SERVER_SETTINGS.resolve(server.settings))


@pytest.fixture
def client(sm_server):
    return client_for(sm_server)


def test_logs_in_once_and_reuses_the_token(client, smartermail):
    for _ in range(5):
        client.call("GET", "settings/sysadmin/domains")
    assert smartermail.logins == 1
    assert smartermail.calls_to("authenticate-user") == 1


def test_an_access_token_expiring_mid_run_is_refreshed_and_the_call_repeated(client, smartermail):
    client.call("GET", "settings/sysadmin/domains")
    smartermail.expire_access_tokens()  # the server forgets it early: the next call gets 401
    assert client.call("GET", "licensing/about")["version"]
    assert (smartermail.logins, smartermail.refreshes) == (1, 1)


def test_a_token_past_its_expiration_is_refreshed_before_the_call(sm_server, smartermail):
    smartermail.access_token_lifetime = 10  # within the client's 30-second margin: always "about to expire"
    client = client_for(sm_server)
    client.call("GET", "settings/sysadmin/domains")
    client.call("GET", "settings/sysadmin/domains")
    assert (smartermail.logins, smartermail.refreshes) == (1, 1)
    assert smartermail.calls_to("settings/sysadmin/domains") == 2  # no 401 round trip


def test_when_refreshing_fails_it_logs_in_again(client, smartermail):
    client.call("GET", "settings/sysadmin/domains")
    smartermail.expire_access_tokens()
    smartermail.expire_refresh_tokens()
    client.call("GET", "settings/sysadmin/domains")
    assert (smartermail.logins, smartermail.refreshes) == (2, 0)


def test_tokens_are_cached_per_server_and_shared_by_threads(sm_server, smartermail):
    errors = []

    def work():
        try:
            client_for(sm_server).call("GET", "settings/sysadmin/domains")
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == [] and smartermail.logins == 1


def test_wrong_credentials_are_a_permanent_error_saying_what_to_fix(smartermail, db):
    server = server_for(smartermail, password="wrong")
    with pytest.raises(ModuleError, match="refused the login of 'admin'. Check the username and password") as info:
        client_for(server).call("GET", "settings/sysadmin/domains")
    assert info.value.permanent


def test_a_domain_admin_login_gets_403_on_sysadmin_calls(smartermail, sm_service, db):
    service = sm_service(domain="da-only.example")
    lifecycle.service_create(service=service, actor=lifecycle_actor())
    server = server_for(smartermail, name="DA login", username="admin@da-only.example", password=service.password)
    with pytest.raises(ModuleError, match="403 Forbidden .* is not a system administrator") as info:
        client_for(server).call("GET", "settings/sysadmin/domains")
    assert info.value.permanent


def test_a_slow_server_times_out_as_a_temporary_error(smartermail, db):
    client = client_for(server_for(smartermail, settings={"read_timeout": 1}))
    client.call("GET", "licensing/about")
    smartermail.fail("timeout", path="domain-delete", seconds=3)
    with pytest.raises(ModuleError, match="timed out") as info:
        client.call("POST", "settings/sysadmin/domain-delete/x.example/false", {})
    assert not info.value.permanent


def test_a_5xx_on_a_post_is_not_repeated_and_is_temporary(client, smartermail):
    client.call("GET", "licensing/about")
    smartermail.fail("status", path="domain-put", status=500)
    with pytest.raises(ModuleError, match="answered 500") as info:
        client.call("POST", "settings/sysadmin/domain-put", {"domainData": {"name": "x.example"}})
    assert not info.value.permanent
    assert smartermail.calls_to("domain-put") == 1


def test_a_503_or_dropped_connection_on_a_read_is_retried(client, smartermail):
    client.call("GET", "licensing/about")
    smartermail.fail("status", path="sysadmin/domains", status=503)
    smartermail.fail("drop", path="sysadmin/domains")
    assert client.call("GET", "settings/sysadmin/domains")["data"] == []
    assert smartermail.calls_to("sysadmin/domains") == 3


def test_an_unreachable_server_is_a_temporary_error(db):
    from provisioning.models import Server

    server = Server.objects.create(name="down", module="smartermail", hostname="127.0.0.1", port=9, use_tls=False,
                                   username="admin", password="x", settings={"connect_timeout": 1})
    with pytest.raises(ModuleError, match="could not connect") as info:
        client_for(server).call("GET", "settings/sysadmin/domains")
    assert not info.value.permanent


def test_a_non_json_answer_says_to_check_the_address(client, smartermail):
    with pytest.raises(ModuleError, match="no JSON. Is the server's address"):
        client.call_with_token("x", "GET", "../../interface/autologin")


def lifecycle_actor():
    from portal.activity import Actor

    return Actor.system("test")
