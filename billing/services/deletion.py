"""Deleting a client (WHMCS's DeleteClient): only a client the accounts do not need.

WHMCS deletes a client with everything it has. The portal keeps what its books must keep: a numbered invoice
(invoice numbers have no gaps), a payment or refund, a credit ledger entry and an order (which points at its
invoice) are never deleted, so a client with any of them is refused and closed instead (billing.services.closing,
WHMCS's CloseClient). A client without them — made by mistake, a test sign-up, an import to redo — is deleted
with its contacts, logins, services that never went live (Cancelled ones only: a live service is on a server)
and uninvoiced billable items. The audit log keeps the deletion (the client's entries stay, unlinked).
"""
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction

from billing.models import BillableItem, CreditLedgerEntry, Invoice, Order, Payment, Service
from billing.services.ledger import lock_client
from portal.activity import log_activity

KEPT_RECORDS = (  # what the books keep, by the words of the refusal
    (Invoice, "invoices"), (Payment, "transactions"), (CreditLedgerEntry, "credit history"), (Order, "orders"),
)


def records_kept(client):
    """The names of the kept records the client has (empty: it may be deleted), one query per kind."""
    return [name for model, name in KEPT_RECORDS if model.objects.filter(client=client).exists()]


@transaction.atomic
def client_delete(*, client, actor, delete_users):
    """Delete `client` or raise ValidationError saying what keeps it. `delete_users`: also delete the Django
    users of its logins (a portal login belongs to one client); otherwise they stay, disabled, unlinked."""
    client = lock_client(client)
    kept = records_kept(client)
    if kept:
        raise ValidationError(
            f"Client ID {client.pk} has {', '.join(kept)}, which the accounts keep: it cannot be deleted. "
            "Close it instead (CloseClient): its services are cancelled and its unpaid invoices cancelled."
        )
    if Service.objects.filter(client=client).exclude(status=Service.Status.CANCELLED).exists():
        raise ValidationError(f"Client ID {client.pk} has services that are not cancelled: cancel them first.")
    user_ids = list(client.users.values_list("user_id", flat=True))
    summary = f"Client {client.pk} ({client.full_name}, {client.email}) deleted"
    log_activity(actor=actor, action="client.delete", target=client, client=client,
                 message=summary + ("" if delete_users else "; its logins were kept, disabled"),
                 data={"client": client.pk, "email": client.email, "users": user_ids, "users_deleted": delete_users})
    users = get_user_model().objects.filter(pk__in=user_ids)
    if delete_users:
        users.delete()
    else:
        users.update(is_active=False)
    BillableItem.objects.filter(client=client).delete()
    Service.objects.filter(client=client).delete()
    client_id = client.pk
    client.delete()
    return client_id
