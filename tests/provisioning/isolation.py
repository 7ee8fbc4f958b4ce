"""Rows for tests/portal/test_isolation.py: the mail client area's URL keywords, each giving the id (or name)
of an object the owning client has. The mail pages need a provider behind them, so the owner's service lives on
a PolarisMail simulator started once for the test process (its state is in memory; seeding is idempotent)."""
import atexit

from billing.models import Service
from provisioning.mail.models import MailboxRecord
from provisioning.modules.polarismail.simulator import PolarisMailSimulator
from tests.provisioning.mail.helpers import polaris_mail_service, record

_simulator = None


def simulator():
    global _simulator
    if _simulator is None:
        _simulator = PolarisMailSimulator().start()
        atexit.register(_simulator.stop)
    return _simulator


def owners_mail_service(owner):
    """The owner's PolarisMail service with a mailbox `info`, an alias `sales` and a list `team` (made once)."""
    service = Service.objects.filter(client=owner, product__module="polarismail").first()
    if service is None:
        domain = f"isolation-{owner.pk}.example"
        service = polaris_mail_service(simulator(), owner, domain=domain,
                                       users=[{"username": "info", "password": "Info-Passw0rd"}],
                                       aliases={"sales": f"info@{domain}"}, lists={"team": ["a@x.example"]})
    if not MailboxRecord.objects.filter(service=service).exists():
        record(service, "info")
    return service


OBJECT_KWARGS = {
    "mail_service_id": lambda owner: owners_mail_service(owner).pk,
    "mailbox": lambda owner: owners_mail_service(owner) and "info",
    "alias": lambda owner: owners_mail_service(owner) and "sales",
    "mail_list": lambda owner: owners_mail_service(owner) and "team",
}
