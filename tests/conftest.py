import os

import pytest

from provisioning.modules.fake import FakeModule

REQUIRE_SERVICES = os.environ.get("REQUIRE_SERVICES") == "1"


def service_unavailable(reason):
    """Skip with the reason locally; fail under REQUIRE_SERVICES=1 (CI), where every service must be there."""
    if REQUIRE_SERVICES:
        pytest.fail(f"Required service unavailable (REQUIRE_SERVICES=1): {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(autouse=True)
def _fresh_fake_module():
    FakeModule.reset()
    yield
    FakeModule.reset()


@pytest.fixture
def owner(db):
    """A client with an owner login; returns the client (its user is client.owner_user)."""
    from tests.factories import ClientFactory

    return ClientFactory()


@pytest.fixture
def other_client(db):
    from tests.factories import ClientFactory

    return ClientFactory()


@pytest.fixture
def staff_user(db):
    from tests.factories import StaffFactory

    return StaffFactory(is_superuser=True)


def two_factor_device(user):
    """A confirmed authenticator-app device of `user` (portal.two_factor), as if set up on its page."""
    from django_otp.plugins.otp_totp.models import TOTPDevice

    return TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=True)


def totp_code(device, *, steps_ahead=0):
    """The code the user's app shows now (or `steps_ahead` time steps later), computed from the device's key."""
    from django_otp.oath import totp

    return f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits, drift=steps_ahead):0{device.digits}d}"


def sign_in_with_two_factor(test_client, user):
    """force_login, and the session passed two-factor sign-in with a device of `user` (made if it has none), as
    the code step leaves it: for staff actions that need it (log in as client, control panel login). Returns the
    device."""
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    test_client.force_login(user)
    device = TOTPDevice.objects.filter(user=user, confirmed=True).first() or two_factor_device(user)
    session = test_client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    return device
