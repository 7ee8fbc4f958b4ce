"""Two-factor sign-in in the client area (portal/two_factor.py, portal/views_two_factor.py): setting it up with a
real code computed from the device's key, the code step after the password, recovery codes used once, wrong
codes locking the login out with the passwords' lockout, and turning it off."""
import time
from unittest import mock

import pytest
from django.urls import reverse
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from portal import two_factor
from portal.activity import Actor
from portal.models import ActivityLog
from tests.conftest import totp_code, two_factor_device
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db
PAGE = reverse("clientarea:two_factor")
VERIFY = reverse("clientarea:login_verify")


def sign_in(browser, user, password=PASSWORD):
    return browser.post(reverse("clientarea:login"), {"username": user.username, "password": password})


def signed_in_user_id(browser):
    return browser.session.get("_auth_user_id")


def unthrottle(device):
    """Skip django-otp's back-off after a wrong code (1 s, then doubling), which a person waits out by typing."""
    type(device).objects.filter(pk=device.pk).update(throttling_failure_count=0, throttling_failure_timestamp=None)


@pytest.fixture
def login(owner):
    return owner.owner_user


@pytest.fixture
def enabled(login):
    """The owner's login with two-factor on and its ten recovery codes."""
    device = two_factor_device(login)
    codes = two_factor.regenerate_recovery_codes(user=login, actor=Actor.client(login))
    return device, codes


def test_setup_shows_the_qr_code_and_secret_and_a_right_code_turns_it_on_with_ten_recovery_codes(client, owner, login):
    client.force_login(login)
    page = client.get(PAGE).content.decode()
    setup = TOTPDevice.objects.get(user=login, confirmed=False)
    assert 'data-testid="qr-code"><svg' in page
    assert two_factor.secret_for_display(setup) in page and len(two_factor.secret_for_display(setup)) == 39
    assert client.get(PAGE).content.decode().count(two_factor.secret_for_display(setup)) == 1  # same key on reload

    wrong = client.post(PAGE, {"action": "confirm", "code": "000000" if totp_code(setup) != "000000" else "111111"})
    assert "That code does not match" in wrong.content.decode()
    assert not two_factor.has_two_factor(login)
    assert ActivityLog.objects.get(action="two_factor.code_failed").data == {"user_id": login.pk, "during": "setup"}
    unthrottle(setup)

    response = client.post(PAGE, {"action": "confirm", "code": totp_code(setup)})
    codes = list(StaticToken.objects.filter(device__user=login).values_list("token", flat=True))
    assert len(codes) == 10 and all(code in response.content.decode() for code in codes)
    assert TOTPDevice.objects.get(user=login).confirmed
    entry = ActivityLog.objects.get(action="two_factor.enable")
    assert (entry.actor_user, entry.client_id, entry.target_id) == (login, owner.pk, str(login.pk))
    assert client.session[DEVICE_ID_SESSION_KEY] == setup.persistent_id  # this session passed with that code
    # Shown once: the page now shows the state, not the codes.
    page = client.get(PAGE).content.decode()
    assert 'data-testid="codes-left">10<' in page and codes[0] not in page


def test_the_client_login_asks_for_the_code_before_the_session_is_signed_in(client, login, enabled):
    device, _ = enabled
    response = sign_in(client, login)
    assert response.status_code == 302 and response["Location"] == VERIFY
    assert signed_in_user_id(client) is None
    assert client.get(reverse("clientarea:dashboard"))["Location"].startswith(reverse("clientarea:login"))

    response = client.post(VERIFY, {"code": totp_code(device)})
    assert response.status_code == 302 and response["Location"] == "/"
    assert int(signed_in_user_id(client)) == login.pk and client.session[DEVICE_ID_SESSION_KEY] == device.persistent_id
    assert client.get("/").status_code == 200
    assert ActivityLog.objects.filter(action="client.login").count() == 1


def test_a_login_without_two_factor_signs_in_with_the_password_alone(client, login):
    response = sign_in(client, login)
    assert response["Location"] == "/" and int(signed_in_user_id(client)) == login.pk


def test_a_recovery_code_signs_in_once_and_is_used_up(client, login, enabled):
    _, codes = enabled
    sign_in(client, login)
    response = client.post(VERIFY, {"code": f" {codes[3][:4].upper()}-{codes[3][4:]} "}, follow=True)
    assert int(signed_in_user_id(client)) == login.pk
    assert "You signed in with a recovery code; 9 left." in response.content.decode()
    entry = ActivityLog.objects.get(action="two_factor.recovery_code_used")
    assert entry.data == {"user_id": login.pk, "codes_left": 9} and entry.client_id == login.client_user.client_id

    client.logout()
    sign_in(client, login)
    response = client.post(VERIFY, {"code": codes[3]})
    assert response.status_code == 200 and two_factor.WRONG_CODE in response.content.decode()
    assert signed_in_user_id(client) is None


