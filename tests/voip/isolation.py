"""Rows for tests/portal/test_isolation.py: how to make the owner's object for each VoIP client-area URL kwarg."""
from tests.voip.builders import voip_product, voip_service


def _voip_service(owner):
    return voip_service(owner, voip_product(None), domain="owner-only-voip.example").pk


OBJECT_KWARGS = {"voip_service_id": _voip_service}
