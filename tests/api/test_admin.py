"""API keys are made in the staff area: the secret is shown once and only its hash is kept."""
import re

import pytest

from api.models import ApiKey, hash_secret
from tests.factories import StaffFactory

pytestmark = pytest.mark.django_db


def test_creating_a_key_in_the_admin_shows_the_secret_once(client):
    admin = StaffFactory(is_superuser=True)
    client.force_login(admin)
    response = client.post("/admin/api/apikey/add/", {
        "name": "billing-sync", "owner": admin.pk, "permissions": ["clients.read", "invoices.read"],
        "extra_permissions": "AddOrder, GetClients", "allowed_ips": "10.0.0.0/8", "enabled": "on", "rate_limit": "",
    }, follow=True)
    assert response.status_code == 200
    key = ApiKey.objects.get(name="billing-sync")
    assert key.permissions == ["clients.read", "invoices.read", "whmcs:addorder", "whmcs:getclients"]
    text = response.content.decode()
    secret = re.search(r"Secret: (\S+) ", text).group(1)
    assert key.secret_hash == hash_secret(secret) and secret not in str(ApiKey.objects.filter(pk=key.pk).values().get())
    assert "Secret:" not in client.get(f"/admin/api/apikey/{key.pk}/change/").content.decode()


def test_a_bad_allow_list_is_a_form_error(client):
    admin = StaffFactory(is_superuser=True)
    client.force_login(admin)
    response = client.post("/admin/api/apikey/add/", {"name": "x", "owner": admin.pk, "allowed_ips": "10.0.0.300/8",
                                                      "enabled": "on"})
    assert response.status_code == 200 and "Not an IP address or CIDR" in response.content.decode()
    assert not ApiKey.objects.exists()
