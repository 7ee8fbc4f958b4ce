"""Writes for a client's logins (portal.models.ClientUser and its Django user): add, update, invite, send a
password reset, remove. A login belongs to one client; its username is its e-mail address in lower case (as
portal.services.client_create makes it). Invitations and password resets use Django's password reset tokens
and the client area's "set a new password" page, so no token is ever stored. Each write is atomic and
audited; a refused one raises ValidationError and changes nothing."""
from django.conf import settings
from django.contrib.auth import get_user_model, password_validation
from django.contrib.auth.forms import PasswordResetForm
from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage
from django.db import transaction
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from portal.activity import log_activity
from portal.mail_text import render_text
from portal.models import ClientUser
from portal.services import EMAIL_TAKEN, email_taken, users_with_email

User = get_user_model()

INVITE_SUBJECT = "You are invited to {{ company_name }}"
INVITE_BODY = """Hello,

You have been given a login to the {{ company_name }} client area for {{ client_name }}.
Choose your password here:

{{ link }}

The link works once and expires after {{ days }} days. Sign in afterwards with this e-mail address.
"""


class PasswordRefused(ValidationError):
    """The password rules (AUTH_PASSWORD_VALIDATORS) refused the new login's password."""


def default_login(client):
    """The login that stands for the client when none is named (staff "log in as client", the API's client
    login link): its owner, else its first login; None when it has none."""
    return ClientUser.objects.filter(client=client).select_related("user").order_by("-is_owner", "id").first()


def set_password_link(user):
    """The client area's set-password page with a Django password reset token (valid PASSWORD_RESET_TIMEOUT,
    void once the password is set). Sent only, never stored."""
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    path = reverse("clientarea:password_reset_confirm", kwargs={"uidb64": uid, "token": default_token_generator.make_token(user)})
    return settings.PORTAL_BASE_URL.rstrip("/") + path


def send_invitation(user, client):
    context = {"company_name": settings.PORTAL_NAME, "client_name": client.display_name, "link": set_password_link(user),
               "days": max(settings.PASSWORD_RESET_TIMEOUT // 86400, 1)}
    subject = " ".join(render_text(INVITE_SUBJECT, context).split())
    message = EmailMessage(subject, render_text(INVITE_BODY, context), settings.DEFAULT_FROM_EMAIL, [user.email])
    transaction.on_commit(lambda: message.send())


def send_password_reset(user):
    """The client area's password reset e-mail (the same templates as its "Forgot your password?" page)."""
    scheme, _, host = settings.PORTAL_BASE_URL.rstrip("/").partition("://")
    context = {"email": user.email, "domain": host, "site_name": settings.PORTAL_NAME, "user": user,
               "uid": urlsafe_base64_encode(force_bytes(user.pk)), "token": default_token_generator.make_token(user),
               "protocol": scheme or "https", "PORTAL_NAME": settings.PORTAL_NAME}
    form = PasswordResetForm()
    transaction.on_commit(lambda: form.send_mail(
        "portal/emails/password_reset_subject.txt", "portal/emails/password_reset.txt", context,
        settings.DEFAULT_FROM_EMAIL, user.email))


def login_create(*, client, actor, email, first_name, last_name, password):
    """A login of the client (not its owner) with a password checked by the password rules (PasswordRefused)."""
    if email_taken(email):
        raise ValidationError(EMAIL_TAKEN)
    user = User(username=email.lower(), email=email, first_name=first_name, last_name=last_name)
    try:
        password_validation.validate_password(password, user)
    except ValidationError as exc:
        raise PasswordRefused(exc.messages) from None
    with transaction.atomic():
        user.set_password(password)
        user.full_clean(exclude=["password"])
        user.save()
        ClientUser.objects.create(user=user, client=client, is_owner=False)
        log_activity(actor=actor, action="client.user_create", target=client, client=client,
                     message=f"Login {user.email} added to {client}", data={"user_id": user.pk, "email": user.email})
    return user


def login_update(*, login, actor, changes):
    """changes: first_name, last_name and/or email (already differing from the login's); the username follows
    the e-mail."""
    user = login.user
    changes = dict(changes)
    if "email" in changes:
        if email_taken(changes["email"], exclude_pk=user.pk):
            raise ValidationError(EMAIL_TAKEN)
        changes["username"] = changes["email"].lower()
    if not changes:
        return user
    diff = {field: [getattr(user, field), value] for field, value in changes.items()}
    with transaction.atomic():
        for field, value in changes.items():
            setattr(user, field, value)
        user.save(update_fields=list(changes))
        log_activity(actor=actor, action="client.user_update", target=login.client, client=login.client,
                     message=f"Login {user.email} updated: {', '.join(sorted(changes))}",
                     data={"user_id": user.pk, "changes": diff})
    return user


def login_invite(*, client, actor, email):
    """E-mail a set-password link: a new address becomes a login of the client without a password until it is
    set; a login of the same client gets the link again; an address of another client or of staff is refused."""
    existing = users_with_email(email).select_related("client_user").first()
    membership = getattr(existing, "client_user", None) if existing else None
    if existing is not None and (membership is None or membership.client_id != client.pk):
        raise ValidationError("That email address already has a login for another account")
    with transaction.atomic():
        if existing is None:
            existing = User(username=email.lower(), email=email)
            existing.set_unusable_password()
            existing.save()
            ClientUser.objects.create(user=existing, client=client, is_owner=False)
        send_invitation(existing, client)
        log_activity(actor=actor, action="client.user_invite", target=client, client=client,
                     message=f"Invitation to set a password sent to {email}",
                     data={"user_id": existing.pk, "email": email, "new_login": membership is None})
    return existing


def login_send_password_reset(*, login, actor):
    if not login.user.is_active:
        raise ValidationError("The login is disabled")
    with transaction.atomic():
        send_password_reset(login.user)
        log_activity(actor=actor, action="client.password_reset_sent", target=login.client, client=login.client,
                     message=f"Password reset e-mail sent to {login.user.email}", data={"user_id": login.user.pk})


def login_remove(*, client, login, actor):
    """The login leaves the client and is disabled (kept, unusable, for the audit trail). Not the owner's."""
    if login.client_id != client.pk:
        raise ValidationError("User is not associated with client")
    if login.is_owner:
        raise ValidationError("The owner of a client cannot be removed from it")
    user = login.user
    with transaction.atomic():
        login.delete()
        user.is_active = False
        user.set_unusable_password()
        user.save(update_fields=["is_active", "password"])
        log_activity(actor=actor, action="client.user_remove", target=client, client=client,
                     message=f"Login {user.email} removed from {client} and disabled", data={"user_id": user.pk})