def test_a_wrong_code_is_refused_and_audited(client, login, enabled):
    device, _ = enabled
    sign_in(client, login)
    wrong = "123456" if totp_code(device) != "123456" else "654321"
    response = client.post(VERIFY, {"code": wrong})
    assert response.status_code == 200 and two_factor.WRONG_CODE in response.content.decode()
    assert signed_in_user_id(client) is None
    entry = ActivityLog.objects.get(action="two_factor.code_failed")
    assert entry.data == {"user_id": login.pk, "during": "sign-in"} and entry.actor_user == login


def test_wrong_codes_count_toward_the_password_lockout(client, login, enabled, settings):
    device, _ = enabled
    settings.AXES_FAILURE_LIMIT = 3
    sign_in(client, login, password="wrong password")  # one failure from the password
    sign_in(client, login)
    wrong = "123456" if totp_code(device) != "123456" else "654321"
    assert client.post(VERIFY, {"code": wrong}).status_code == 200
    locked = client.post(VERIFY, {"code": wrong})  # the third failure
    assert locked.status_code == 429 and "Too many failed sign-in attempts" in locked.content.decode()
    assert client.post(VERIFY, {"code": totp_code(device)}).status_code == 429  # even the right code now
    assert signed_in_user_id(client) is None
    assert sign_in(client, login).status_code == 429  # and the password
    assert ActivityLog.objects.filter(action="two_factor.code_failed").count() == 2


def test_the_code_step_lapses_after_five_minutes(client, login, enabled):
    device, _ = enabled
    sign_in(client, login)
    with mock.patch("portal.two_factor.time.time", return_value=time.time() + two_factor.PENDING_MAX_AGE + 1):
        response = client.post(VERIFY, {"code": totp_code(device)})
    assert response.status_code == 302 and response["Location"] == reverse("clientarea:login")
    assert signed_in_user_id(client) is None and two_factor.PENDING_KEY not in client.session


def test_cancel_leaves_the_code_step_signed_out(client, login, enabled):
    sign_in(client, login)
    response = client.post(VERIFY, {"cancel": "1"})
    assert response["Location"] == reverse("clientarea:login") and two_factor.PENDING_KEY not in client.session
    assert client.get(VERIFY)["Location"] == reverse("clientarea:login")


def test_turning_it_off_needs_a_current_code_and_is_audited(client, login, enabled):
    device, _ = enabled
    client.force_login(login)
    wrong = "123456" if totp_code(device) != "123456" else "654321"
    response = client.post(PAGE, {"action": "disable", "code": wrong})
    assert two_factor.WRONG_CODE in response.content.decode() and two_factor.has_two_factor(login)
    assert ActivityLog.objects.get(action="two_factor.code_failed").data["during"] == "confirmation"
    unthrottle(device)
    response = client.post(PAGE, {"action": "disable", "code": totp_code(device)})
    assert response.status_code == 302 and response["Location"] == PAGE
    assert not TOTPDevice.objects.filter(user=login).exists() and not StaticDevice.objects.filter(user=login).exists()
    entry = ActivityLog.objects.get(action="two_factor.disable")
    assert entry.actor_user == login and entry.client_id == login.client_user.client_id


def test_new_recovery_codes_replace_the_old_ones(client, login, enabled):
    device, old = enabled
    client.force_login(login)
    response = client.post(PAGE, {"action": "regenerate", "code": totp_code(device)})
    new = list(StaticToken.objects.filter(device__user=login).values_list("token", flat=True))
    assert len(new) == 10 and not set(new) & set(old) and all(code in response.content.decode() for code in new)
    assert ActivityLog.objects.filter(action="two_factor.recovery_codes_regenerate").count() == 2  # fixture's + this
    assert two_factor.check_code(user=login, code=old[0], actor=Actor.client(login)) is None


def test_staff_logged_in_as_the_client_cannot_change_the_clients_two_factor(client, owner, login, enabled):
    from django.contrib.auth.models import Permission

    from tests.conftest import sign_in_with_two_factor
    from tests.factories import StaffFactory

    staff = StaffFactory()
    staff.user_permissions.add(Permission.objects.get(codename="login_as_client"))
    sign_in_with_two_factor(client, staff)
    client.get(client.post(reverse("admin:portal_client_login_as", args=[owner.pk]))["Location"])
    response = client.get(PAGE, follow=True)
    assert "Only the client can change their two-factor sign-in" in response.content.decode()
    assert client.post(PAGE, {"action": "disable", "code": "x"}).status_code == 302
    assert two_factor.has_two_factor(login)
