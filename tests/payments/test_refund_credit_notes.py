"""A refund through the Stripe simulator (staff's *Refund through the gateway*) issues a credit note with the
invoice's tax breakdown in negative; cancelling a paid invoice issues one too."""
from decimal import Decimal

import pytest
from django.urls import reverse

from billing.models import CreditNote, Invoice, InvoiceItem, Payment, TaxRule
from billing.services.invoices import Line, invoice_cancel, invoice_create
from portal.activity import Actor
from tests.payments.conftest import return_to_portal, start_checkout

pytestmark = pytest.mark.django_db


def paid_taxed_invoice(signed_in, owner, sim):
    TaxRule.objects.create(country=owner.country, name="Tax", rate=Decimal("13.000"))
    invoice = invoice_create(client=owner, actor=Actor.system("test"), apply_credit=False,
                             lines=[Line(InvoiceItem.Kind.ITEM, "Mail hosting", Decimal("20.00"))])
    assert (invoice.tax, invoice.total) == (Decimal("2.60"), Decimal("22.60"))
    return_to_portal(signed_in, sim.pay(start_checkout(signed_in, invoice))["redirect"])
    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.PAID
    return invoice, Payment.objects.get(invoice=invoice, amount__gt=0)


def test_stripe_refund_issues_a_credit_note(signed_in, owner, staff_user, stripe_enabled, stripe_sim):
    invoice, payment = paid_taxed_invoice(signed_in, owner, stripe_sim)
    signed_in.force_login(staff_user)
    answer = signed_in.post(reverse("admin:payments_gateway_refund", args=[payment.pk]), {"amount": "11.30"})
    assert answer.status_code == 302
    refund = Payment.objects.get(amount_out=Decimal("11.30"))
    note = CreditNote.objects.get()
    assert (note.payment, note.invoice, note.kind) == (refund, invoice, CreditNote.Kind.REFUND)
    assert (note.subtotal, note.tax, note.total) == (Decimal("-10.00"), Decimal("-1.30"), Decimal("-11.30"))
    assert [(t.rate, t.base, t.tax) for t in note.tax_lines.all()] == [(Decimal("13.000"), Decimal("-10.00"), Decimal("-1.30"))]
    assert signed_in.post(reverse("admin:payments_gateway_refund", args=[payment.pk]), {"amount": "11.30"}).status_code == 302
    notes = CreditNote.objects.order_by("pk")
    assert sum(n.total for n in notes) == -invoice.total and sum(n.tax for n in notes) == -invoice.tax
    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.REFUNDED and invoice.total == Decimal("22.60")


def test_cancelled_paid_invoice_issues_a_credit_note(signed_in, owner, stripe_enabled, stripe_sim):
    invoice, _ = paid_taxed_invoice(signed_in, owner, stripe_sim)
    invoice_cancel(invoice=invoice, actor=Actor.system("test"), reason="duplicate order")
    note = CreditNote.objects.get()
    assert (note.kind, note.total, note.tax) == (CreditNote.Kind.CANCELLATION, Decimal("-22.60"), Decimal("-2.60"))
    owner.refresh_from_db()
    assert owner.credit_balance == Decimal("22.60")
