"""Client-area URL keywords of billing for tests/portal/test_isolation.py: {kwarg: f(owner) -> value}."""
from decimal import Decimal

from billing.models import CreditNote
from tests.factories import InvoiceFactory


def _credit_note(owner):
    invoice = InvoiceFactory(client=owner, number="OWN-CN-1", status="refunded", total=Decimal("10.00"))
    return CreditNote.objects.create(number="CN-OWN-1", invoice=invoice, client=owner, kind=CreditNote.Kind.REFUND,
                                     currency=invoice.currency, subtotal=Decimal("-10.00"), total=Decimal("-10.00")).pk


OBJECT_KWARGS = {"credit_note_id": _credit_note}
