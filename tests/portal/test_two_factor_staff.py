"""Two-factor sign-in in the staff area (config/admin_site.py, portal/two_factor.py, portal/admin_two_factor.py):
the admin login's code step, the gate in front of every staff page, STAFF_TWO_FACTOR_REQUIRED, "log in as
client" needing a session that passed two-factor, and the audited reset of another login's two-factor."""
import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice

from portal import two_factor
from portal.models import ActivityLog
from tests.conftest import sign_in_with_two_factor, totp_code, two_factor_device
from tests.factories import PASSWORD, StaffFactory

pytestmark = pytest.mark.django_db
VERIFY = reverse("admin:two_factor_verify")
PAGE = reverse("admin:two_factor")


@pytest.fixture
def staff():
    user = StaffFactory()
    user.user_permissions.add(*Permission.objects.filter(codename__in=["login_as_client", "view_client", "change_client"]))
    return user


def admin_sign_in(browser, user, next_url="/admin/portal/client/"):
    return browser.post(reverse("admin:login"), {"username": user.username, "password": PASSWORD, "next": next_url})


def test_the_staff_login_asks_for_the_code_and_then_goes_where_it_was_going(client, staff):
    device = two_factor_device(staff)
    response = admin_sign_in(client, staff)
    assert response.status_code == 302 and response["Location"] == VERIFY
    assert "_auth_user_id" not in client.session
    assert reverse("admin:login") in client.get(reverse("admin:index"))["Location"]
    page = client.get(VERIFY).content.decode()
    assert staff.username in page and 'autocomplete="one-time-code"' in page

    response = client.post(VERIFY, {"code": totp_code(device)})
    assert response.status_code == 302 and response["Location"] == "/admin/portal/client/"
    assert client.session[DEVICE_ID_SESSION_KEY] == device.persistent_id
    assert client.get("/admin/portal/client/").status_code == 200


def test_staff_without_two_factor_sign_in_with_the_password_when_it_is_not_required(client, staff):
    response = admin_sign_in(client, staff)
    assert response["Location"] == "/admin/portal/client/" and int(client.session["_auth_user_id"]) == staff.pk
    assert client.get(reverse("admin:index")).status_code == 200


def test_a_signed_in_staff_session_that_did_not_pass_two_factor_is_sent_to_the_code_step(client, staff):
    device = two_factor_device(staff)
    client.force_login(staff)  # e.g. a session from before two-factor was turned on elsewhere
    response = client.get("/admin/portal/client/?q=x")
    assert response.status_code == 302 and response["Location"] == f"{VERIFY}?next=%2Fadmin%2Fportal%2Fclient%2F%3Fq%3Dx"
    response = client.post(response["Location"], {"code": totp_code(device)})
    assert response["Location"] == "/admin/portal/client/?q=x"
    assert client.get(reverse("admin:index")).status_code == 200


def test_the_required_setting_sends_staff_without_two_factor_to_set_it_up_first(client, staff, settings):
    settings.STAFF_TWO_FACTOR_REQUIRED = True
    client.force_login(staff)
    assert client.get(reverse("admin:index"))["Location"] == PAGE
    assert client.get("/admin/portal/client/")["Location"] == PAGE
    page = client.get(PAGE)
    assert page.status_code == 200 and "Staff must use two-factor sign-in" in page.content.decode()
    client.post(reverse("admin:logout"))  # signing out stays possible
    assert "_auth_user_id" not in client.session

    client.force_login(staff)
    client.get(PAGE)
    setup = TOTPDevice.objects.get(user=staff, confirmed=False)
    response = client.post(PAGE, {"action": "confirm", "code": totp_code(setup)})
    assert 'data-testid="recovery-codes"' in response.content.decode()
    assert client.get(reverse("admin:index")).status_code == 200


def test_log_in_as_client_is_refused_without_two_factor_and_the_refusal_is_audited(client, staff, owner):
    client.force_login(staff)
    response = client.post(reverse("admin:portal_client_login_as", args=[owner.pk]), follow=True)
    assert "Log in as client needs a staff session that passed two-factor sign-in: set up two-factor" in \
        response.content.decode()
    assert int(client.session["_auth_user_id"]) == staff.pk
    assert not ActivityLog.objects.filter(action="client.impersonation_start").exists()
    refusal = ActivityLog.objects.get(action="two_factor.required_refused")
    assert (refusal.actor_user, refusal.client_id, refusal.data) == (
        staff, owner.pk, {"what": "Log in as client", "has_two_factor": False})
    # A token made elsewhere does not get round it either.
    from portal import impersonation

    token = impersonation.issue_token(staff=staff, client=owner)
    client.get(reverse("admin:portal_client_login_as_enter", args=[token]))
    assert int(client.session["_auth_user_id"]) == staff.pk


