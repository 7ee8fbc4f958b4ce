"""Invoice and credit-note numbers from locked sequences: no gaps, no duplicates, even with several processes issuing
at once (a MAX()+1 scheme races; a row lock does not)."""
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from billing.models import NumberSequence

INVOICE_SEQUENCE = "invoice"  # its row is created by migration billing.0003, so first use never races


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
    on_date = on_date or timezone.localdate()
    first = next_in_sequence(INVOICE_SEQUENCE, count) if count else 0
    return [
        settings.INVOICE_NUMBER_FORMAT.format(seq=seq, year=on_date.year, month=on_date.month)
        for seq in range(first, first + count)
    ]


CREDIT_NOTE_SEQUENCE = "credit_note"  # its own gap-free series; the row is created by migration billing.0012


def allocate_credit_note_number(*, on_date=None):
    """The next credit-note number, formatted by settings.CREDIT_NOTE_NUMBER_FORMAT ({seq}, {year}, {month})."""
    on_date = on_date or timezone.localdate()
    seq = next_in_sequence(CREDIT_NOTE_SEQUENCE)
    return settings.CREDIT_NOTE_NUMBER_FORMAT.format(seq=seq, year=on_date.year, month=on_date.month)
