"""The password-reset e-mails of logins imported from WHMCS whose password could not be kept (docs/whmcs-migration.md).
Sent only on staff's explicit request (`manage.py send_whmcs_password_resets`), never by the import itself."""
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth.forms import PasswordResetForm
from django.contrib.auth.tokens import default_token_generator
from django.db import transaction
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from portal.activity import Actor, log_activity
from whmcs_import.models import PendingPasswordReset

SUBJECT = "whmcs_import/emails/password_reset_subject.txt"
BODY = "whmcs_import/emails/password_reset.txt"


def pending_resets():
    """Resets not yet sent, for logins that still have no usable password."""
    return (PendingPasswordReset.objects.filter(sent_at__isnull=True, user__is_active=True)
            .exclude(user__email="").select_related("user"))


def send_resets(*, limit=None):
    """Send the waiting reset e-mails (at most `limit`); each is marked sent, so a second call sends none again.
    Returns the number sent."""
    base = urlsplit(settings.PORTAL_BASE_URL)
    form = PasswordResetForm()
    sent = 0
    for pending in pending_resets()[:limit] if limit else pending_resets():
        user = pending.user
        if user.has_usable_password():  # chose a password meanwhile (staff set one): nothing to ask
            pending.sent_at = timezone.now()
            pending.save(update_fields=["sent_at"])
            continue
        context = {"email": user.email, "domain": base.netloc, "site_name": base.netloc, "user": user,
                   "uid": urlsafe_base64_encode(force_bytes(user.pk)), "token": default_token_generator.make_token(user),
                   "protocol": base.scheme or "https"}
        with transaction.atomic():
            pending.sent_at = timezone.now()
            pending.save(update_fields=["sent_at"])
            form.send_mail(SUBJECT, BODY, context, None, user.email)
        sent += 1
    if sent:
        log_activity(actor=Actor.system("send_whmcs_password_resets"), action="whmcs.password_resets_sent",
                     message=f"Sent {sent} password reset e-mail(s) to logins imported from WHMCS", data={"sent": sent})
    return sent
