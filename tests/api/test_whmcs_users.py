"""WHMCS 8 Users actions on the portal's client logins (ClientUser): GetUsers, AddUser, UpdateUser,
CreateClientInvite, ResetPassword and DeleteUserClient."""
import re

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext

from portal.models import ActivityLog, ClientUser
from tests.api.conftest import Whmcs, make_key
from tests.factories import PASSWORD, ClientFactory, StaffFactory, UserFactory

pytestmark = pytest.mark.django_db
User = get_user_model()
STRONG = "Plenty-of-entropy-42"


def snapshot():
    return (User.objects.count(), ClientUser.objects.count(), ActivityLog.objects.count(),
            list(User.objects.order_by("pk").values_list("email", "first_name", "is_active", "password")))


def contact(client, email="contact@example.com", **fields):
    user = UserFactory(username=email, email=email, **fields)
    ClientUser.objects.create(user=user, client=client, is_owner=False)
    return user


def test_get_users_lists_logins_with_their_client_paginated_and_searchable(whmcs, owner, other_client):
    helper = contact(owner, first_name="Robin", last_name="Helper")
    body = whmcs("GetUsers")
    assert (body["totalresults"], body["startnumber"], body["numreturned"]) == (3, 0, 3)
    row = next(u for u in body["users"] if u["id"] == helper.pk)
    assert row == {"id": helper.pk, "firstname": "Robin", "lastname": "Helper", "email": "contact@example.com",
                   "datecreated": row["datecreated"], "lastlogin": "0000-00-00 00:00:00", "validationdata": "",
                   "status": "Active", "clients": [{"id": owner.pk, "isOwner": False}]}
    assert [u["clients"] for u in body["users"] if u["id"] == owner.owner_user.pk] == [[{"id": owner.pk, "isOwner": True}]]
    assert whmcs("GetUsers", search="helper")["users"][0]["id"] == helper.pk
    page = whmcs("GetUsers", limitstart=1, limitnum=1, sorting="DESC")
    assert (page["totalresults"], page["numreturned"]) == (3, 1)
    assert page["users"][0]["id"] == sorted(u["id"] for u in body["users"])[1]
    assert all(u["id"] != whmcs.key.owner.pk for u in body["users"])  # staff are not client users


def test_get_users_runs_a_fixed_number_of_queries(whmcs, owner):
    whmcs("GetUsers")
    with CaptureQueriesContext(connection) as few:
        whmcs("GetUsers")
    ClientFactory.create_batch(5)
    with CaptureQueriesContext(connection) as many:
        assert whmcs("GetUsers")["numreturned"] == 6
    assert len(many) == len(few)


def test_add_user_creates_a_hashed_login_for_the_client_and_audits_it(client, whmcs, owner):
    result = whmcs("AddUser", client_id=owner.pk, firstname="Sam", lastname="Second", email="Sam@Example.com",
                   password2=STRONG, language="english")
    user = User.objects.get(pk=result["user_id"])
    assert result == {"result": "success", "user_id": user.pk}
    assert (user.username, user.email, user.first_name, user.last_name, user.is_staff) == (
        "sam@example.com", "Sam@example.com", "Sam", "Second", False)  # Django normalises the domain
    assert user.password.startswith(("pbkdf2_", "argon2", "bcrypt", "md5")) and STRONG not in user.password
    assert user.check_password(STRONG)
    assert ClientUser.objects.filter(user=user, client=owner, is_owner=False).exists()
    entry = ActivityLog.objects.get(action="client.user_create")
    assert (entry.actor_label, entry.client_id, entry.data) == (
        f"api:{whmcs.key.name}", owner.pk, {"user_id": user.pk, "email": "Sam@example.com"})


