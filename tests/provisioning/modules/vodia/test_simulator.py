"""The Vodia simulator itself: the REST paths and auth levels (system admin, tenant admin), user settings and
tenant config as the vendor docs give them."""
import requests

from tests.provisioning.modules.vodia.fixtures import VODIA_TENANT

def test_vodia_auth_paths_and_user_settings(vodia):
    url = vodia.url
    assert requests.get(f"{url}/rest/system/session", timeout=5).status_code == 401
    answer = requests.get(f"{url}/rest/system/session", auth=("admin", "bad"), timeout=5)
    assert answer.status_code == 401 and answer.headers["WWW-Authenticate"].startswith("Basic")
    vodia.add_user("noapi", "pw", api_access=False)
    assert requests.get(f"{url}/rest/system/session", auth=("noapi", "pw"), timeout=5).status_code == 403
    vodia.add_user(f"admin@{VODIA_TENANT}", "tpw", tenant=VODIA_TENANT)
    tenant_admin = (f"admin@{VODIA_TENANT}", "tpw")
    assert requests.get(f"{url}/rest/domain/{VODIA_TENANT}/users", auth=tenant_admin, timeout=5).status_code == 200
    assert requests.get(f"{url}/rest/domain/other.example/users", auth=tenant_admin, timeout=5).status_code == 403
    admin = ("admin", "sim-admin-pass")
    assert requests.get(f"{url}/rest/system/domains", auth=admin, timeout=5).json() == [VODIA_TENANT]
    settings_url = f"{url}/rest/domain/{VODIA_TENANT}/user_settings/8300"
    assert requests.put(settings_url, json={"disabled": True}, auth=admin, timeout=5).status_code == 400
    assert requests.put(settings_url, json={"disabled": "true"}, auth=admin, timeout=5).status_code == 200
    assert vodia.extension_disabled(VODIA_TENANT, "8300")
    assert requests.get(settings_url, auth=admin, timeout=5).json()["disabled"] == "true"
    assert requests.get(f"{url}/rest/domain/{VODIA_TENANT}/user_settings/9999", auth=admin, timeout=5).status_code == 404
    assert requests.delete(f"{url}/rest/domain/{VODIA_TENANT}/addacc/9999", auth=admin, timeout=5).status_code == 404
    assert requests.get(f"{url}/rest/domain/nobody.example/config", auth=admin, timeout=5).status_code == 404
    config = requests.get(f"{url}/rest/domain/{VODIA_TENANT}/config", auth=admin, timeout=5).json()
    requests.post(f"{url}/rest/domain/{VODIA_TENANT}/config", json={**config, "max_calls": 0}, auth=admin, timeout=5)
    assert vodia.tenant(VODIA_TENANT).config["max_calls"] == 0
