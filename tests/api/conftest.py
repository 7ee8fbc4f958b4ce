import pytest
from django.core.cache import cache

from api.models import ApiKey
from tests.factories import StaffFactory
from tests.provisioning.modules.smartermail.fixtures import sm_server, smartermail  # noqa: F401


@pytest.fixture(autouse=True)
def _fresh_rate_counters():
    cache.clear()
    yield
    cache.clear()


def make_key(*, permissions=("*",), owner=None, **fields):
    key = ApiKey(name=fields.pop("name", f"key-{ApiKey.objects.count() + 1}"),
                 owner=owner or StaffFactory(is_superuser=True), permissions=list(permissions), **fields)
    secret = key.set_new_secret()
    key.save()
    key.secret = secret
    return key


@pytest.fixture
def api_key(db):
    return make_key(name="integration")


class Whmcs:
    """POSTs to /includes/api.php with a key's identifier and secret."""

    def __init__(self, client, key):
        self.client, self.key = client, key

    def raw(self, action, remote_addr="127.0.0.1", **params):
        data = {"identifier": self.key.identifier, "secret": self.key.secret, "action": action,
                "responsetype": "json", **params}
        return self.client.post("/includes/api.php", data, REMOTE_ADDR=remote_addr)

    def __call__(self, action, **params):
        response = self.raw(action, **params)
        return response.json()


@pytest.fixture
def whmcs(client, api_key):
    return Whmcs(client, api_key)


class Rest:
    def __init__(self, client, key):
        self.client, self.key = client, key
        self.auth = {"HTTP_AUTHORIZATION": f"Bearer {key.identifier}.{key.secret}"}

    def get(self, path, **params):
        return self.client.get(f"/api/v1/{path}", params, **self.auth)

    def post(self, path, data=None):
        return self.client.post(f"/api/v1/{path}", data or {}, content_type="application/json", **self.auth)

    def patch(self, path, data):
        return self.client.patch(f"/api/v1/{path}", data, content_type="application/json", **self.auth)


@pytest.fixture
def rest(client, api_key):
    return Rest(client, api_key)
