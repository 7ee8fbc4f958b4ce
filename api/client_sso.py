"""A client's own passwordless login into the client area (WHMCS's CreateSsoToken with client_id).

1. `issue` (API, scope clients.sso) makes a token for one login (ClientUser) of the client: 256 random bits
   signed with the site's key (django.core.signing, its own salt), so that a made-up token is refused before
   any database lookup. Only its SHA-256 is stored (ClientSsoToken), with the destination, who issued it
   (API key, address) and an expiry 60 seconds away, as WHMCS's tokens.
2. `redeem` (the client area's /sso/<token>/) marks it used in one conditional UPDATE (unused and not expired),
   so a token logs in at most once even when two requests race; then the view signs that user in (a new
   session) and redirects to the destination.
3. Destinations are client-area pages only: WHMCS's names (clientarea:services, …) or, with
   sso:custom_redirect, a path on this site that resolves to a non-public client-area page. Anything else
   (another host, a scheme, //, a backslash, the login or logout page) is refused when the token is issued
   and checked again when it is used: no open redirect.
Issuing, using and every refused use are in the activity log.
"""
import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlsplit

from django.core import signing
from django.urls import Resolver404, get_resolver, resolve, reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme

from api.models import ClientSsoToken
from api.selectors import sso_token
from billing.selectors import client_has_service
from portal.activity import Actor, log_activity
from portal.logins import default_login
from portal.models import Client
from portal.selectors import client_login, is_client_login

TOKEN_SALT = "api.client_sso"
LIFETIME = timedelta(seconds=60)
CUSTOM_REDIRECT = "sso:custom_redirect"

# WHMCS destinations → client-area URL names; those marked True take service_id (the client's own service).
DESTINATIONS = {
    "clientarea:homepage": ("dashboard", False),
    "clientarea:profile": ("profile", False),
    "clientarea:services": ("services", False),
    "clientarea:product_details": ("service", True),
    "clientarea:upgrade": ("service_change", True),
    "clientarea:invoices": ("invoices", False),
}


class SsoError(Exception):
    """The token cannot be issued as asked (a message for the API caller)."""


class RedeemError(Exception):
    """The link cannot be used; `reason` is for the audit log, the message for the visitor."""

    def __init__(self, message, *, reason, token=None):
        super().__init__(message)
        self.reason = reason
        self.token = token


@dataclass(frozen=True)
class Issued:
    token: str
    record: ClientSsoToken


def hash_token(token):
    return hashlib.sha256(token.encode()).hexdigest()


def login_for(client, client_user_id=None):
    """The ClientUser to sign in: the given one (it must belong to the client), else the owner, else the first."""
    if client_user_id is not None:
        membership = client_login(client=client, client_user_id=client_user_id)
        if membership is None:
            raise SsoError("User ID Not Found for this client")
    else:
        membership = default_login(client)
        if membership is None:
            raise SsoError("The client has no login to use")
    if not membership.user.is_active:
        raise SsoError("That login is disabled")
    return membership


def destination_path(client, destination="", *, service_id=None, redirect_path=""):
    """The client-area path for a WHMCS destination, or SsoError saying what is allowed."""
    destination = (destination or "clientarea:homepage").strip()
    if destination == CUSTOM_REDIRECT:
        return safe_path(redirect_path)
    if destination not in DESTINATIONS:
        raise SsoError(f"Invalid destination {destination!r}: use one of {', '.join(sorted(DESTINATIONS))} or "
                       f"{CUSTOM_REDIRECT} with sso_redirect_path")
    name, takes_service = DESTINATIONS[destination]
    if not takes_service:
        return reverse(f"clientarea:{name}")
    if service_id is None:
        raise SsoError(f"{destination} needs service_id")
    if not client_has_service(client=client, service_id=service_id):
        raise SsoError("Service ID Not Found")
    return reverse(f"clientarea:{name}", args=[service_id])


