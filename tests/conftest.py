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
