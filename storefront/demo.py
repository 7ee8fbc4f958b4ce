"""The storefront's part of the demo (config.demo.load_demo): a promotion a visitor can try at /store/. Loading the
demo again adds nothing."""
from decimal import Decimal

from billing.models import Promotion

CODE = "WELCOME10"


def load_promotion():
    """WELCOME10: 10 % off the first payment of any product, for new clients. Returns it."""
    promotion, _ = Promotion.objects.get_or_create(code=CODE, defaults={
        "kind": Promotion.Kind.PERCENT, "value": Decimal("10"), "recurring": False, "new_clients_only": True,
        "notes": "The demo's promotion: try it in the cart at /store/.",
    })
    return promotion
