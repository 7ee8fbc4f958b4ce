"""E-mails sent on request (the WHMCS API's SendEmail): queued through billing.emails and audited as email.send."""
from django.db import transaction

from billing import emails
from portal.activity import log_activity


@transaction.atomic
def email_send(*, actor, template, client, event_key, invoice=None, service=None, extra=None):
    """Queue one e-mail of a stored template for the client (and its invoice or service)."""
    extra = extra or {}
    emails.queue_email(template_name=template.name, client=client, invoice=invoice, service=service, extra=extra,
                       event_key=event_key)
    log_activity(actor=actor, action="email.send", target=client, message=f"E-mail '{template.name}' queued for {client}",
                 data={"template": template.name, "customvars": sorted(extra)})


@transaction.atomic
def custom_email_send(*, actor, client, subject, message, name, custom_type, event_key, invoice=None, service=None,
                      extra=None):
    """Queue a one-off message (subject and text already checked as template syntax)."""
    extra = extra or {}
    emails.queue_custom_email(client=client, invoice=invoice, service=service, subject=subject, message=message,
                              name=name, extra=extra, event_key=event_key)
    log_activity(actor=actor, action="email.send", target=client, message=f"Custom e-mail '{subject}' queued for {client}",
                 data={"custom": True, "type": custom_type, "subject": subject, "customvars": sorted(extra)})
