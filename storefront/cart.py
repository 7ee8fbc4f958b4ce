"""The visitor's cart, kept in the Django session. Signing in and signing up keep the session's data (Django
cycles the session key but carries its contents over), so the cart survives both.

The cart stores only what the visitor chose — product id, domain, cycle, option values, quantity, a promotion
code and the currency — never a price: every page prices it afresh (billing.services.orders.quote_order), and
checkout prices it again inside the order's transaction. Each item has a random id local to this session; an id
that is not in the cart (another visitor's, a made-up one) is refused."""
import secrets
from dataclasses import asdict, dataclass, field

from django.core.exceptions import ValidationError

from billing.services.orders import OrderItem

SESSION_KEY = "storefront_cart"
MAX_ITEMS = 20


@dataclass
class CartItem:
    id: str
    product: int
    domain: str
    cycle: str
    options: dict = field(default_factory=dict)
    quantity: int = 1

    def order_item(self):
        return OrderItem(self.product, self.domain, self.cycle, dict(self.options), self.quantity)


@dataclass
class Cart:
    currency: str = ""
    promotion: str = ""
    items: list = field(default_factory=list)

    def __len__(self):
        return len(self.items)

    def order_items(self):
        return [item.order_item() for item in self.items]

    def find(self, item_id):
        item = next((i for i in self.items if i.id == item_id), None)
        if item is None:
            raise ValidationError("That item is not in your cart.")
        return item


def load(request):
    data = request.session.get(SESSION_KEY) or {}
    try:
        items = [CartItem(**raw) for raw in data.get("items", [])]
    except TypeError:  # a session written by an older version
        items = []
    return Cart(data.get("currency", ""), data.get("promotion", ""), items)


def save(request, cart):
    request.session[SESSION_KEY] = {"currency": cart.currency, "promotion": cart.promotion,
                                    "items": [asdict(i) for i in cart.items]}


def add(request, cart, *, product, domain, cycle, options, quantity):
    if len(cart.items) >= MAX_ITEMS:
        raise ValidationError(f"A cart holds at most {MAX_ITEMS} items; check out these first.")
    item = CartItem(secrets.token_hex(6), product, domain, cycle, dict(options), quantity)
    cart.items.append(item)
    save(request, cart)
    return item


def remove(request, cart, item_id):
    cart.items.remove(cart.find(item_id))
    save(request, cart)


def clear(request):
    request.session.pop(SESSION_KEY, None)
