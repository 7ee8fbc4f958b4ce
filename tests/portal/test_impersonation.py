"""Staff "Log in as client" (seed 003, portal/impersonation.py): the permission, the single-use one-minute token,
the banner, the audit rows with the staff member's name, the client area as the client, and the way back."""
import re
import time
from datetime import timedelta
from unittest import mock

import pytest
from django.contrib.auth.models import Permission
from django.core import signing
from django.urls import reverse

from portal import impersonation
from portal.models import ActivityLog, ClientUser
from tests.conftest import sign_in_with_two_factor
from tests.factories import ClientFactory, ServiceFactory, StaffFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff():
    user = StaffFactory(first_name="Sam", last_name="Support")
    user.user_permissions.add(Permission.objects.get(codename="login_as_client"),
                              Permission.objects.get(codename="view_client"),
                              Permission.objects.get(codename="change_client"))
    return user


def start_url(client_obj):
    return reverse("admin:portal_client_login_as", args=[client_obj.pk])


def log_in_as(browser, client_obj):
    """POST the button, follow to the token URL; returns the token redirect's response."""
    response = browser.post(start_url(client_obj))
    assert response.status_code == 302 and "/login-as/" in response["Location"]
    return browser.get(response["Location"])


def test_the_client_page_shows_the_button_only_with_the_permission(client, staff, owner):
    client.force_login(staff)
    page = client.get(reverse("admin:portal_client_change", args=[owner.pk])).content.decode()
    assert "Log in as client" in page and start_url(owner) in page
    other = StaffFactory()
    other.user_permissions.add(Permission.objects.get(codename="view_client"))
    client.force_login(other)
    assert "Log in as client" not in client.get(reverse("admin:portal_client_change", args=[owner.pk])).content.decode()


def test_without_the_permission_it_is_403_and_nothing_happens(client, owner):
    other = StaffFactory()
    other.user_permissions.add(Permission.objects.get(codename="change_client"))
    client.force_login(other)
    assert client.post(start_url(owner)).status_code == 403
    token = impersonation.issue_token(staff=other, client=owner)
    assert client.get(reverse("admin:portal_client_login_as_enter", args=[token])).status_code == 403
    assert not ActivityLog.objects.filter(action__startswith="client.impersonation").exists()
    assert int(client.session["_auth_user_id"]) == other.pk


def test_get_is_refused_and_clients_cannot_use_it(client, staff, owner):
    sign_in_with_two_factor(client, staff)
    assert client.get(start_url(owner)).status_code == 405
    client.force_login(owner.owner_user)
    response = client.post(start_url(owner))
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_log_in_as_client_audits_shows_the_banner_and_acts_as_the_client(client, staff, owner):
    ServiceFactory(client=owner, domain="owned.example")
    ServiceFactory(domain="someone-else.example")
    sign_in_with_two_factor(client, staff)
    staff_session = client.session.session_key
    response = log_in_as(client, owner)
    assert response.status_code == 302 and response["Location"] == reverse("clientarea:dashboard")
    assert client.session.session_key != staff_session  # a new session
    assert int(client.session["_auth_user_id"]) == owner.owner_user.pk
    start = ActivityLog.objects.get(action="client.impersonation_start")
    assert start.actor_user == staff and start.client_id == owner.pk and staff.username in start.message

    page = client.get(reverse("clientarea:dashboard")).content.decode()
    assert 'data-testid="impersonation-banner"' in page and "Sam Support" in page and "Return to admin" in page
    assert "owned.example" in page and "someone-else.example" not in page
    # What the staff member does now is the client's action, with their name on it.
    client.post(reverse("clientarea:profile"), {"first_name": "Changed", "last_name": owner.last_name,
                                                "email": owner.email, "country": "CA"})
    change = ActivityLog.objects.filter(impersonated_by=staff).exclude(action__startswith="client.impersonation").get()
    assert (
        change.actor_user == owner.owner_user
        and change.actor_label == f"{staff.username} as {owner.owner_user.username}"
    )
    # The staff area is closed while impersonating.
    assert "/admin/login/" in client.get(reverse("admin:index"))["Location"]


def test_the_client_keeps_their_own_last_login(client, staff, owner):
    owner.refresh_from_db()
    before = owner.last_login_at
    sign_in_with_two_factor(client, staff)
    log_in_as(client, owner)
    owner.refresh_from_db()
    assert owner.last_login_at == before


