"""Staff "Log in as client" (seed 003): a staff member with the permission `portal.login_as_client` sees and
uses the client area exactly as the client does, with a banner and a way back.

1. The Client page in the staff area has a "Log in as client" button (POST, permission checked: without it,
   403 and nothing happens). It issues a signed token (django.core.signing, salted, bound to that staff
   member) and redirects to the redemption URL.
2. Redemption accepts the token once (a cache key per token nonce) and for 60 seconds, from the same staff
   member only; it writes the start to the audit log with the staff member's name, replaces the staff session
   by a new session signed in as the client's owner (the session key and CSRF token are rotated), and keeps the
   staff member's id in it.
   Both steps need a staff session that passed two-factor sign-in (portal.two_factor); the staff member's
   verification is kept aside in the client session and restored on the way back.
3. ImpersonationMiddleware sets `request.impersonator` (the staff user) on every request of that session:
   the client area shows the banner, and portal.activity.Actor.from_request logs every change as
   "<staff> as <client user>" with `impersonated_by` set.
4. "Return to admin" (POST) writes the end to the audit log and replaces the session again by one signed in
   as the staff member, back on the client's staff page.

Switching sessions does not go through django.contrib.auth.login: that would send user_logged_in and count as
the client's own sign-in (Client.last_login_at feeds seed 004's client-status rule).
"""
import secrets

from django.contrib import messages
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, get_user_model
from django.contrib.auth import logout as auth_logout
from django.core import signing
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseNotAllowed
from django.middleware.csrf import rotate_token
from django.shortcuts import redirect
from django.urls import path, reverse
from django.views.decorators.cache import never_cache

from portal import two_factor
from portal.activity import Actor, log_activity
from portal.logins import default_login
from portal.models import Client
from portal.network import client_ip

PERMISSION = "portal.login_as_client"
TOKEN_SALT = "portal.impersonation"
TOKEN_MAX_AGE = 60  # seconds (ARCHITECTURE: SSO and "log in as client" tokens last at most 60 s)
USED_KEY = "portal:impersonation:used:{}"
IMPERSONATOR_KEY = "_impersonator_id"
CLIENT_KEY = "_impersonated_client_id"
STAFF_OTP_KEY = "_impersonator_otp_device"  # the staff session's two-factor, restored on the way back
BACKEND = "django.contrib.auth.backends.ModelBackend"


class ImpersonationError(Exception):
    pass


def login_user_for(client):
    """The login to use for the client: its owner, else its first user; None when it has none."""
    membership = default_login(client)
    return membership.user if membership else None


def issue_token(*, staff, client):
    """A signed, short-lived token that lets `staff` (and only them) log in as `client`, once."""
    return signing.dumps({"staff": staff.pk, "client": client.pk, "nonce": secrets.token_urlsafe(16)}, salt=TOKEN_SALT)


def redeem_token(token, *, staff):
    """The Client the token is for, once. Raises ImpersonationError with the reason."""
    try:
        payload = signing.loads(token, salt=TOKEN_SALT, max_age=TOKEN_MAX_AGE)
    except signing.SignatureExpired:
        raise ImpersonationError("The login link expired (it lasts a minute). Use the button again.") from None
    except signing.BadSignature:
        raise ImpersonationError("The login link is not valid.") from None
    if payload.get("staff") != staff.pk:
        raise ImpersonationError("This login link was made for another staff member.")
    if not cache.add(USED_KEY.format(payload["nonce"]), 1, timeout=TOKEN_MAX_AGE * 2):
        raise ImpersonationError("This login link was already used. Use the button again.")
    client = Client.objects.filter(pk=payload.get("client")).first()
    if client is None:
        raise ImpersonationError("The client no longer exists.")
    return client


def start(request, *, client, staff):
    """Audit, then switch the request's session to the client's login, remembering the staff member."""
    user = login_user_for(client)
    if user is None:
        raise ImpersonationError(f"{client} has no login to use.")
    log_activity(
        actor=Actor.staff(staff, ip_address=client_ip(request)),
        action="client.impersonation_start",
        target=client,
        message=f"{staff.get_username()} logged in as the client {client} (login {user.get_username()}).",
        data={"staff": staff.get_username(), "user": user.get_username()},
    )
    staff_device = two_factor.verified_device_id(request)
    _switch_user(request, user)
    request.session[IMPERSONATOR_KEY] = staff.pk
    request.session[STAFF_OTP_KEY] = staff_device
    request.session[CLIENT_KEY] = client.pk
    request.impersonator = staff
    return user


