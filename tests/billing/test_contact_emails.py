"""E-mails to a client's contacts: each client e-mail is queued once more, as its own row, for every contact who
opted in to its kind (invoice, product, general), in a fixed number of queries; the copy goes to the contact's
address, and a copy whose contact was deleted before sending is skipped."""
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from billing import emails
from billing.models import EmailLog
from portal.models import Contact
from tests.factories import ClientFactory, InvoiceFactory, ServiceFactory

pytestmark = pytest.mark.django_db


def contact(client, email, **flags):
    return Contact.objects.create(client=client, first_name="C", email=email, **flags)


def test_copies_follow_each_contacts_preferences(owner, other_client):
    accounts = contact(owner, "accounts@example.com", invoice_emails=True)
    tech = contact(owner, "tech@example.com", product_emails=True)
    boss = contact(owner, "boss@example.com", general_emails=True, invoice_emails=True)
    contact(owner, "quiet@example.com", domain_emails=True, support_emails=True)
    contact(other_client, "elsewhere@example.com", invoice_emails=True, product_emails=True, general_emails=True)
    invoice, service = InvoiceFactory(client=owner), ServiceFactory(client=owner)
    emails.queue_emails([
        emails.EmailRequest(emails.INVOICE_CREATED, owner.pk, "invoice.created:1", invoice_id=invoice.pk),
        emails.EmailRequest(emails.SERVICE_SUSPENDED, owner.pk, "service.suspended:1", service_id=service.pk),
        emails.EmailRequest(emails.LOW_BALANCE, owner.pk, "low-balance:1"),
    ])
    rows = set(EmailLog.objects.values_list("event_key", "contact_id", "invoice_id", "service_id"))
    assert rows == {
        ("invoice.created:1", None, invoice.pk, None),
        (f"invoice.created:1:contact:{accounts.pk}", accounts.pk, invoice.pk, None),
        (f"invoice.created:1:contact:{boss.pk}", boss.pk, invoice.pk, None),
        ("service.suspended:1", None, None, service.pk),
        (f"service.suspended:1:contact:{tech.pk}", tech.pk, None, service.pk),
        ("low-balance:1", None, None, None),
        (f"low-balance:1:contact:{boss.pk}", boss.pk, None, None),
    }
    # Queuing the same events again adds nothing, copies included.
    emails.queue_emails([emails.EmailRequest(emails.INVOICE_CREATED, owner.pk, "invoice.created:1", invoice_id=invoice.pk)])
    assert EmailLog.objects.count() == 7


def test_the_copy_is_sent_to_the_contact_and_skipped_once_the_contact_is_gone(owner, mailoutbox):
    kept = contact(owner, "kept@example.com", invoice_emails=True)
    gone = contact(owner, "gone@example.com", invoice_emails=True)
    invoice = InvoiceFactory(client=owner)
    ids = emails.queue_emails([emails.EmailRequest(emails.INVOICE_CREATED, owner.pk, "invoice.created:9", invoice_id=invoice.pk)])
    gone_pk = gone.pk
    gone.delete()
    assert emails.deliver(log_ids=ids) == (2, [])
    assert sorted(m.to[0] for m in mailoutbox) == sorted([owner.email, "kept@example.com"])
    assert {m.subject for m in mailoutbox} == {EmailLog.objects.get(event_key="invoice.created:9").subject}
    skipped = EmailLog.objects.get(event_key=f"invoice.created:9:contact:{gone_pk}")
    assert (skipped.status, skipped.error) == ("skipped", "The contact this copy was for has been deleted.")
    assert EmailLog.objects.get(contact=kept).to == "kept@example.com"


def test_queuing_for_many_clients_takes_a_fixed_number_of_queries():
    def run(count, tag):
        requests = []
        for n in range(count):
            client = ClientFactory()
            contact(client, f"{tag}{n}@example.com", invoice_emails=True)
            requests.append(emails.EmailRequest(emails.INVOICE_CREATED, client.pk, f"{tag}:{n}"))
        with CaptureQueriesContext(connection) as ctx:
            emails.queue_emails(requests)
        assert EmailLog.objects.filter(event_key__startswith=f"{tag}:", contact__isnull=False).count() == count
        return len(ctx.captured_queries)

    assert run(2, "few") == run(20, "many")