def test_log_in_as_client_works_with_a_verified_session_and_return_keeps_it_verified(client, staff, owner):
    device = sign_in_with_two_factor(client, staff)
    token_url = client.post(reverse("admin:portal_client_login_as", args=[owner.pk]))["Location"]
    assert client.get(token_url)["Location"] == reverse("clientarea:dashboard")
    assert int(client.session["_auth_user_id"]) == owner.owner_user.pk and DEVICE_ID_SESSION_KEY not in client.session
    client.post(reverse("admin:portal_client_return_to_admin"))
    assert client.session[DEVICE_ID_SESSION_KEY] == device.persistent_id
    assert "/login-as/" in client.post(reverse("admin:portal_client_login_as", args=[owner.pk]))["Location"]
    assert not ActivityLog.objects.filter(action="two_factor.required_refused").exists()


def reset_action(browser, *users):
    return browser.post(reverse("admin:auth_user_changelist"),
                        {"action": "reset_two_factor", "_selected_action": [user.pk for user in users]}, follow=True)


def test_turning_off_anothers_two_factor_needs_its_own_permission_and_is_audited(client, staff):
    lost_phone = StaffFactory(username="lost-phone")
    two_factor_device(lost_phone)
    without = StaffFactory(username="never-had-it")
    manager = StaffFactory(username="manager")
    manager.user_permissions.add(*Permission.objects.filter(codename__in=["view_user", "change_user"]))
    sign_in_with_two_factor(client, manager)
    page = client.get(reverse("admin:auth_user_changelist")).content.decode()
    assert "reset_two_factor" not in page  # no action without the permission
    reset_action(client, lost_phone)
    assert two_factor.has_two_factor(lost_phone) and not ActivityLog.objects.filter(action="two_factor.reset").exists()

    manager.user_permissions.add(Permission.objects.get(codename="reset_two_factor"))
    manager = type(manager).objects.get(pk=manager.pk)  # permissions are cached on the instance
    response = reset_action(client, lost_phone, without, manager)
    text = response.content.decode()
    assert "Two-factor sign-in turned off for 1 of the 2 selected login(s)" in text
    assert "Your own two-factor is turned off on your Two-factor sign-in page" in text
    assert not two_factor.has_two_factor(lost_phone) and two_factor.has_two_factor(manager)
    entries = {entry.target_id: entry for entry in ActivityLog.objects.filter(action="two_factor.reset")}
    assert set(entries) == {str(lost_phone.pk), str(without.pk)}
    assert entries[str(lost_phone.pk)].actor_user == manager and entries[str(lost_phone.pk)].data == {
        "user_id": lost_phone.pk, "had_two_factor": True}
    assert "manager turned off two-factor sign-in of lost-phone" == entries[str(lost_phone.pk)].message.rstrip(".")


def test_the_reset_needs_a_session_that_passed_two_factor(client):
    target = StaffFactory()
    two_factor_device(target)
    manager = StaffFactory()
    manager.user_permissions.add(*Permission.objects.filter(codename__in=["view_user", "reset_two_factor"]))
    client.force_login(manager)
    response = reset_action(client, target)
    assert "needs a staff session that passed two-factor sign-in" in response.content.decode()
    assert two_factor.has_two_factor(target)
    assert ActivityLog.objects.get(action="two_factor.required_refused").actor_user == manager


def test_the_user_list_shows_who_has_two_factor_and_the_device_pages_are_gone(admin_client, admin_user):
    sign_in_with_two_factor(admin_client, admin_user)
    page = admin_client.get(reverse("admin:auth_user_changelist")).content.decode()
    assert "column-two_factor" in page and 'alt="True"' in page
    assert admin_client.get("/admin/otp_totp/totpdevice/").status_code == 404
    assert admin_client.get("/admin/otp_static/staticdevice/").status_code == 404
