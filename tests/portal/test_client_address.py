"""The client address behind the TLS proxy (portal.network.client_ip): one rule for sign-in lockouts (axes), the
API's allow-lists and the audit log. Without it every visitor looked like the proxy."""
from pathlib import Path

import pytest
from django.test import RequestFactory, override_settings

from api.models import ApiKey
from portal.models import ActivityLog
from portal.network import client_ip
from tests.api.conftest import make_key
from tests.factories import PASSWORD

PROXY = "10.0.0.2"
LOGIN = "/login/"


def request_from(remote, forwarded=None):
    extra = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded
    return RequestFactory().get("/", **extra)


@pytest.mark.parametrize(("proxies", "remote", "forwarded", "expected"), [
    (0, "198.51.100.9", "203.0.113.7", "198.51.100.9"),  # no proxy: the header is anybody's, ignored
    (1, PROXY, "203.0.113.7", "203.0.113.7"),
    (1, PROXY, "6.6.6.6, 203.0.113.7", "203.0.113.7"),  # the client's own entry on the left is not believed
    (2, PROXY, "6.6.6.6, 203.0.113.7, 10.0.0.1", "203.0.113.7"),
    (2, PROXY, "203.0.113.7", PROXY),  # fewer entries than proxies: not through them
    (1, PROXY, None, PROXY),
    (1, PROXY, "not-an-address", PROXY),
    (1, PROXY, " 2001:DB8::1 ", "2001:db8::1"),
])
def test_the_client_address_is_the_entry_the_trusted_proxies_wrote(proxies, remote, forwarded, expected):
    with override_settings(TRUSTED_PROXY_COUNT=proxies):
        assert client_ip(request_from(remote, forwarded)) == expected


def sign_in(client, username, address, password=PASSWORD):
    return client.post(LOGIN, {"username": username, "password": password},
                       REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=address)


@pytest.mark.django_db
@override_settings(TRUSTED_PROXY_COUNT=1)
def test_behind_the_proxy_failed_sign_ins_lock_the_guessing_address_not_everyone(client, owner):
    for _ in range(5):
        sign_in(client, owner.email, "203.0.113.66", "wrong password")
    assert sign_in(client, owner.email, "203.0.113.66").status_code == 429
    response = sign_in(client, owner.email, "198.51.100.10")  # the owner, from home, through the same proxy
    assert response.status_code == 302
    entry = ActivityLog.objects.get(action="client.login")
    assert entry.ip_address == "198.51.100.10"


@pytest.mark.django_db
@override_settings(TRUSTED_PROXY_COUNT=1)
def test_behind_the_proxy_the_api_allow_list_sees_the_client_address(client):
    key = make_key(allowed_ips="203.0.113.0/24")
    auth = {"HTTP_AUTHORIZATION": f"Bearer {key.identifier}.{key.secret}", "REMOTE_ADDR": PROXY}
    assert client.get("/api/v1/clients/", HTTP_X_FORWARDED_FOR="203.0.113.7", **auth).status_code == 200
    assert ApiKey.objects.get(pk=key.pk).last_used_ip == "203.0.113.7"
    refused = client.get("/api/v1/clients/", HTTP_X_FORWARDED_FOR="198.51.100.1", **auth)
    assert refused.status_code == 403
    assert "198.51.100.1" in refused.json()["error"]["message"]


def test_only_portal_network_reads_the_connection_address():
    """Every caller asks client_ip; a REMOTE_ADDR read elsewhere would skip the proxy rule."""
    root = Path(__file__).resolve().parents[2]
    readers = sorted(
        str(path.relative_to(root)) for app in ("portal", "billing", "provisioning", "voip", "payments", "api", "config")
        for path in (root / app).rglob("*.py")
        if "REMOTE_ADDR" in path.read_text() and path.relative_to(root).as_posix() not in ("portal/network.py", "config/settings.py")
    )
    assert readers == []
