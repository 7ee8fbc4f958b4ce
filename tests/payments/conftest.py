import pytest

from portal.activity import Actor
from tests.factories import StaffFactory


@pytest.fixture
def staff(db):
    return StaffFactory(is_superuser=True)


@pytest.fixture
def staff_actor(staff):
    return Actor.staff(staff)