def test_return_to_admin_restores_the_staff_session_and_audits(client, staff, owner):
    sign_in_with_two_factor(client, staff)
    log_in_as(client, owner)
    client_session = client.session.session_key
    response = client.post(reverse("admin:portal_client_return_to_admin"))
    assert response.status_code == 302 and response["Location"] == reverse(
        "admin:portal_client_change", args=[owner.pk]
    )
    assert int(client.session["_auth_user_id"]) == staff.pk and client.session.session_key != client_session
    assert "_impersonator_id" not in client.session
    end = ActivityLog.objects.get(action="client.impersonation_end")
    assert end.actor_user == staff and end.client_id == owner.pk and staff.username in end.message
    page = client.get(reverse("admin:portal_client_change", args=[owner.pk])).content.decode()
    assert "Back in the staff area" in page and "impersonation-banner" not in page
    assert client.get(reverse("clientarea:dashboard"))["Location"] == reverse("admin:index")  # staff again


def csrf_of(page):
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.content.decode()).group(1)


def test_start_and_return_need_post_and_csrf(staff, owner):
    from django.test import Client

    browser = Client(enforce_csrf_checks=True)
    sign_in_with_two_factor(browser, staff)
    assert browser.post(start_url(owner)).status_code == 403  # no CSRF token
    change_page = browser.get(reverse("admin:portal_client_change", args=[owner.pk]))
    token_url = browser.post(start_url(owner), {"csrfmiddlewaretoken": csrf_of(change_page)})["Location"]
    browser.get(token_url)
    assert browser.get(reverse("admin:portal_client_return_to_admin")).status_code == 405
    assert browser.post(reverse("admin:portal_client_return_to_admin")).status_code == 403
    dashboard = browser.get(reverse("clientarea:dashboard"))
    assert csrf_of(dashboard) != csrf_of(change_page)  # rotated with the session
    response = browser.post(reverse("admin:portal_client_return_to_admin"), {"csrfmiddlewaretoken": csrf_of(dashboard)})
    assert response.status_code == 302 and int(browser.session["_auth_user_id"]) == staff.pk


def test_the_token_works_once(client, staff, owner):
    sign_in_with_two_factor(client, staff)
    token = client.post(start_url(owner))["Location"]
    client.get(token)
    client.post(reverse("admin:portal_client_return_to_admin"))
    response = client.get(token, follow=True)
    assert "already used" in response.content.decode()
    assert ActivityLog.objects.filter(action="client.impersonation_start").count() == 1
    assert int(client.session["_auth_user_id"]) == staff.pk


def test_the_token_expires_after_a_minute(client, staff, owner):
    sign_in_with_two_factor(client, staff)
    token = impersonation.issue_token(staff=staff, client=owner)
    with mock.patch("django.core.signing.time.time", return_value=time.time() + 61):
        response = client.get(reverse("admin:portal_client_login_as_enter", args=[token]), follow=True)
    assert "expired" in response.content.decode()
    assert int(client.session["_auth_user_id"]) == staff.pk
    assert impersonation.TOKEN_MAX_AGE <= timedelta(seconds=60).total_seconds()


def test_a_token_is_bound_to_its_staff_member_and_cannot_be_forged(client, staff, owner):
    someone = StaffFactory()
    someone.user_permissions.add(Permission.objects.get(codename="login_as_client"))
    token = impersonation.issue_token(staff=staff, client=owner)
    sign_in_with_two_factor(client, someone)
    response = client.get(reverse("admin:portal_client_login_as_enter", args=[token]), follow=True)
    assert "made for another staff member" in response.content.decode()
    forged = signing.dumps({"staff": someone.pk, "client": owner.pk, "nonce": "x"}, salt="other-salt")
    response = client.get(reverse("admin:portal_client_login_as_enter", args=[forged]), follow=True)
    assert "not valid" in response.content.decode()
    assert int(client.session["_auth_user_id"]) == someone.pk


def test_a_client_without_a_login_cannot_be_impersonated(client, staff):
    empty = ClientFactory()
    ClientUser.objects.filter(client=empty).delete()
    sign_in_with_two_factor(client, staff)
    response = client.post(start_url(empty), follow=True)
    assert "has no login to use" in response.content.decode()


def test_the_owner_is_chosen_over_contacts(staff, owner):
    contact = UserFactory()
    ClientUser.objects.create(user=contact, client=owner, is_owner=False)
    assert impersonation.login_user_for(owner) == owner.owner_user


def test_a_staff_member_who_loses_staff_status_is_signed_out(client, staff, owner):
    sign_in_with_two_factor(client, staff)
    log_in_as(client, owner)
    staff.is_staff = False
    staff.save()
    response = client.get(reverse("clientarea:dashboard"))
    assert response.status_code == 302 and reverse("clientarea:login") in response["Location"]
