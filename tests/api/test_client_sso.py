"""CreateSsoToken with client_id: a client's own one-time passwordless login into the client area. Issued through
the WHMCS API (scope clients.sso, granted only by name), used once at /sso/<token>/ within 60 seconds, landing
only on client-area pages, audited when issued, used and refused."""
from datetime import timedelta
from unittest import mock

import pytest
from django.contrib.auth import SESSION_KEY
from django.urls import reverse
from django.utils import timezone

from api.client_sso import hash_token
from api.models import ClientSsoToken
from portal.models import ActivityLog, ClientUser
from tests.api.conftest import Whmcs, make_key
from tests.factories import ServiceFactory, StaffFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def sso(client):
    return Whmcs(client, make_key(name="helpdesk", permissions=["clients.sso"]))


def signed_in_user_id(client):
    return client.session.get(SESSION_KEY)


def issue(sso, owner, **params):
    answer = sso("CreateSsoToken", client_id=owner.pk, **params)
    assert answer["result"] == "success", answer
    return answer


def path_of(answer):
    return answer["redirect_url"].removeprefix("http://testserver")


def test_issue_use_and_land_signed_in_at_the_destination(client, sso, owner):
    answer = issue(sso, owner, destination="clientarea:invoices")
    assert path_of(answer) == reverse("clientarea:sso_login", args=[answer["access_token"]])
    record = ClientSsoToken.objects.get()
    assert record.token_hash == hash_token(answer["access_token"])  # only the hash is stored
    assert answer["access_token"] not in str(ClientSsoToken.objects.values().get())
    assert (record.user, record.destination, record.issued_by, record.issued_by_key) == (
        owner.owner_user, "/invoices/", "api:helpdesk", sso.key)
    assert record.expires_at - record.created_at == timedelta(seconds=60)
    issued = ActivityLog.objects.get(action="client.sso_token_issued")
    assert (issued.actor_label, issued.client_id, issued.ip_address) == ("api:helpdesk", owner.pk, "127.0.0.1")

    response = client.get(path_of(answer), REMOTE_ADDR="203.0.113.5")
    assert response.status_code == 302 and response["Location"] == "/invoices/"
    assert response["Referrer-Policy"] == "no-referrer"
    assert signed_in_user_id(client) == str(owner.owner_user.pk)
    assert client.get("/invoices/").status_code == 200
    record.refresh_from_db()
    assert record.used_at is not None and record.used_ip == "203.0.113.5"
    used = ActivityLog.objects.get(action="client.sso_login")
    assert (used.actor_label, used.client_id, used.ip_address) == (owner.owner_user.username, owner.pk, "203.0.113.5")
    assert used.data["issued_by"] == "api:helpdesk"
    owner.refresh_from_db()
    assert owner.last_login_at is not None  # the client's own sign-in


def test_a_used_link_is_refused_the_second_time(client, sso, owner):
    answer = issue(sso, owner)
    assert client.get(path_of(answer))["Location"] == "/"
    client.logout()
    again = client.get(path_of(answer))
    assert again.status_code == 410 and "already used or has expired" in again.content.decode()
    assert signed_in_user_id(client) is None
    refused = ActivityLog.objects.get(action="client.sso_login_refused")
    assert refused.data["reason"] == "used"


def test_an_expired_link_is_refused(client, sso, owner):
    answer = issue(sso, owner)
    later = timezone.now() + timedelta(seconds=61)
    with mock.patch("django.utils.timezone.now", return_value=later):
        response = client.get(path_of(answer))
    assert response.status_code == 410 and signed_in_user_id(client) is None
    assert ClientSsoToken.objects.get().used_at is None
    assert ActivityLog.objects.get(action="client.sso_login_refused").data["reason"] == "expired"


def test_a_forged_or_unknown_token_is_refused_without_a_lookup_hit(client):
    for token in ("nonsense", "abc:def"):
        response = client.get(reverse("clientarea:sso_login", args=[token]))
        assert response.status_code == 404 and signed_in_user_id(client) is None
    assert not ActivityLog.objects.filter(action__startswith="client.sso").exists()


