"""Two-factor sign-in (docs/two-factor.md) on django-otp: an authenticator app (TOTPDevice) and ten one-time
recovery codes (a StaticDevice named RECOVERY_NAME) per user, staff or client.

- Setting up: `setup_device` makes (or keeps) an unconfirmed TOTP device whose secret the page shows;
  `confirm_setup` turns it on once a code from the app matches and returns the recovery codes, shown once.
- Signing in: the login views check the password, then `begin_sign_in` parks the user in the session (not signed
  in) until `check_code` accepts a code from the app or a recovery code (used up). A wrong code counts toward the
  password lockout (django-axes: LOGIN_FAILURE_LIMIT per username and address), as well as django-otp's own
  growing delay per device.
- Staff actions that act as someone else ("log in as client", control panel single sign-on) need a session that
  passed two-factor: `refusal_without_two_factor` says why not and audits the refusal.
Every change and every failed or recovery code writes the audit log.
"""
import time
from base64 import b32encode

from axes.handlers.proxy import AxesProxyHandler
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_login_failed
from django.core.exceptions import ValidationError
from django.db import transaction
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp import login as otp_login
from django_otp import verify_token
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from portal.activity import Actor, build_entry, log_activities, log_activity
from portal.network import client_ip

RECOVERY_NAME = "Recovery codes"
APP_NAME = "Authenticator app"
RECOVERY_CODE_COUNT = 10
PENDING_KEY = "_two_factor_pending"
PENDING_MAX_AGE = 300  # seconds between the password and the code
RESET_PERMISSION = "portal.reset_two_factor"
WRONG_CODE = "That code is not right (or was already used). Try the current code from your app, or a recovery code."


def enabled_device(user):
    """The user's confirmed authenticator device, or None (one query)."""
    return TOTPDevice.objects.filter(user=user, confirmed=True).first()


def has_two_factor(user):
    return TOTPDevice.objects.filter(user=user, confirmed=True).exists()


def session_verified(request):
    """Did this session pass two-factor sign-in (django_otp.middleware.OTPMiddleware)?"""
    is_verified = getattr(request.user, "is_verified", None)
    return bool(is_verified and is_verified())


def recovery_codes_left(user):
    return StaticToken.objects.filter(device__user=user, device__name=RECOVERY_NAME).count()


def secret_for_display(device):
    """The base32 secret as apps ask for it when typed in, in groups of four."""
    secret = b32encode(device.bin_key).decode()
    return " ".join(secret[i:i + 4] for i in range(0, len(secret), 4))


def normalise(code):
    return "".join(code.split()).replace("-", "").lower()


# --- turning it on and off ----------------------------------------------------------------------------------------

