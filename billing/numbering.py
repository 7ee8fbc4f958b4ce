"""Invoice and credit-note numbers from locked sequences: no gaps, no duplicates, even with several processes issuing
at once (a MAX()+1 scheme races; a row lock does not).

Two invoice modes (settings.INVOICE_NUMBERING; docs/billing.md, "Invoice numbers"):
- "sequential": an invoice takes its legal number when it is issued;
- "proforma": an unpaid invoice carries a proforma number (its own sequence, PROFORMA_NUMBER_FORMAT) and takes the
  legal number when it is paid (WHMCS's "sequential paid invoice numbering"), so cancelled proformas leave no gap
  in the legal numbers. `billing.services.payments.settle_invoices`, the one place an invoice becomes paid, gives
  it; an invoice paid without a legal number gets one in either mode.
Credit notes have their own series (CREDIT_NOTE_NUMBER_FORMAT) in both modes."""
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from billing.models import NumberSequence

INVOICE_SEQUENCE = "invoice"  # its row is created by migration billing.0003, so first use never races
PROFORMA_SEQUENCE = "proforma"  # its row is created by migration billing.0013
SEQUENTIAL, PROFORMA = "sequential", "proforma"


def next_in_sequence(name, count=1):
    """Take the next value of a sequence (the first of `count` consecutive ones); the row stays locked until the
    caller's transaction ends, so a rolled-back caller leaves no gap.

    The row should exist beforehand (a migration creates it): concurrent first inserts of the same row make
    InnoDB deadlock when each then upgrades its lock. A missing row is still created, for a single caller."""
    with transaction.atomic():
        sequence = NumberSequence.objects.select_for_update().filter(name=name).first()
        if sequence is None:
            NumberSequence.objects.get_or_create(name=name)
            sequence = NumberSequence.objects.select_for_update().get(name=name)
        value = sequence.next_value
        sequence.next_value = value + count
        sequence.save(update_fields=["next_value"])
    return value


def allocate_invoice_number(*, on_date=None):
    """The next invoice number, formatted by settings.INVOICE_NUMBER_FORMAT ({seq}, {year}, {month})."""
    return allocate_invoice_numbers(1, on_date=on_date)[0]


def allocate_invoice_numbers(count, *, on_date=None):
    """`count` consecutive invoice numbers with one locked update: a batch of invoices takes a block."""
    return _allocate(INVOICE_SEQUENCE, settings.INVOICE_NUMBER_FORMAT, count, on_date)


def allocate_proforma_numbers(count, *, on_date=None):
    """`count` consecutive proforma numbers (PROFORMA_NUMBER_FORMAT), from their own locked sequence."""
    return _allocate(PROFORMA_SEQUENCE, settings.PROFORMA_NUMBER_FORMAT, count, on_date)


def _allocate(sequence, pattern, count, on_date):
    on_date = on_date or timezone.localdate()
    first = next_in_sequence(sequence, count) if count else 0
    return [pattern.format(seq=seq, year=on_date.year, month=on_date.month) for seq in range(first, first + count)]


def proforma_numbering():
    return settings.INVOICE_NUMBERING == PROFORMA


def issue_numbers(count, *, on_date):
    """The (legal number, proforma number) pairs of `count` invoices being issued: one of the two is None."""
    if proforma_numbering():
        return [(None, number) for number in allocate_proforma_numbers(count, on_date=on_date)]
    return [(number, None) for number in allocate_invoice_numbers(count, on_date=on_date)]


CREDIT_NOTE_SEQUENCE = "credit_note"  # its own gap-free series; the row is created by migration billing.0015


def allocate_credit_note_number(*, on_date=None):
    """The next credit-note number, formatted by settings.CREDIT_NOTE_NUMBER_FORMAT ({seq}, {year}, {month})."""
    return _allocate(CREDIT_NOTE_SEQUENCE, settings.CREDIT_NOTE_NUMBER_FORMAT, 1, on_date)[0]
