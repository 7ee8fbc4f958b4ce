"""Client-area URL keywords of payments for tests/portal/test_isolation.py: {kwarg: f(owner) -> value}."""
from payments.models import PaymentMethod


def _saved_card(owner):
    return PaymentMethod.objects.create(client=owner, gateway="stripe", customer_id="cus_owner", method_id="pm_owner",
                                        brand="visa", last4="4242", is_default=True).pk


OBJECT_KWARGS = {"gateway": lambda owner: "stripe", "method_id": _saved_card}
