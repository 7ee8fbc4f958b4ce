"""The outbox mail backend (EMAIL_URL=outbox://, the demo's) keeps every e-mail as a SentEmail row instead of
delivering it, and superusers read them in the staff area: newest first, searchable, the HTML part in a
sandboxed frame, never in the page."""
import re

import pytest
from django.core import mail
from django.core.mail import EmailMessage, EmailMultiAlternatives
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from portal.models import SentEmail
from tests.factories import ClientFactory, StaffFactory

pytestmark = pytest.mark.django_db

OUTBOX = override_settings(MAILERS={"default": {"BACKEND": "portal.mail_outbox.OutboxEmailBackend", "OPTIONS": {}}})
CHANGELIST = reverse("admin:portal_sentemail_changelist")


def change_url(row):
    return reverse("admin:portal_sentemail_change", args=[row.pk])


@OUTBOX
def test_the_outbox_keeps_every_part_of_a_message_and_delivers_nothing(capsys):
    message = EmailMultiAlternatives(
        "Invoice INV-2026-000042", "Hello Alice,\nyour invoice is ready.", "Billing <billing@portal.example>",
        ["alice@acme.example"], cc=["accounts@acme.example"], bcc=["audit@portal.example"],
        reply_to=["support@portal.example"],
    )
    message.attach_alternative("<p>Hello <b>Alice</b></p>", "text/html")
    message.attach("INV-2026-000042.pdf", b"%PDF-1.7 fake", "application/pdf")
    message.attach("terms.txt", "Pay within 14 days.", "text/plain")

    assert message.send() == 1

    row = SentEmail.objects.get()
    assert (row.from_email, row.to, row.cc, row.bcc, row.reply_to) == (
        "Billing <billing@portal.example>", "alice@acme.example", "accounts@acme.example", "audit@portal.example",
        "support@portal.example")
    assert row.subject == "Invoice INV-2026-000042"
    assert row.body.strip() == "Hello Alice,\nyour invoice is ready."
    assert row.html_body.strip() == "<p>Hello <b>Alice</b></p>"
    assert row.attachments == [
        {"name": "INV-2026-000042.pdf", "content_type": "application/pdf", "size": 13},
        {"name": "terms.txt", "content_type": "text/plain", "size": 20},  # as carried: a text part ends in a newline
    ]
    assert re.fullmatch(r"<.+@.+>", row.message_id)
    assert row.sent_at.utcoffset().total_seconds() == 0
    assert not getattr(mail, "outbox", [])  # not delivered anywhere else
    assert capsys.readouterr().out == ""  # and nothing printed over run.py's banner


@OUTBOX
def test_an_html_only_message_has_no_text_part_and_a_message_without_recipients_is_dropped():
    html = EmailMessage("Welcome", "<h1>Hi</h1>", None, ["bob@globex.example"])
    html.content_subtype = "html"
    assert mail.mailers.default.send_messages([html, EmailMessage("Nobody", "x", None, [])]) == 1
    row = SentEmail.objects.get()
    assert (row.body, row.html_body.strip(), row.to) == ("", "<h1>Hi</h1>", "bob@globex.example")


@OUTBOX
def test_the_client_areas_password_reset_lands_in_the_outbox(client):
    alice = ClientFactory(email="alice@acme.example")
    response = client.post(reverse("clientarea:password_reset"), {"email": alice.owner_user.email})
    assert response.status_code == 302
    row = SentEmail.objects.get()
    assert row.to == "alice@acme.example"
    assert "/password-reset/" in row.body


@pytest.fixture
def superuser(db):
    return StaffFactory(is_superuser=True)


def test_staff_list_is_newest_first_and_searchable_by_recipient_and_subject(client, superuser):
    old = SentEmail.objects.create(from_email="b@p.example", to="alice@acme.example", subject="Invoice 1")
    new = SentEmail.objects.create(from_email="b@p.example", to="bob@globex.example", subject="Service suspended")
    client.force_login(superuser)

    page = client.get(CHANGELIST)
    assert page.status_code == 200
    assert list(page.context["cl"].result_list) == [new, old]
    assert list(client.get(CHANGELIST, {"q": "alice@"}).context["cl"].result_list) == [old]
    assert list(client.get(CHANGELIST, {"q": "suspended"}).context["cl"].result_list) == [new]


def test_staff_list_queries_do_not_grow_with_rows(client, superuser):
    client.force_login(superuser)

    def queries():
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(CHANGELIST).status_code == 200
        return len(ctx)

    SentEmail.objects.create(from_email="b@p.example", to="a@x.example", subject="one")
    few = queries()
    SentEmail.objects.bulk_create(
        SentEmail(from_email="b@p.example", to=f"c{n}@x.example", subject=f"n{n}", attachments=[{"name": "a.pdf"}])
        for n in range(40)
    )
    assert queries() == few


def test_the_html_part_is_shown_in_a_sandboxed_frame_never_in_the_page(client, superuser):
    row = SentEmail.objects.create(
        from_email="b@p.example", to="alice@acme.example", subject="<b>Subject</b>",
        body="Text <script>alert(1)</script>", html_body='<p onclick="x()">Hi</p><script>alert("pwned")</script>',
    )
    client.force_login(superuser)
    page = client.get(change_url(row)).content.decode()

    assert "<script>alert" not in page and "<p onclick" not in page
    frame = re.search(r'<iframe data-testid="email-html" sandbox="" [^>]*srcdoc="([^"]*)"', page)
    assert frame, "the HTML part is in a sandboxed iframe"
    assert "&lt;script&gt;alert(&quot;pwned&quot;)&lt;/script&gt;" in frame.group(1)
    assert "Text &lt;script&gt;alert(1)&lt;/script&gt;" in page  # the text part, escaped
    assert "&lt;b&gt;Subject&lt;/b&gt;" in page


def test_only_superusers_read_the_outbox_and_nobody_edits_or_deletes_it(client, superuser):
    row = SentEmail.objects.create(from_email="b@p.example", to="alice@acme.example", subject="Reset your password")
    alice = ClientFactory()
    client.force_login(alice.owner_user)
    assert client.get(CHANGELIST).status_code == 302  # to the staff sign-in
    assert client.get(change_url(row)).status_code == 302

    client.force_login(StaffFactory())  # staff, but the outbox holds every login's password reset links
    assert client.get(CHANGELIST).status_code == 403
    assert client.get(change_url(row)).status_code == 403

    client.force_login(superuser)
    assert client.get(change_url(row)).status_code == 200
    assert client.post(change_url(row), {"subject": "changed"}).status_code == 403
    assert client.get(reverse("admin:portal_sentemail_delete", args=[row.pk])).status_code == 403
    assert client.get(reverse("admin:portal_sentemail_add")).status_code == 403
    row.refresh_from_db()
    assert row.subject == "Reset your password"
