"""Writes for clients and their users. Each function is atomic and audits with the acting user."""
from datetime import datetime

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from portal.activity import Actor, log_activity
from portal.models import Client, ClientUser
from portal.network import client_ip
from portal.updates import model_update
from portal.vat import vat_number_check, vat_number_clean

User = get_user_model()

EMAIL_TAKEN = "A user already exists with that email address"

PROFILE_FIELDS = (
    "company_name", "first_name", "last_name", "email", "phone",
    "address1", "address2", "city", "state", "postcode", "country", "time_zone", "vat_number",
)
# Also changeable through client_update_profile, though not on the profile forms: the language WHMCS kept (api.php).
UPDATABLE_FIELDS = (*PROFILE_FIELDS, "language")


class EmailTaken(ValidationError):
    """The address is already a login's username or e-mail, or another client's e-mail."""


def users_with_email(email):
    return User.objects.filter(Q(username__iexact=email) | Q(email__iexact=email))


def email_taken(email, *, exclude_pk=None):
    """Whether a login (client or staff) other than `exclude_pk` uses the address as username or e-mail."""
    taken = users_with_email(email)
    if exclude_pk is not None:
        taken = taken.exclude(pk=exclude_pk)
    return taken.exists()


def vat_number_changes(client, number, country):
    """The VAT fields to store for a VAT number entered for `client` (None: a new client): the number cleaned, and
    how it was checked (portal.vat.vat_number_check: refused with the reason for a bad format or check digit, or
    VIES "not valid"). A number already confirmed is not asked again; an unconfirmed one is, at every save."""
    number = (number or "").strip()
    if not number:
        return {"vat_number": "", "vat_check": "", "vat_checked_at": None}
    cleaned = vat_number_clean(number, country, field="vat_number")
    if client is not None and cleaned == client.vat_number and client.vat_check == Client.vat_check_wanted():
        return {"vat_number": cleaned}
    result = vat_number_check(cleaned, country)
    return {"vat_number": result.number, "vat_check": result.check, "vat_checked_at": result.checked_at}


@transaction.atomic
def client_create(*, actor, password=None, **fields):
    """A client and its owner login (username = e-mail). Without a password the owner sets one by reset.
    Refused (EmailTaken) when a login or another client already has the e-mail address. A VAT number is checked
    (vat_number_changes) before anything is written."""
    if fields.get("vat_number"):
        fields.update(vat_number_changes(None, fields["vat_number"], fields.get("country", "")))
    client = Client(**fields)
    client.full_clean()
    if email_taken(client.email) or Client.objects.filter(email__iexact=client.email).exists():
        raise EmailTaken({"email": EMAIL_TAKEN})
    client.save()
    user = User(username=client.email.lower(), email=client.email, first_name=client.first_name, last_name=client.last_name)
    if password:
        user.set_password(password)
    else:
        user.set_unusable_password()
    user.save()
    ClientUser.objects.create(user=user, client=client, is_owner=True)
    log_activity(actor=actor, action="client.create", target=client, message=f"Client {client} created")
    return client


@transaction.atomic
def client_update_profile(*, client, actor, changes):
    """Apply profile changes and log which fields changed (old and new values)."""
    for name in changes:
        if name not in UPDATABLE_FIELDS:
            raise ValueError(f"{name} is not a profile field")
    if "vat_number" in changes:
        changes = {**changes, **vat_number_changes(client, changes["vat_number"], changes.get("country", client.country))}
    return model_update(instance=client, changes=changes, actor=actor, action="client.profile_update",
                        clean=Client.full_clean, message="Profile updated: {fields}", show=_shown)


def _shown(value):
    """A value as the audit log's JSON keeps it (the time of a VAT check as ISO text)."""
    return value.isoformat() if isinstance(value, datetime) else value


@transaction.atomic
def client_set_status(*, client, actor, status):
    """Active ⇄ Inactive, or reopen a Closed client as Active or Inactive. Closing is billing's client_close
    (it also cancels services and invoices), so Closed is refused here."""
    if status not in (Client.Status.ACTIVE, Client.Status.INACTIVE):
        raise ValueError("A client is closed with client_close, which also cancels its services and invoices")
    client = Client.objects.select_for_update().get(pk=client.pk)
    if client.status == status:
        return client
    before, client.status = client.status, status
    client.save(update_fields=["status", "updated_at"])
    log_activity(actor=actor, action="client.status", target=client, client=client,
                 message=f"Client status {before} → {status}", data={"from": before, "to": status})
    return client


def record_client_login(*, user, request):
    """Remember the client's last login (seed 004's '3 months' rule) and audit it. Staff logins are not clients."""
    membership = ClientUser.objects.filter(user=user).select_related("client").first()
    if membership is None:
        return
    now = timezone.now()
    Client.objects.filter(pk=membership.client_id).update(last_login_at=now)
    log_activity(
        actor=Actor.client(user, impersonated_by=getattr(request, "impersonator", None), ip_address=client_ip(request)),
        action="client.login",
        target=membership.client,
        message=f"{user.get_username()} logged in to the client area",
    )


def client_password_changed(*, client, user, actor):
    """Audit a client user's password change (Django's PasswordChangeView has set it)."""
    log_activity(actor=actor, action="client.password_change", target=client,
                 message=f"{user.get_username()} changed their password")


def activity_note(*, actor, message, client=None):
    """An entry written on request (the WHMCS API's LogActivity), about a client or about nothing in particular."""
    return log_activity(actor=actor, action="api.log", message=message, client=client, target=client)