def setup_device(user):
    """The unconfirmed device being set up (kept across reloads of the page, so the QR code does not change)."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("-id").first()
    return device or TOTPDevice.objects.create(user=user, name=APP_NAME, confirmed=False)


def confirm_setup(*, user, device, code, actor, client=None):
    """Turn two-factor on when `code` is the app's current code; returns the device and the new recovery codes.
    ValidationError (and an audit entry, kept: it is written outside the transaction) when it is not."""
    if device.user_id != user.pk or device.confirmed or not device.verify_token(normalise(code)):
        _log_failure(user=user, actor=actor, client=client, during="setup")
        raise ValidationError("That code does not match. Check that the app shows the account you just added and "
                              "that this device's clock is right, then enter the code it shows now.")
    with transaction.atomic():
        device.confirmed = True
        device.save(update_fields=["confirmed"])
        TOTPDevice.objects.filter(user=user).exclude(pk=device.pk).delete()  # an older device of the same user
        codes = _new_recovery_codes(user)
        log_activity(actor=actor, action="two_factor.enable", target=user, client=client,
                     message=f"Two-factor sign-in turned on for {user.get_username()}.", data={"user_id": user.pk})
    return device, codes


@transaction.atomic
def regenerate_recovery_codes(*, user, actor, client=None):
    """New codes replace the old ones, which stop working."""
    codes = _new_recovery_codes(user)
    log_activity(actor=actor, action="two_factor.recovery_codes_regenerate", target=user, client=client,
                 message=f"New recovery codes made for {user.get_username()}; the old ones no longer work.",
                 data={"user_id": user.pk})
    return codes


@transaction.atomic
def disable(*, user, actor, client=None):
    """The user turns their own two-factor off (the page asked for a current code first)."""
    _delete_devices(user_ids=[user.pk])
    log_activity(actor=actor, action="two_factor.disable", target=user, client=client,
                 message=f"Two-factor sign-in turned off for {user.get_username()}.", data={"user_id": user.pk})


@transaction.atomic
def reset_for_users(*, users, actor):
    """A staff member with RESET_PERMISSION turns off two-factor of others (a lost phone): one audit entry each.
    Returns how many had it on."""
    users = [user for user in users if user.pk != actor.user.pk]  # one's own goes through the page, with a code
    with_device = set(TOTPDevice.objects.filter(user__in=users, confirmed=True).values_list("user_id", flat=True))
    _delete_devices(user_ids=[user.pk for user in users])
    log_activities([
        build_entry(actor=actor, action="two_factor.reset", target=user,
                    message=f"{actor.label} turned off two-factor sign-in of {user.get_username()}.",
                    data={"user_id": user.pk, "had_two_factor": user.pk in with_device})
        for user in users
    ])
    return len(with_device)


def _delete_devices(*, user_ids):
    TOTPDevice.objects.filter(user_id__in=user_ids).delete()
    StaticDevice.objects.filter(user_id__in=user_ids).delete()


def _new_recovery_codes(user):
    StaticDevice.objects.filter(user=user).delete()
    device = StaticDevice.objects.create(user=user, name=RECOVERY_NAME, confirmed=True)
    codes = [StaticToken.random_token() for _ in range(RECOVERY_CODE_COUNT)]
    StaticToken.objects.bulk_create([StaticToken(device=device, token=code) for code in codes])
    return codes


# --- checking a code ----------------------------------------------------------------------------------------------

def check_code(*, user, code, actor, client=None, request=None):
    """The device that accepts `code` (the app's, or a recovery code, which is then used up), else None. Each
    failure and each recovery code used is audited; with `request` (signing in), a failure also counts toward
    the login lockout."""
    code = normalise(code)
    devices = {type(d): d for d in (enabled_device(user), StaticDevice.objects.filter(user=user).first()) if d}
    device = None
    if TOTPDevice in devices and code.isdigit() and len(code) == devices[TOTPDevice].digits:
        device = verify_token(user, devices[TOTPDevice].persistent_id, code)
    elif code and StaticDevice in devices:
        device = verify_token(user, devices[StaticDevice].persistent_id, code)
        if device is not None:
            left = recovery_codes_left(user)
            log_activity(actor=actor, action="two_factor.recovery_code_used", target=user, client=client,
                         message=f"{user.get_username()} used a recovery code ({left} left).",
                         data={"user_id": user.pk, "codes_left": left})
    if device is None:
        _log_failure(user=user, actor=actor, client=client, during="sign-in" if request else "confirmation")
        if request is not None:
            user_login_failed.send(sender=__name__, credentials={"username": user.get_username()}, request=request)
    return device


def _log_failure(*, user, actor, client, during):
    log_activity(actor=actor, action="two_factor.code_failed", target=user, client=client,
                 message=f"Wrong two-factor code for {user.get_username()} ({during}).",
                 data={"user_id": user.pk, "during": during})


def locked_out(request, user):
    """Is this username locked out from this address (django-axes)? Marks the request so AxesMiddleware answers
    with the lockout page."""
    credentials = {"username": user.get_username()}
    if not AxesProxyHandler.is_locked(request, credentials):
        return False
    request.axes_locked_out = True
    request.axes_credentials = credentials
    return True


def mark_verified(request, device):
    otp_login(request, device)


# --- the pending sign-in between password and code ----------------------------------------------------------------

def begin_sign_in(request, user, *, next_url):
    """The password was right: remember who is signing in (not signed in yet) and where they were going."""
    request.session[PENDING_KEY] = {"user": user.pk, "backend": user.backend, "next": next_url, "at": time.time()}


def pending_sign_in(request):
    """(user, backend, next URL) of the sign-in waiting for its code, or None (also when it took too long)."""
    pending = request.session.get(PENDING_KEY)
    if not pending:
        return None
    user = get_user_model().objects.filter(pk=pending["user"], is_active=True).first()
    if user is None or time.time() - pending["at"] > PENDING_MAX_AGE:
        cancel_sign_in(request)
        return None
    return user, pending["backend"], pending["next"]


def cancel_sign_in(request):
    request.session.pop(PENDING_KEY, None)


def actor_for(user, request):
    ip = client_ip(request)
    return Actor.staff(user, ip_address=ip) if user.is_staff else Actor.client(user, ip_address=ip)


# --- the staff area ----------------------------------------------------------------------------------------------

def staff_required():
    return settings.STAFF_TWO_FACTOR_REQUIRED


def staff_gate(request):
    """What a staff session must do before the staff area: "verify" (the user has two-factor and this session
    has not passed it), "setup" (STAFF_TWO_FACTOR_REQUIRED and the user has none yet), or None."""
    if session_verified(request):
        return None
    if has_two_factor(request.user):
        return "verify"
    return "setup" if staff_required() else None


# --- staff actions that need a verified session -------------------------------------------------------------------

def refusal_without_two_factor(request, *, what, target):
    """None when the staff session passed two-factor sign-in; else the message to show, after auditing the
    refusal. Staff without two-factor are refused too, whether or not STAFF_TWO_FACTOR_REQUIRED is on."""
    if session_verified(request):
        return None
    has_device = has_two_factor(request.user)
    log_activity(actor=Actor.from_request(request), action="two_factor.required_refused", target=target,
                 message=f"{what} refused for {request.user.get_username()}: the session did not pass two-factor "
                         f"sign-in.", data={"what": what, "has_two_factor": has_device})
    how = ("sign out and sign in again with the code from your authenticator app" if has_device
           else "set up two-factor sign-in first (Two-factor sign-in, at the top of the staff area)")
    return f"{what} needs a staff session that passed two-factor sign-in: {how}."


def verified_device_id(request):
    """The session's verified device, to carry across "log in as client" and back."""
    return request.session.get(DEVICE_ID_SESSION_KEY)


def restore_staff_verification(request, persistent_id):
    if persistent_id:
        request.session[DEVICE_ID_SESSION_KEY] = persistent_id