def public_url_names():
    """The client area's public pages, as its URLconf declares them (PUBLIC_URL_NAMES). Read through Django's
    resolver, not imported: the URLconf is on the top floor (config), which imports this module."""
    for pattern in get_resolver().url_patterns:
        if getattr(pattern, "namespace", None) == "clientarea":
            return pattern.urlconf_module.PUBLIC_URL_NAMES
    return set()


def safe_path(path):
    """`path` when it is a same-site client-area page a signed-in client may open, else SsoError."""
    path = (path or "").strip()
    parts = urlsplit(path)
    if (not path.startswith("/") or path.startswith("//") or "\\" in path or parts.scheme or parts.netloc
            or not url_has_allowed_host_and_scheme(path, allowed_hosts=set())):
        raise SsoError("sso_redirect_path must be a path of this site's client area, such as /services/")
    try:
        match = resolve(parts.path)
    except Resolver404:
        raise SsoError(f"sso_redirect_path {parts.path!r} is not a client-area page") from None
    if match.namespace != "clientarea" or match.url_name in public_url_names():
        raise SsoError(f"sso_redirect_path {parts.path!r} is not a client-area page")
    return path


def issue(*, client, membership, destination, actor, key=None):
    """Make the token (returned once, never stored) and its record, and audit who issued it."""
    token = signing.Signer(salt=TOKEN_SALT).sign(secrets.token_urlsafe(32))
    now = timezone.now()
    record = ClientSsoToken.objects.create(
        token_hash=hash_token(token), client=client, user=membership.user, destination=destination,
        issued_by_key=key, issued_by=actor.label, issued_ip=actor.ip_address, created_at=now,
        expires_at=now + LIFETIME,
    )
    log_activity(
        actor=actor, action="client.sso_token_issued", target=client,
        message=f"One-time client-area login for {membership.user.get_username()} issued by {actor.label}, "
                f"landing on {destination}.",
        data={"token": record.pk, "user": membership.user.get_username(), "destination": destination,
              "api_key": key.pk if key else None},
    )
    return Issued(token, record)


def redeem(token, *, ip):
    """The ClientSsoToken, now marked used; RedeemError (audited when the token is known) otherwise."""
    try:
        signing.Signer(salt=TOKEN_SALT).unsign(token)
    except signing.BadSignature:
        raise RedeemError("This login link is not valid.", reason="invalid") from None
    digest, now = hash_token(token), timezone.now()
    claimed = ClientSsoToken.objects.filter(token_hash=digest, used_at__isnull=True, expires_at__gt=now).update(
        used_at=now, used_ip=ip)
    record = sso_token(digest)
    if record is None:
        raise RedeemError("This login link is not valid.", reason="unknown")
    if not claimed:
        reason = "used" if record.used_at is not None else "expired"
        raise _refused(record, ip, reason, "This login link was already used or has expired (links last a minute "
                                           "and work once). Ask for a new one, or sign in with your password.")
    if (not record.user.is_active or record.client.status == Client.Status.CLOSED
            or not is_client_login(client=record.client, user=record.user)):
        raise _refused(record, ip, "login_not_allowed", "This login can no longer be used to sign in.")
    try:
        safe_path(record.destination)
    except SsoError:
        raise _refused(record, ip, "destination", "This login link's destination is not allowed.") from None
    log_activity(
        actor=Actor.client(record.user, ip_address=ip), action="client.sso_login", target=record.client,
        message=f"{record.user.get_username()} signed in with a one-time login link issued by {record.issued_by}.",
        data={"token": record.pk, "issued_by": record.issued_by, "destination": record.destination, "ip": ip},
    )
    return record


def _refused(record, ip, reason, message):
    log_activity(
        actor=Actor.client(record.user, ip_address=ip), action="client.sso_login_refused", target=record.client,
        message=f"One-time login link for {record.user.get_username()} refused ({reason}).",
        data={"token": record.pk, "reason": reason, "ip": ip},
    )
    return RedeemError(message, reason=reason, token=record)
