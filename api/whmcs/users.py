"""WHMCS 8 "Users" actions, mapped onto the portal's client logins (portal.models.ClientUser).

In WHMCS 8 a user is a login that may be invited to several client accounts, each with its own permissions.
In the portal a login belongs to exactly one client (ClientUser is one-to-one with the Django user), its
username is its e-mail address (lower case, as portal.services.client_create makes it) and every login of a
client sees the whole account. So: user id = the Django user's id; AddUser needs the client (client_id);
per-user permissions do not exist. The writes are portal.logins' (invitations and password resets use Django's
password reset tokens, so no token is ever stored); here are the WHMCS parameters and messages."""
from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from api.whmcs.clients import find_client
from api.whmcs.registry import WhmcsError, action, paginate, unsupported
from api.whmcs.shapes import when
from portal import selectors
from portal.logins import (PasswordRefused, login_create, login_invite, login_remove, login_send_password_reset,
                           login_update)

U = "Client"


def find_login(call, param="user_id"):
    if not call.has(param):
        raise WhmcsError("User ID is required")
    login = selectors.client_login_of_user(call.int(param, error="User not found"))
    if login is None:
        raise WhmcsError("User not found")
    return login


def user_fields(login):
    user = login.user
    return {"id": user.pk, "firstname": user.first_name, "lastname": user.last_name, "email": user.email,
            "datecreated": when(user.date_joined), "lastlogin": when(user.last_login), "validationdata": "",
            "status": "Active" if user.is_active else "Disabled",
            "clients": [{"id": login.client_id, "isOwner": login.is_owner}]}


def checked_email(value):
    email = (value or "").strip()
    try:
        validate_email(email)
    except ValidationError:
        raise WhmcsError("You did not enter a valid email address") from None
    return email


def refuse_permissions(call):
    if call.has("permissions"):
        raise WhmcsError("permissions are not supported: every login of a client has access to the whole account")


@action("GetUsers", category=U, scope="users.read",
        note="Client logins (ClientUser); id = the login's user id. clients lists its one client (a portal login "
             "belongs to one client). search matches e-mail and names; sorting=ASC|DESC by id.")
def get_users(call):
    logins = selectors.client_logins_matching(search=call.str("search") if call.has("search") else None,
                                              newest_first=call.str("sorting").upper() == "DESC")
    rows, page = paginate(call, logins)
    return {**page, "users": [user_fields(login) for login in rows]}


@action("AddUser", category=U, scope="users.write",
        required=(("firstname", "You did not enter your first name"), ("lastname", "You did not enter your last name"),
                  ("email", "You did not enter your email address"), ("password2", "You did not enter a password")),
        note="Needs client_id (a portal login belongs to one client): the login is a contact of that client. The "
             "password is checked by the portal's password rules and stored with Django's hasher. language is "
             "accepted and ignored (the portal has no per-user language).")
def add_user(call):
    client = find_client(call, "client_id") if call.has("client_id") else None
    if client is None:
        raise WhmcsError("client_id is required: a portal login belongs to one client")
    try:
        user = login_create(client=client, actor=call.actor, email=checked_email(call.str("email")),
                            first_name=call.str("firstname"), last_name=call.str("lastname"),
                            password=call.data.get("password2", ""))
    except PasswordRefused as exc:
        raise WhmcsError(f"Invalid password2: {' '.join(exc.messages)}") from None
    return {"user_id": user.pk}


@action("UpdateUser", category=U, scope="users.write", required=(("user_id", "User ID is required"),),
        note="firstname, lastname and email (the login's username follows its e-mail). language is accepted and "
             "ignored. The client's own e-mail is a client field: UpdateClient changes it.")
def update_user(call):
    login = find_login(call)
    user = login.user
    changes = {}
    for param, field in (("firstname", "first_name"), ("lastname", "last_name")):
        if call.has(param) and call.str(param) != getattr(user, field):
            changes[field] = call.str(param)
    if call.has("email") and call.str("email").lower() != user.email.lower():
        changes["email"] = checked_email(call.str("email"))
    login_update(login=login, actor=call.actor, changes=changes)
    return {"user_id": user.pk}


@action("CreateClientInvite", category=U, scope="users.write",
        required=(("client_id", "Client ID Not Found"), ("email", "You did not enter your email address")),
        note="Sends an e-mail with a link to the client area's set-password page (a Django password reset token; "
             "nothing is stored). A new address gets a login of the client without a password until it is set; a "
             "login of the same client gets the link again; an address used by another client or by staff is "
             "refused. permissions are not supported (every login sees the whole account).")
def create_client_invite(call):
    client = find_client(call, "client_id")
    refuse_permissions(call)
    login_invite(client=client, actor=call.actor, email=checked_email(call.str("email")))
    return {}


@action("ResetPassword", category=U, scope="users.write",
        note="id (user id) or email of a client login: sends the client area's password reset e-mail (the same "
             "text as 'Forgot your password?'). Staff logins are not reset through the API.")
def reset_password(call):
    if call.has("id"):
        login = find_login(call, "id")
    elif call.has("email"):
        login = selectors.client_login_by_email(call.str("email"))
        if login is None:
            raise WhmcsError("User not found")
    else:
        raise WhmcsError("Please enter the email address or provide the id")
    login_send_password_reset(login=login, actor=call.actor)
    return {"email": login.user.email}


@action("DeleteUserClient", category=U, scope="users.write",
        required=(("user_id", "User ID is required"), ("client_id", "Client ID Not Found")),
        note="Removes a contact's access: the login leaves the client and is disabled (kept, unusable, for the audit "
             "trail; a portal login belongs to one client). The client's owner cannot be removed.")
def delete_user_client(call):
    login_remove(client=find_client(call, "client_id"), login=find_login(call), actor=call.actor)
    return {}


unsupported(U, "the portal has no per-user permissions: every login of a client has access to the whole account",
            "GetUserPermissions", "UpdateUserPermissions", "GetPermissionsList")
