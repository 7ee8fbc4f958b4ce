import pytest

from tests.provisioning.mail.helpers import paid_period, polaris_mail_service
from tests.provisioning.modules.polarismail.fixtures import polarismail  # noqa: F401


@pytest.fixture
def mail_service(polarismail, owner):  # noqa: F811
    """The owner's active PolarisMail service (3 Basic + 1 Enhanced mailboxes in the plan, the current month paid)
    with one Basic mailbox, info@shop.example, on the simulator."""

    def make(domain="shop.example", users=({"username": "info", "password": "Info-Passw0rd", "quota_gb": 1},),
             paid=True, **kwargs):
        service = polaris_mail_service(polarismail, owner, domain=domain, users=users, **kwargs)
        return paid_period(service) if paid else service

    return make


@pytest.fixture
def ctx_of():
    from provisioning.mail.selectors import mail_context

    return lambda service: mail_context(service.client, service.pk)
