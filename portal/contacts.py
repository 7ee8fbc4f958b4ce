"""Writes for a client's contacts (portal.models.Contact): the client area, the staff area and the API all come
here. Each is atomic and audited; a contact's e-mail must not repeat within its client."""
from django.core.exceptions import ValidationError
from django.db import transaction

from portal.activity import log_activity
from portal.models import Contact
from portal.updates import model_update

CONTACT_FIELDS = (
    "first_name", "last_name", "company_name", "email", "phone", "address1", "address2", "city", "state",
    "postcode", "country", "general_emails", "invoice_emails", "product_emails", "domain_emails", "support_emails",
)


EMAIL_IN_USE = "This client already has a contact with that e-mail address."


def email_in_use(contact, email):
    """Whether another contact of `contact`'s client has the address (in any case)."""
    same = Contact.objects.filter(client_id=contact.client_id, email__iexact=email).exclude(pk=contact.pk)
    return same.exists()


def _check(contact):
    if contact.country:
        contact.country = contact.country.upper()
    contact.full_clean()
    if email_in_use(contact, contact.email):
        raise ValidationError({"email": EMAIL_IN_USE})


def _unknown(fields):
    unknown = sorted(set(fields) - set(CONTACT_FIELDS))
    if unknown:
        raise ValueError(f"Not contact fields: {', '.join(unknown)}")


@transaction.atomic
def contact_create(*, client, actor, **fields):
    _unknown(fields)
    contact = Contact(client=client, **fields)
    _check(contact)
    contact.save()
    log_activity(actor=actor, action="contact.create", target=contact, client=client,
                 message=f"Contact {contact} added", data={"email": contact.email})
    return contact


@transaction.atomic
def contact_update(*, contact, actor, changes):
    _unknown(changes)
    contact = Contact.objects.select_for_update().get(pk=contact.pk)
    return model_update(instance=contact, changes=changes, actor=actor, action="contact.update", client=contact.client,
                        clean=_check, message=lambda contact, names: f"Contact {contact} updated: {', '.join(names)}")


@transaction.atomic
def contact_delete(*, contact, actor):
    client, text, pk = contact.client, str(contact), contact.pk
    contact.delete()
    log_activity(actor=actor, action="contact.delete", client=client, message=f"Contact {text} deleted",
                 data={"contact": pk})