def end(request):
    """Audit the end and switch the session back to the staff member. Returns the client (or None)."""
    staff = getattr(request, "impersonator", None)
    client = Client.objects.filter(pk=request.session.get(CLIENT_KEY)).first()
    if staff is None:
        return None
    log_activity(
        actor=Actor.staff(staff, ip_address=client_ip(request)), action="client.impersonation_end",
        target=client, message=f"{staff.get_username()} returned to the staff area from the client {client}.",
        data={"staff": staff.get_username(), "user": request.user.get_username()},
    )
    staff_device = request.session.get(STAFF_OTP_KEY)
    _switch_user(request, staff)
    two_factor.restore_staff_verification(request, staff_device)
    request.impersonator = None
    return client


def _switch_user(request, user):
    """Sign the request's session in as `user` without a login event: a new session (new key, nothing of the
    old one kept) and a new CSRF token, as django.contrib.auth.login does when the user changes."""
    request.session.flush()
    request.session[SESSION_KEY] = user._meta.pk.value_to_string(user)
    request.session[BACKEND_SESSION_KEY] = BACKEND
    request.session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    request.user = user
    rotate_token(request)


class ImpersonationMiddleware:
    """Sets `request.impersonator`: the staff user behind an impersonated session, else None. A staff member who
    lost staff status or was deactivated meanwhile ends the session (signed out)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.impersonator = None
        staff_id = request.session.get(IMPERSONATOR_KEY) if hasattr(request, "session") else None
        if staff_id is not None and request.user.is_authenticated:
            staff = get_user_model().objects.filter(pk=staff_id, is_active=True, is_staff=True).first()
            if staff is None:
                auth_logout(request)
            else:
                request.impersonator = staff
        return self.get_response(request)


class LoginAsClientAdminMixin:
    """The Client admin's "Log in as client" button and its three URLs."""

    change_form_template = "admin/portal/client/change_form.html"

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path("<path:object_id>/login-as/", wrap(self.login_as_view), name="portal_client_login_as"),
            path("login-as/<str:token>/", wrap(self.login_as_enter_view), name="portal_client_login_as_enter"),
            # Not admin_view: the session belongs to the client user until this view switches it back.
            path("return-to-admin/", never_cache(return_to_admin), name="portal_client_return_to_admin"),
            *super().get_urls(),
        ]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra = {"can_login_as": request.user.has_perm(PERMISSION), **(extra_context or {})}
        return super().change_view(request, object_id, form_url, extra)

    def login_as_view(self, request, object_id):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not request.user.has_perm(PERMISSION):
            raise PermissionDenied
        client = self.get_object(request, object_id)
        if client is None:
            raise Http404("No such client.")
        refusal = two_factor.refusal_without_two_factor(request, what="Log in as client", target=client)
        if refusal:
            messages.error(request, refusal)
            return redirect("admin:portal_client_change", client.pk)
        if login_user_for(client) is None:
            messages.error(request, f"{client} has no login to use: add a user to the client first.")
            return redirect("admin:portal_client_change", client.pk)
        token = issue_token(staff=request.user, client=client)
        return redirect("admin:portal_client_login_as_enter", token)

    def login_as_enter_view(self, request, token):
        if not request.user.has_perm(PERMISSION):
            raise PermissionDenied
        refusal = two_factor.refusal_without_two_factor(request, what="Log in as client", target=None)
        if refusal:
            messages.error(request, refusal)
            return redirect("admin:index")
        try:
            client = redeem_token(token, staff=request.user)
            start(request, client=client, staff=request.user)
        except ImpersonationError as exc:
            messages.error(request, str(exc))
            return redirect("admin:index")
        return redirect("clientarea:dashboard")


def return_to_admin(request):
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    if getattr(request, "impersonator", None) is None:
        return redirect("admin:index")
    client = end(request)
    messages.success(request, f"Back in the staff area{f' (you were logged in as {client})' if client else ''}.")
    if client is None:
        return redirect("admin:index")
    return redirect(reverse("admin:portal_client_change", args=[client.pk]))
