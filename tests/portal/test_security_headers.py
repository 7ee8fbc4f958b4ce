"""The Content-Security-Policy on every page (docs/security.md, *Headers*), and templates and widgets that keep
to it: no inline script, style element, style attribute or event handler anywhere the portal renders."""
import re
from pathlib import Path

import pytest
from django.urls import reverse

from billing.models import EmailTemplate
from portal.models import SentEmail
from tests.factories import StaffFactory

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]
POLICY = {
    "default-src": "'self'", "script-src": "'self'", "style-src": "'self'", "img-src": "'self' data:",
    "font-src": "'self'", "connect-src": "'self'", "object-src": "'none'", "base-uri": "'self'",
    "frame-ancestors": "'none'",
}


def policy(response):
    header = response["Content-Security-Policy"]
    return dict(part.strip().split(" ", 1) for part in header.split(";"))


@pytest.mark.parametrize("path", ["/login/", "/admin/login/", "/api/v1/clients/", "/includes/api.php", "/healthz"])
def test_every_kind_of_page_carries_the_policy(client, path):
    response = client.get(path)
    assert policy(response) == POLICY
    assert response["X-Frame-Options"] == "DENY" and response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"


def test_signed_in_pages_carry_the_policy(client, owner):
    client.force_login(owner.owner_user)
    assert policy(client.get("/")) == POLICY
    client.force_login(StaffFactory(is_superuser=True))
    assert policy(client.get(reverse("admin:index"))) == POLICY


def test_only_the_outbox_message_page_allows_inline_styles_for_the_mail_it_shows(client):
    row = SentEmail.objects.create(from_email="b@p.example", to="a@x.example", subject="Hi", body="Hi",
                                   html_body='<p style="color:red">Hi</p>')
    client.force_login(StaffFactory(is_superuser=True))
    page = client.get(reverse("admin:portal_sentemail_change", args=[row.pk]))
    assert policy(page) == {**POLICY, "style-src": "'self' 'unsafe-inline'"}


# The last alternative is a widget's attrs={"style": …}, which Django renders as a style attribute.
INLINE = re.compile(r"<script(?![^>]*\ssrc=)[^>]*>|<style[\s>]|\sstyle=['\"]|\son[a-z]+=['\"]|['\"]style['\"]\s*:",
                    re.IGNORECASE)
APPS = ("portal", "billing", "provisioning", "voip", "payments", "api", "config")


def html_sources():
    """Every template, and the code lines (not comments) of the apps that build HTML; the provider simulators
    serve their own pages on their own ports, not the portal's."""
    for path in ROOT.joinpath("templates").rglob("*.html"):
        yield path, path.read_text()
    for path in (p for app in APPS for p in ROOT.joinpath(app).rglob("*.py") if "simulator" not in p.name):
        yield path, "\n".join(line for line in path.read_text().splitlines() if not line.lstrip().startswith("#"))


def test_no_template_or_widget_has_inline_script_style_or_handlers():
    offenders = [f"{path.relative_to(ROOT)}: {match.group(0)}" for path, text in html_sources()
                 for match in INLINE.finditer(text)]
    assert offenders == []


def test_the_email_template_page_renders_its_body_field_without_a_style_attribute(client):
    template = EmailTemplate.objects.create(name="Walk Test", subject="Hi", body="Hello")
    client.force_login(StaffFactory(is_superuser=True))
    page = client.get(reverse("admin:billing_emailtemplate_change", args=[template.pk])).content.decode()
    assert INLINE.findall(page) == []
    assert 'class="mail-source"' in page
