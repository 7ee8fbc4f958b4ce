"""The credit ledger: signed entries whose sum is the client's balance. Client.credit_balance caches the sum
and is changed in the same transaction as each entry, with the client row locked."""
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F

from billing.models import CreditLedgerEntry
from portal.activity import log_activity
from portal.models import Client
from portal.money import format_money, quantize


def lock_client(client):
    """The client row, locked until the transaction ends: every billing write for a client starts here."""
    return Client.objects.select_for_update().get(pk=client.pk if isinstance(client, Client) else client)


def lock_clients(client_ids):
    """Many clients' rows, locked in one statement until the transaction ends, in id order (two callers locking
    overlapping sets take them in the same order, so neither waits for the other in a cycle)."""
    return list(Client.objects.select_for_update().filter(pk__in=sorted(set(client_ids))).order_by("pk")
                .values_list("pk", flat=True))


@transaction.atomic
def ledger_post(*, client, kind, amount, description, actor=None, invoice=None, payment=None, service=None,
                idempotency_key=None):
    """Add one entry and move the cached balance. With an idempotency key, a repeat of the same event adds
    nothing and returns the first entry: (entry, created)."""
    if idempotency_key:
        existing = CreditLedgerEntry.objects.filter(idempotency_key=idempotency_key).first()
        if existing is not None:
            return existing, False
    entry = CreditLedgerEntry(
        client_id=client.pk, kind=kind, amount=Decimal(amount), description=description[:255], invoice=invoice,
        payment=payment, service=service, idempotency_key=idempotency_key or None,
        created_by=getattr(actor, "user", None),
    )
    try:
        with transaction.atomic():
            entry.save(force_insert=True)
    except IntegrityError:
        if not idempotency_key:
            raise
        return CreditLedgerEntry.objects.get(idempotency_key=idempotency_key), False
    Client.objects.filter(pk=client.pk).update(credit_balance=F("credit_balance") + entry.amount)
    client.credit_balance = Client.objects.values_list("credit_balance", flat=True).get(pk=client.pk)
    return entry, True


@transaction.atomic
def credit_adjust(*, client, amount, reason, actor):
    """A staff adjustment of a client's credit: needs a reason, is logged, and cannot take the balance below 0."""
    errors = {}
    try:
        amount = quantize(Decimal(str(amount)))
    except Exception:
        errors["amount"] = "Enter an amount such as 10.00 or -5.00."
    else:
        if amount == 0:
            errors["amount"] = "The amount cannot be zero."
    if not (reason or "").strip():
        errors["reason"] = "Give a reason: it is kept in the ledger and the activity log."
    if errors:
        raise ValidationError(errors)
    client = lock_client(client)
    if client.credit_balance + amount < 0:
        raise ValidationError(
            # The exact figure: the rule is checked against it, and a rounded one could look like room to spare.
            {"amount": "That would take the balance below zero (it is exactly "
                       f"{format_money(client.credit_balance, client.currency, exact=True)} {client.currency})."}
        )
    entry, _ = ledger_post(
        client=client, kind=CreditLedgerEntry.Kind.ADJUSTMENT, amount=amount, description=reason.strip(), actor=actor
    )
    log_activity(
        actor=actor, action="credit.adjust", target=client,
        message=f"Credit adjusted by {amount:+} {client.currency}: {reason.strip()}",
        data={"amount": str(amount), "balance": str(client.credit_balance), "entry": entry.pk},
    )
    return entry


@transaction.atomic
def client_set_credit_preference(*, client, apply_credit, actor):
    """Whether new invoices are paid from the client's credit automatically (the client's opt-in)."""
    client = lock_client(client)
    if client.apply_credit_to_invoices == apply_credit:
        return client
    client.apply_credit_to_invoices = apply_credit
    client.save(update_fields=["apply_credit_to_invoices", "updated_at"])
    log_activity(
        actor=actor, action="credit.preference", target=client,
        message="Credit will be applied to new invoices" if apply_credit else "Credit is no longer applied to new invoices automatically",
        data={"apply_credit_to_invoices": apply_credit},
    )
    return client
