"""Property-based: whatever the lines and the tax rate, an invoice's total is the sum of its lines plus the tax
on the taxable ones, quantized once; and credit never pays more than the invoice or the balance."""
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from billing.models import Invoice, InvoiceItem, TaxRule
from billing.services.invoices import Line, invoice_create
from billing.tax.compute import Level, compute
from portal.activity import Actor
from portal.models import Client
from portal.money import quantize
from tests.factories import ClientFactory

amounts = st.decimals(min_value=Decimal("-500"), max_value=Decimal("5000"), places=2, allow_nan=False, allow_infinity=False)
lines = st.lists(st.tuples(amounts, st.booleans()), min_size=1, max_size=12)
rates = st.decimals(min_value=Decimal("0"), max_value=Decimal("30"), places=3)


@given(lines, rates)
def test_total_is_the_sum_of_the_lines_plus_tax(pairs, rate):
    result = compute(pairs, [Level(1, "Tax", rate)])
    subtotal, tax, total = result.net, result.tax, result.gross
    assert subtotal == sum(a for a, _ in pairs)
    taxable = sum((a for a, t in pairs if t), Decimal(0))
    assert tax == (quantize(taxable * rate / 100) if taxable > 0 else 0)
    assert total == subtotal + tax
    assert total.as_tuple().exponent >= -2


@pytest.mark.django_db
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.lists(st.decimals(min_value=Decimal("0"), max_value=Decimal("999"), places=2), min_size=1, max_size=8),
    st.sampled_from([None, Decimal("13.000"), Decimal("7.500")]),
    st.decimals(min_value=Decimal("0"), max_value=Decimal("2000"), places=4),
)
def test_a_saved_invoice_totals_its_items(item_amounts, rate, credit):
    client = ClientFactory(country="CA")
    Client.objects.filter(pk=client.pk).update(credit_balance=credit)
    TaxRule.objects.filter(country="CA").delete()
    if rate is not None:
        TaxRule.objects.create(country="CA", name="Tax", rate=rate)
    invoice = invoice_create(
        client=client, actor=Actor.system("property"),
        lines=[Line(InvoiceItem.Kind.ITEM, f"Line {n}", amount) for n, amount in enumerate(item_amounts)],
    )
    invoice = Invoice.objects.get(pk=invoice.pk)
    items_sum = sum(item.amount for item in invoice.items.all())
    assert invoice.subtotal == items_sum
    assert invoice.total == items_sum + invoice.tax
    assert invoice.tax == (quantize(items_sum * rate / 100) if rate and items_sum > 0 else 0)
    assert 0 <= invoice.credit_applied <= min(invoice.total, credit)
    assert invoice.balance >= 0
    assert (invoice.status == "paid") == (invoice.balance == 0)
    client.refresh_from_db()
    assert client.credit_balance == credit - invoice.credit_applied
