"""Writes of products (billing.models.Product) from outside the staff page: the WHMCS API's AddProduct comes here.

The Product model is billing's, but a product names a provisioning module whose options only provisioning can
check, so the service lives on this floor and validates exactly as the staff page does (provisioning.forms.ProductForm:
the module's option schema and the disk-tranche rule)."""
from django.core.exceptions import ValidationError
from django.db import transaction
from django.forms import modelform_factory

from billing.models import Product, ProductPrice
from portal.activity import log_activity
from provisioning.forms import ProductForm


@transaction.atomic
def product_create(*, actor, prices=None, **fields):
    """A product from its fields (model values: group, name, type, module, module_options as a dict, …) and its
    prices ({(currency, cycle): (price, setup fee)}), validated like the staff form. Raises ValidationError: the
    form's errors by field, or `pricing[<currency>][<cycle>]` for a price that does not validate (nothing is saved).
    Audited as product.create."""
    prices = prices or {}
    form = modelform_factory(Product, form=ProductForm, fields=list(fields))(data=fields)
    if not form.is_valid():
        raise ValidationError({field: list(errors) for field, errors in form.errors.items()})
    product = form.save()
    rows = [ProductPrice(product=product, currency=currency, cycle=cycle, price=price, setup_fee=setup)
            for (currency, cycle), (price, setup) in sorted(prices.items())]
    for row in rows:
        try:
            row.full_clean()
        except ValidationError as exc:
            raise ValidationError({f"pricing[{row.currency}][{row.cycle}]": exc.messages}) from None
    ProductPrice.objects.bulk_create(rows)
    log_activity(actor=actor, action="product.create", target=product,
                 message=f"Product {product.name} created in {product.group}",
                 data={"module": product.module, "module_options": product.module_options,
                       "prices": {f"{c} {cy}": [str(p), str(s)] for (c, cy), (p, s) in sorted(prices.items())}})
    return product
