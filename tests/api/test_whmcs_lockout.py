"""api.php's legacy username + password goes through the sign-in pages' lockout (django-axes): failures count per
login and client address in the same counter as the sign-in pages, and a locked login is refused even with the
right password until the cool-off ends; the API answers in WHMCS's shape (429), not with the lockout page."""
import pytest

from tests.factories import PASSWORD, StaffFactory

pytestmark = pytest.mark.django_db
API = "/includes/api.php"
GUESSER = "203.0.113.66"
LOCKED = {"result": "error", "message": "Too many failed login attempts. Please try again later."}


@pytest.fixture
def staff():
    return StaffFactory(is_superuser=True)


def api_login(client, username, password, ip=GUESSER):
    return client.post(API, {"username": username, "password": password, "action": "GetClients",
                             "responsetype": "json"}, REMOTE_ADDR=ip)


def test_five_wrong_passwords_lock_the_login_even_for_the_right_password(client, staff):
    for _ in range(4):
        assert api_login(client, staff.username, "wrong").json()["message"] == "Authentication Failed"
    fifth = api_login(client, staff.username, "wrong")
    assert (fifth.status_code, fifth["Content-Type"], fifth.json()) == (429, "application/json", LOCKED)
    right = api_login(client, staff.username, PASSWORD)
    assert (right.status_code, right.json()) == (429, LOCKED)


def test_the_lockout_is_shared_with_the_sign_in_pages(client, staff):
    for _ in range(3):
        client.post("/login/", {"username": staff.username, "password": "wrong"}, REMOTE_ADDR=GUESSER)
    api_login(client, staff.username, "wrong")
    assert api_login(client, staff.username, "wrong").json() == LOCKED
    admin = client.post("/admin/login/", {"username": staff.username, "password": PASSWORD}, REMOTE_ADDR=GUESSER)
    assert admin.status_code == 429 and "_auth_user_id" not in client.session


def test_the_staff_member_at_another_address_is_not_locked_out(client, staff):
    for _ in range(5):
        api_login(client, staff.username, "wrong")
    assert api_login(client, staff.username, PASSWORD, ip="198.51.100.10").json()["result"] == "success"


def test_a_right_password_resets_the_count_as_a_sign_in_does(client, staff):
    for _ in range(4):
        api_login(client, staff.username, "wrong")
    assert api_login(client, staff.username, PASSWORD).json()["result"] == "success"
    for _ in range(4):
        api_login(client, staff.username, "wrong")
    assert api_login(client, staff.username, PASSWORD).json()["result"] == "success"


def test_guesses_spread_over_many_addresses_lock_the_account_everywhere_at_the_ceiling(client, staff, settings):
    # Four wrong passwords from each of five addresses (under the per-address limit of five): 20 in all, the
    # account's ceiling. The right password is then refused from a new address, on api.php and the sign-in pages;
    # another login is not affected.
    settings.LOGIN_ACCOUNT_FAILURE_LIMIT = 20
    other = StaffFactory(is_superuser=True)
    for n in range(5):
        for _ in range(4):
            assert api_login(client, staff.username, "wrong", ip=f"203.0.113.{n + 1}").json()["message"] == \
                "Authentication Failed"
    right = api_login(client, staff.username, PASSWORD, ip="198.51.100.99")
    assert (right.status_code, right.json()) == (429, LOCKED)
    admin = client.post("/admin/login/", {"username": staff.username, "password": PASSWORD}, REMOTE_ADDR="198.51.100.98")
    assert admin.status_code == 429 and "_auth_user_id" not in client.session
    assert api_login(client, other.username, PASSWORD, ip="198.51.100.99").json()["result"] == "success"


def test_below_the_ceiling_the_right_password_from_a_new_address_works(client, staff, settings):
    settings.LOGIN_ACCOUNT_FAILURE_LIMIT = 20
    for n in range(19):
        api_login(client, staff.username, "wrong", ip=f"203.0.113.{n + 1}")
    assert api_login(client, staff.username, PASSWORD, ip="198.51.100.99").json()["result"] == "success"