@pytest.mark.parametrize("params, message", [
    ({"client_id": ""}, "client_id is required: a portal login belongs to one client"),
    ({"client_id": 99999}, "Client ID Not Found"),
    ({"email": "not-an-address"}, "You did not enter a valid email address"),
    ({"email": "CONTACT@example.com"}, "A user already exists with that email address"),
    ({"password2": "123"}, "Invalid password2:"),
    ({"firstname": ""}, "You did not enter your first name"),
    ({"password2": ""}, "You did not enter a password"),
])
def test_add_user_refuses_bad_input_and_changes_nothing(whmcs, owner, params, message):
    contact(owner)
    before = snapshot()
    base = {"client_id": owner.pk, "firstname": "A", "lastname": "B", "email": "new@example.com", "password2": STRONG}
    result = whmcs("AddUser", **{**base, **params})
    assert result["result"] == "error" and result["message"].startswith(message), result
    assert snapshot() == before


def test_user_writes_need_users_write_and_change_nothing_without_it(client, owner):
    helper = contact(owner)
    reader = Whmcs(client, make_key(permissions=["users.read", "clients.write"]))
    before = snapshot()
    for action, params in (
        ("AddUser", {"client_id": owner.pk, "firstname": "A", "lastname": "B", "email": "n@example.com", "password2": STRONG}),
        ("UpdateUser", {"user_id": helper.pk, "firstname": "Changed"}),
        ("CreateClientInvite", {"client_id": owner.pk, "email": "invitee@example.com"}),
        ("ResetPassword", {"id": helper.pk}),
        ("DeleteUserClient", {"user_id": helper.pk, "client_id": owner.pk}),
    ):
        response = reader.raw(action, **params)
        assert response.status_code == 403
        assert response.json()["message"] == f'Invalid Permissions: API action "{action.lower()}" is not allowed'
    assert snapshot() == before and mail.outbox == []
    assert reader("GetUsers")["result"] == "success"
    assert Whmcs(client, make_key(permissions=["clients.read"]))("GetUsers")["result"] == "error"


def test_update_user_changes_names_and_email_with_the_username_and_audits_the_diff(whmcs, owner, other_client):
    helper = contact(owner, first_name="Old")
    assert whmcs("UpdateUser", user_id=helper.pk, firstname="New", email="moved@example.com") == {
        "result": "success", "user_id": helper.pk}
    helper.refresh_from_db()
    assert (helper.first_name, helper.email, helper.username) == ("New", "moved@example.com", "moved@example.com")
    entry = ActivityLog.objects.get(action="client.user_update")
    assert entry.data == {"user_id": helper.pk, "changes": {
        "first_name": ["Old", "New"], "email": ["contact@example.com", "moved@example.com"],
        "username": ["contact@example.com", "moved@example.com"]}}
    before = snapshot()
    assert whmcs("UpdateUser", user_id=helper.pk, email=other_client.email)["message"] == (
        "A user already exists with that email address")
    assert whmcs("UpdateUser", user_id=99999, firstname="x")["message"] == "User not found"
    assert whmcs("UpdateUser", user_id=whmcs.key.owner.pk, firstname="x")["message"] == "User not found"  # staff
    assert whmcs("UpdateUser", user_id=helper.pk, firstname="New")["result"] == "success"  # no change, no entry
    assert snapshot() == before


def invitation_link(message):
    link = re.search(r"https?://\S+", message.body).group(0)
    assert link.startswith(settings.PORTAL_BASE_URL.rstrip("/"))
    return link[len(settings.PORTAL_BASE_URL.rstrip("/")):]