def test_user_id_picks_a_login_of_the_client_and_another_clients_user_is_refused(client, sso, owner, other_client):
    contact = ClientUser.objects.create(user=UserFactory(), client=owner)
    answer = issue(sso, owner, user_id=contact.pk)
    assert ClientSsoToken.objects.get().user == contact.user
    client.get(path_of(answer))
    assert signed_in_user_id(client) == str(contact.user.pk)

    foreign = ClientUser.objects.get(client=other_client)
    refused = sso("CreateSsoToken", client_id=owner.pk, user_id=foreign.pk)
    assert refused == {"result": "error", "message": "User ID Not Found for this client"}
    assert ClientSsoToken.objects.count() == 1


@pytest.mark.parametrize("path", [
    "https://evil.example/", "//evil.example/services/", "/\\evil.example", "http:/evil.example",
    "javascript:alert(1)", "/login/", "/logout/", "/admin/", "/no-such-page/", "services/",
])
def test_an_open_redirect_is_refused_when_issued(sso, owner, path):
    answer = sso("CreateSsoToken", client_id=owner.pk, destination="sso:custom_redirect", sso_redirect_path=path)
    assert answer["result"] == "error"
    assert "sso_redirect_path" in answer["message"]
    assert ClientSsoToken.objects.count() == 0


def test_a_custom_redirect_to_a_client_area_page_and_whmcs_destinations(client, sso, owner, other_client):
    service = ServiceFactory(client=owner)
    answer = issue(sso, owner, destination="sso:custom_redirect", sso_redirect_path=f"/services/{service.pk}/")
    assert client.get(path_of(answer))["Location"] == f"/services/{service.pk}/"
    issue(sso, owner, destination="clientarea:product_details", service_id=service.pk)
    assert ClientSsoToken.objects.first().destination == f"/services/{service.pk}/"
    theirs = ServiceFactory(client=other_client)
    refused = sso("CreateSsoToken", client_id=owner.pk, destination="clientarea:product_details", service_id=theirs.pk)
    assert refused["message"] == "Service ID Not Found"
    unknown = sso("CreateSsoToken", client_id=owner.pk, destination="clientarea:tickets")
    assert unknown["message"].startswith("Invalid destination 'clientarea:tickets'")


def test_a_tampered_stored_destination_is_checked_again_when_used(client, sso, owner):
    answer = issue(sso, owner)
    ClientSsoToken.objects.update(destination="//evil.example/")
    response = client.get(path_of(answer))
    assert response.status_code == 410 and signed_in_user_id(client) is None


@pytest.mark.parametrize("permissions", [["*"], ["whmcs:createssotoken"], ["services.sso", "clients.read"]])
def test_without_the_clients_sso_scope_access_is_denied_and_nothing_changes(client, owner, permissions):
    caller = Whmcs(client, make_key(name="wide", permissions=permissions))
    before = ActivityLog.objects.count()
    response = caller.raw("CreateSsoToken", client_id=owner.pk)
    assert response.status_code == 403
    assert response.json() == {"result": "error",
                               "message": 'Invalid Permissions: API action "createssotoken" is not allowed'}
    assert ClientSsoToken.objects.count() == 0 and ActivityLog.objects.count() == before


def test_the_scope_also_needs_its_permission_on_the_keys_owner(client, owner):
    clerk = Whmcs(client, make_key(name="clerk", owner=StaffFactory(), permissions=["clients.sso"]))
    assert clerk.raw("CreateSsoToken", client_id=owner.pk).status_code == 403
    assert ClientSsoToken.objects.count() == 0


def test_signing_in_replaces_whoever_was_signed_in(client, sso, owner, other_client):
    client.force_login(other_client.owner_user)
    answer = issue(sso, owner)
    client.get(path_of(answer))
    assert signed_in_user_id(client) == str(owner.owner_user.pk)


def test_a_closed_client_or_disabled_login_cannot_sign_in(client, sso, owner):
    answer = issue(sso, owner)
    owner.status = owner.Status.CLOSED
    owner.save(update_fields=["status"])
    response = client.get(path_of(answer))
    assert response.status_code == 410 and signed_in_user_id(client) is None
    assert ActivityLog.objects.get(action="client.sso_login_refused").data["reason"] == "login_not_allowed"
