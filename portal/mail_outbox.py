"""The outbox mail backend: every e-mail is kept as a SentEmail row, read in the staff area (Sent e-mails),
and none is delivered. The demo's backend (run.py sets EMAIL_URL=outbox://), so its e-mails are where the
reseller can read them, not printed over the console. Refused in production (portal/settings.py): the portal
must deliver there, and the outbox keeps what should never be stored, such as password reset links."""
from django.core.mail.backends.base import BaseEmailBackend
from django.utils import timezone

from portal.models import SentEmail

SCHEME = "outbox"
BACKEND = "portal.mail_outbox.OutboxEmailBackend"


def _addresses(values):
    return ", ".join(str(value) for value in values)


def _text(part):
    return part.get_content() if part is not None else ""


def _attachment(part):
    payload = part.get_payload(decode=True)
    size = len(payload) if isinstance(payload, bytes) else len(part.as_bytes())
    return {"name": part.get_filename() or "", "content_type": part.get_content_type(), "size": size}


def sent_email(message, *, sent_at=None):
    """The SentEmail row for one django.core.mail.EmailMessage (not saved). The MIME message is built as the
    SMTP backend would build it, so a header that SMTP would refuse is refused here too, the Message-ID is the
    one it would carry, and the text, HTML and attachments are read the same way whatever kind of EmailMessage
    (alternatives, an HTML body, attached files or MIME parts) made them."""
    mime = message.message()
    return SentEmail(
        sent_at=sent_at or timezone.now(),
        message_id=str(mime["Message-ID"] or "")[:255],
        from_email=str(mime["From"] or "")[:320],
        to=_addresses(message.to),
        cc=_addresses(message.cc),
        bcc=_addresses(message.bcc),
        reply_to=_addresses(message.reply_to),
        subject=str(mime["Subject"] or "")[:998],
        body=_text(mime.get_body(preferencelist=("plain",))),
        html_body=_text(mime.get_body(preferencelist=("html",))),
        attachments=[_attachment(part) for part in mime.iter_attachments()],
    )


class OutboxEmailBackend(BaseEmailBackend):
    """Keeps each message in SentEmail (one INSERT per batch) and delivers none. Messages without a recipient
    are dropped, as the SMTP backend drops them."""

    def send_messages(self, email_messages):
        now = timezone.now()
        rows = [sent_email(message, sent_at=now) for message in email_messages if message.recipients()]
        SentEmail.objects.bulk_create(rows)
        return len(rows)
