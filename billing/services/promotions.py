"""Promotion codes: which items of an order a promotion discounts and by how much, whether a client may use it,
and counting a use exactly once per order even when checkouts race for the last one.

Rules (docs/storefront.md explains them to resellers):
- active, and now within [starts_at, ends_at);
- products and cycles: blank means every one; the code must discount at least one item of the order;
- percent: that share of the price (the setup fee too if `applies_to_setup`); fixed: that amount off the price
  of each item, and off its setup fee if `applies_to_setup`, never below zero;
- first payment only, or recurring (the service's recurring amount is the discounted price);
- max_uses overall (orders), max_uses_per_client, new_clients_only (a client without any earlier service).
"""
from dataclasses import dataclass
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db.models import F, Q
from django.utils import timezone

from billing.models import Order, Promotion, Service
from portal.money import ZERO, quantize

HUNDRED = Decimal(100)


@dataclass(frozen=True)
class Discount:
    recurring: Decimal = ZERO  # off the first period (and off every renewal when the promotion is recurring)
    setup: Decimal = ZERO

    @property
    def total(self):
        return self.recurring + self.setup


def find_promotion(code):
    """The promotion of a code the client typed, or a ValidationError on the `promotion` field."""
    code = (code or "").strip()
    promotion = Promotion.objects.prefetch_related("products").filter(code__iexact=code).first() if code else None
    if promotion is None:
        raise ValidationError({"promotion": f"The code {code!r} is not a valid promotion code."})
    return promotion


def check_promotion(promotion, *, client=None, now=None):
    """Refuse (ValidationError on `promotion`) a code that is off, outside its dates, used up, or not for this
    client. `client` None (a visitor who has not signed up yet) skips the per-client rules, which apply again at
    checkout."""
    now = now or timezone.now()
    if not promotion.active:
        raise ValidationError({"promotion": f"The code {promotion.code} is no longer valid."})
    if promotion.starts_at and now < promotion.starts_at:
        raise ValidationError({"promotion": f"The code {promotion.code} is not valid yet."})
    if promotion.ends_at and now >= promotion.ends_at:
        raise ValidationError({"promotion": f"The code {promotion.code} has expired."})
    if promotion.max_uses is not None and promotion.uses >= promotion.max_uses:
        raise ValidationError({"promotion": f"The code {promotion.code} has been used up."})
    if client is None or client.pk is None:
        return
    if promotion.new_clients_only and Service.objects.filter(client=client).exists():
        raise ValidationError({"promotion": f"The code {promotion.code} is for new clients only."})
    if promotion.max_uses_per_client is not None:
        used = Order.objects.filter(client=client, promotion=promotion).count()
        if used >= promotion.max_uses_per_client:
            raise ValidationError({"promotion": f"You have already used the code {promotion.code} "
                                                f"{'once' if used == 1 else f'{used} times'}."})


def applies_to(promotion, product, cycle):
    products = {p.pk for p in promotion.products.all()}
    return (not products or product.pk in products) and (not promotion.cycles or cycle in promotion.cycles)


def discount_for(promotion, *, product, cycle, recurring, setup):
    """The discount of one item (its recurring price and setup fee, already quantized)."""
    if promotion is None or not applies_to(promotion, product, cycle):
        return Discount()
    if promotion.kind == Promotion.Kind.PERCENT:
        off = quantize(recurring * promotion.value / HUNDRED)
        off_setup = quantize(setup * promotion.value / HUNDRED) if promotion.applies_to_setup else ZERO
    else:
        off = min(promotion.value, recurring)
        off_setup = min(promotion.value, setup) if promotion.applies_to_setup else ZERO
    return Discount(off, off_setup)


def count_use(promotion):
    """Count one use for an order being placed (inside its transaction). One conditional UPDATE: of two checkouts
    racing for the last use, the database lets one through and the other changes no row and is refused."""
    under_limit = Q(max_uses__isnull=True) | Q(uses__lt=F("max_uses"))
    if not Promotion.objects.filter(under_limit, pk=promotion.pk, active=True).update(uses=F("uses") + 1):
        raise ValidationError({"promotion": f"The code {promotion.code} has just been used up."})
