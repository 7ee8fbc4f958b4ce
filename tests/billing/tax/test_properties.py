"""Properties: net + tax = gross on every invoice and credit note whatever the lines, rates, levels, mode and
rounding; the credit notes of an invoice never take back more than it; and a full refund's credit note brings the
tax report's totals of that invoice to zero."""
from decimal import Decimal as D

import pytest
from django.utils import timezone
from hypothesis import HealthCheck, given, settings as hsettings, strategies as st

from billing.models import CreditNote, InvoiceTaxLine, TaxRule
from billing.services.payments import payment_record
from billing.services.transactions import refund_record
from billing.tax.compute import Level, compute
from billing.tax.report import tax_report
from portal.activity import Actor
from tests.billing.tax.conftest import invoice_of
from tests.factories import ClientFactory

amounts = st.decimals(min_value=D("-50"), max_value=D("5000"), places=2, allow_nan=False, allow_infinity=False)
rates = st.decimals(min_value=D("0"), max_value=D("30"), places=3)


@given(st.lists(st.tuples(amounts, st.booleans()), min_size=1, max_size=10), rates, st.none() | rates,
       st.booleans(), st.booleans(), st.booleans())
def test_net_plus_tax_is_gross(lines, rate1, rate2, compound, inclusive, per_line):
    levels = [Level(1, "A", rate1)] + ([Level(2, "B", rate2, compound)] if rate2 is not None else [])
    result = compute(lines, levels, inclusive=inclusive, per_line=per_line)
    assert result.net + result.tax == result.gross
    assert result.tax == sum(line.tax for line in result.lines)
    if inclusive:
        assert result.gross == sum(amount for amount, _ in lines)
    else:
        assert result.net == sum(amount for amount, _ in lines)
    for figure in (result.net, result.tax, result.gross):
        assert figure.as_tuple().exponent >= -2


@pytest.mark.django_db
@hsettings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.decimals(min_value=D("0.01"), max_value=D("900"), places=2), min_size=1, max_size=5),
       st.sampled_from(["7.000", "19.000", "21.000"]), st.sampled_from([None, "9.975"]), st.booleans(), st.booleans(),
       st.lists(st.integers(min_value=1, max_value=99), max_size=3))
def test_credit_notes_add_up_and_a_full_refund_zeroes_the_report(settings, prices, rate1, rate2, inclusive, per_line,
                                                                  refund_percents):
    settings.TAX_PRICES_INCLUDE_TAX, settings.TAX_ROUNDING = inclusive, "line" if per_line else "invoice"
    TaxRule.objects.filter(country="CA").delete()
    TaxRule.objects.create(country="CA", name="GST", rate=D(rate1))
    if rate2:
        TaxRule.objects.create(country="CA", name="QST", level=2, rate=D(rate2), compound=True)
    invoice = invoice_of(ClientFactory(country="CA"), *prices)
    assert invoice.subtotal + invoice.tax == invoice.total
    actor = Actor.system("property")
    payment_record(invoice=invoice, amount=invoice.total, transaction_id=f"p{invoice.pk}", gateway="bank", actor=actor)
    left = invoice.total
    for n, percent in enumerate(refund_percents):
        amount = max(D("0.01"), (left * percent / 100).quantize(D("0.01")))
        if amount >= left:
            break
        refund_record(invoice=invoice, amount=amount, transaction_id=f"r{invoice.pk}-{n}", gateway="bank", actor=actor)
        left -= amount
    refund_record(invoice=invoice, amount=left, transaction_id=f"r{invoice.pk}-last", gateway="bank", actor=actor)
    notes = list(CreditNote.objects.filter(invoice=invoice).prefetch_related("items", "tax_lines"))
    for note in notes:
        assert note.subtotal + note.tax == note.total
        assert note.tax == sum(line.tax for line in note.tax_lines.all())
        assert sum(item.amount for item in note.items.all()) == (note.total if inclusive else note.subtotal)
    assert sum(n.total for n in notes) == -invoice.total and sum(n.tax for n in notes) == -invoice.tax
    assert InvoiceTaxLine.objects.filter(invoice=invoice).count() == (2 if rate2 else 1)
    today = timezone.localdate()
    for row in tax_report(start=today, end=today, invoice_ids=[invoice.pk]):
        assert (row.net, row.tax, row.gross) == (0, 0, 0)