def test_create_client_invite_makes_a_passwordless_login_and_mails_a_set_password_link(
        client, whmcs, owner, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        assert whmcs("CreateClientInvite", client_id=owner.pk, email="invitee@example.com") == {"result": "success"}
    user = User.objects.get(email="invitee@example.com")
    assert not user.has_usable_password() and user.client_user.client == owner and not user.client_user.is_owner
    (message,) = mail.outbox
    assert message.to == ["invitee@example.com"] and message.subject == f"You are invited to {settings.PORTAL_NAME}"
    entry = ActivityLog.objects.get(action="client.user_invite")
    assert entry.data == {"user_id": user.pk, "email": "invitee@example.com", "new_login": True}
    assert "token" not in str(entry.data) and invitation_link(message).split("/")[-2] not in str(entry.data)
    # The link is the client area's set-password page: it works once.
    form_page = client.get(invitation_link(message), follow=True)
    assert form_page.status_code == 200 and "new_password1" in form_page.content.decode()
    done = client.post(form_page.redirect_chain[-1][0], {"new_password1": STRONG, "new_password2": STRONG})
    assert done.status_code == 302
    user.refresh_from_db()
    assert user.check_password(STRONG)
    assert "new_password1" not in client.get(invitation_link(message), follow=True).content.decode()


def test_create_client_invite_resends_to_the_clients_own_login_and_refuses_other_accounts(
        whmcs, owner, other_client, django_capture_on_commit_callbacks):
    helper = contact(owner)
    with django_capture_on_commit_callbacks(execute=True):
        assert whmcs("CreateClientInvite", client_id=owner.pk, email="CONTACT@example.com")["result"] == "success"
    assert [m.to for m in mail.outbox] == [["contact@example.com"]]
    assert ActivityLog.objects.get(action="client.user_invite").data["new_login"] is False
    assert User.objects.get(pk=helper.pk).check_password(PASSWORD)  # the current password stays until a new one is set
    before = snapshot()
    StaffFactory(username="boss", email="boss@portal.example")
    before = snapshot()
    for email in (other_client.email, "boss@portal.example"):
        assert whmcs("CreateClientInvite", client_id=owner.pk, email=email)["message"] == (
            "That email address already has a login for another account")
    assert whmcs("CreateClientInvite", client_id=owner.pk, email="x@example.com", permissions="products,invoices")[
        "message"] == "permissions are not supported: every login of a client has access to the whole account"
    assert whmcs("CreateClientInvite", client_id=99999, email="x@example.com")["message"] == "Client ID Not Found"
    assert snapshot() == before and len(mail.outbox) == 1


def test_reset_password_sends_the_client_areas_reset_mail(whmcs, owner, django_capture_on_commit_callbacks):
    helper = contact(owner)
    with django_capture_on_commit_callbacks(execute=True):
        assert whmcs("ResetPassword", email="contact@example.com") == {"result": "success", "email": "contact@example.com"}
        assert whmcs("ResetPassword", id=owner.owner_user.pk)["email"] == owner.owner_user.email
    assert [m.to for m in mail.outbox] == [["contact@example.com"], [owner.owner_user.email]]
    assert "/password-reset/" in mail.outbox[0].body
    assert ActivityLog.objects.filter(action="client.password_reset_sent").count() == 2
    assert whmcs("ResetPassword", email="nobody@example.com")["message"] == "User not found"
    assert whmcs("ResetPassword")["message"] == "Please enter the email address or provide the id"
    assert helper.pk  # unchanged: a reset only mails a link


def test_delete_user_client_removes_and_disables_a_contact_but_never_the_owner(client, whmcs, owner, other_client):
    helper = contact(owner)
    assert whmcs("DeleteUserClient", user_id=helper.pk, client_id=other_client.pk)["message"] == (
        "User is not associated with client")
    assert whmcs("DeleteUserClient", user_id=owner.owner_user.pk, client_id=owner.pk)["message"] == (
        "The owner of a client cannot be removed from it")
    assert whmcs("DeleteUserClient", user_id=helper.pk, client_id=owner.pk) == {"result": "success"}
    helper.refresh_from_db()
    assert not ClientUser.objects.filter(user=helper).exists()
    assert not helper.is_active and not helper.has_usable_password()
    entry = ActivityLog.objects.get(action="client.user_remove")
    assert (entry.client_id, entry.data) == (owner.pk, {"user_id": helper.pk})
    assert not helper.check_password(PASSWORD)
