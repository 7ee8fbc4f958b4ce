"""Rows for tests/portal/test_isolation.py: how to make the owner's object for each VoIP client-area URL kwarg."""
from tests.voip.factories import VoipProductFactory, VoipServiceFactory


def _voip_service(owner):
    return VoipServiceFactory(client=owner, product=VoipProductFactory(), domain="owner-only-voip.example").pk


OBJECT_KWARGS = {"voip_service_id": _voip_service}
