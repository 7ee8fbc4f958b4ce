"""Shared by both APIs: finding the credential, the IP allow-list, the rate limit and who acted. The caller's
address and the per-minute counters are portal.network's, which the Vodia CDR push shares."""
from dataclasses import dataclass
from datetime import timedelta

from axes.handlers.proxy import AxesProxyHandler
from django.conf import settings
from django.contrib.auth import authenticate
from django.utils import timezone

from api import selectors
from api.models import ApiKey
from api.scopes import owner_may
from portal.activity import Actor
from portal.network import client_ip, count_failed_auth, failed_auth_limited, rate_limited

__all__ = [
    "AuthError", "Caller", "LockedOut", "client_ip", "count_failed_auth", "failed_auth_limited", "is_key_identifier",
    "key_caller", "rate_limited", "staff_caller",
]

TOUCH_EVERY = timedelta(minutes=1)  # last_used_at is written at most once a minute per key


class AuthError(Exception):
    """The caller is not let in: bad credentials, a disabled key or an address not on the allow-list."""


class LockedOut(AuthError):
    """Too many failed passwords for this login from this address: the sign-in pages' lockout (django-axes)."""


@dataclass
class Caller:
    """Who is calling: an API key, or a staff member through WHMCS's legacy username + password."""

    name: str
    ip: str
    key: ApiKey | None = None
    user: object = None

    @property
    def actor(self):
        return Actor.api(self.name, ip_address=self.ip)

    @property
    def rate_id(self):
        return f"key:{self.key.pk}" if self.key else f"user:{self.user.pk}"

    @property
    def rate_limit(self):
        if self.key is not None and self.key.rate_limit:
            return self.key.rate_limit
        return settings.API_RATE_LIMIT

    def allows(self, scope, action=None):
        if self.key is not None:
            return self.key.allows(scope, action)
        return owner_may(self.user, scope)


def is_key_identifier(value):
    """Whether `value` is an API key's identifier (WHMCS accepts the identifier in the username field)."""
    return bool(value) and selectors.api_key(value) is not None


def key_caller(identifier, secret, ip):
    """The Caller for an identifier and secret, or AuthError. The IP check comes after the secret check so
    that the allow-list cannot be probed without the secret."""
    key = selectors.api_key(identifier)
    if key is None or not secret or not key.check_secret(secret) or not key.enabled or not key.owner.is_active:
        raise AuthError("Authentication Failed")
    if not key.ip_allowed(ip):
        raise AuthError(f"Invalid IP {ip}")
    now = timezone.now()
    if key.last_used_at is None or now - key.last_used_at > TOUCH_EVERY:
        ApiKey.objects.filter(pk=key.pk).update(last_used_at=now, last_used_ip=ip)
        key.last_used_at = now
    return Caller(name=key.name, ip=ip, key=key, user=key.owner)


def staff_caller(request, username, password, ip):
    """WHMCS's legacy form: a staff username and password (plain; see docs/whmcs-api.md). The password is
    checked by Django's authenticate(), so django-axes counts a wrong one and locks the login exactly as on the
    sign-in pages, in the same counter (AXES_LOCKOUT_PARAMETERS: the username from the client's address): five
    wrong passwords here or there, and even the right one is refused (LockedOut) until the cool-off ends."""
    if not username or not password:
        raise AuthError("Authentication Failed")
    user = authenticate(request, username=username, password=password)
    locked = getattr(request, "axes_locked_out", False)
    request.axes_locked_out = False  # api.php answers in WHMCS's shape, not with axes' lockout page
    if locked:
        raise LockedOut("Too many failed login attempts. Please try again later.")
    if user is None or not user.is_staff:
        raise AuthError("Authentication Failed")
    if settings.AXES_RESET_ON_SUCCESS:  # as a sign-in does (axes' user_logged_in; api.php starts no session)
        AxesProxyHandler.reset_attempts(ip_address=ip, username=username)
    return Caller(name=user.get_username(), ip=ip, user=user)
