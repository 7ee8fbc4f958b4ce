import re
from datetime import timedelta

import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from billing.models import Invoice, Service
from portal.models import ActivityLog, Client
from tests.factories import PASSWORD, InvoiceFactory, ServiceFactory, StaffFactory

pytestmark = pytest.mark.django_db
LOGIN = "/login/"


def login(client, username, password=PASSWORD):
    return client.post(LOGIN, {"username": username, "password": password})


def test_client_signs_in_and_sees_their_dashboard(client, owner, other_client):
    ServiceFactory(client=owner, domain="mine.example")
    ServiceFactory(client=other_client, domain="theirs.example")
    response = login(client, owner.email)
    assert response.status_code == 302 and response["Location"] == "/"
    page = client.get("/")
    assert b"mine.example" in page.content
    assert b"theirs.example" not in page.content
    owner.refresh_from_db()
    assert owner.last_login_at is not None
    entry = ActivityLog.objects.get(action="client.login")
    assert (entry.client_id, entry.actor_type) == (owner.pk, "client")


def test_staff_login_is_refused_in_the_client_area(client):
    staff = StaffFactory()
    response = login(client, staff.username)
    assert response.status_code == 200
    assert b"This login has no client account" in response.content
    assert "_auth_user_id" not in client.session


def test_closed_client_cannot_sign_in(client, owner):
    Client.objects.filter(pk=owner.pk).update(status=Client.Status.CLOSED)
    response = login(client, owner.email)
    assert b"This client account is closed" in response.content
    assert "_auth_user_id" not in client.session


def test_wrong_password_is_refused_and_repeated_failures_lock_the_login(client, owner):
    for _ in range(5):
        response = login(client, owner.email, "wrong password")
        assert response.status_code in (200, 429)
    locked = login(client, owner.email)  # even the right password, while locked
    assert locked.status_code == 429
    assert b"Too many failed sign-in attempts" in locked.content
    assert "_auth_user_id" not in client.session


def test_staff_visiting_the_client_area_is_sent_to_the_staff_area(client):
    client.force_login(StaffFactory())
    response = client.get("/")
    assert response.status_code == 302 and response["Location"] == reverse("admin:index")


def test_logout_needs_post_and_ends_the_session(client, owner):
    client.force_login(owner.owner_user)
    assert client.get("/logout/").status_code == 405
    assert client.post("/logout/").status_code == 302
    assert client.get("/").status_code == 302


def test_profile_update_saves_and_audits_the_changed_fields(client, owner):
    client.force_login(owner.owner_user)
    form = client.get("/profile/").context["form"]
    data = {name: form.initial.get(name) or "" for name in form.fields}
    data.update(city="Halifax", phone="+1 902 555 0100", country="ca")
    response = client.post("/profile/", data)
    assert response.status_code == 302
    owner.refresh_from_db()
    assert (owner.city, owner.phone, owner.country) == ("Halifax", "+19025550100", "CA")
    entry = ActivityLog.objects.get(action="client.profile_update")
    assert entry.data["changes"] == {"city": ["", "Halifax"], "phone": ["", "+19025550100"]}
    assert entry.actor_user == owner.owner_user


def test_profile_with_a_bad_value_shows_the_error_and_changes_nothing(client, owner):
    client.force_login(owner.owner_user)
    response = client.post("/profile/", {"first_name": "", "last_name": "X", "email": "not-an-email", "country": "CAN"})
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert set(errors) == {"first_name", "email", "country"}
    owner_before = Client.objects.get(pk=owner.pk)
    assert (owner_before.first_name, owner_before.email) == (owner.first_name, owner.email)
    assert not ActivityLog.objects.filter(action="client.profile_update").exists()


def test_password_reset_by_email_sets_a_new_password(client, owner):
    response = client.post("/password-reset/", {"email": owner.email})
    assert response.status_code == 302 and response["Location"] == "/password-reset/sent/"
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == [owner.email]
    link = re.search(r"http://testserver(/password-reset/\S+/\S+/)", message.body).group(1)
    form_page = client.get(link, follow=True)
    assert form_page.status_code == 200 and form_page.context["validlink"]
    done = client.post(form_page.redirect_chain[-1][0], {"new_password1": "Brand-new-pass-42", "new_password2": "Brand-new-pass-42"})
    assert done.status_code == 302 and done["Location"] == "/password-reset/complete/"
    assert login(client, owner.email, "Brand-new-pass-42").status_code == 302


def test_password_reset_for_an_unknown_address_sends_nothing_and_says_the_same(client):
    response = client.post("/password-reset/", {"email": "nobody@example.com"})
    assert response.status_code == 302 and response["Location"] == "/password-reset/sent/"
    assert mail.outbox == []


def test_password_change_is_audited(client, owner):
    client.force_login(owner.owner_user)
    response = client.post(
        "/profile/password/",
        {"old_password": PASSWORD, "new_password1": "An0ther-good-pass", "new_password2": "An0ther-good-pass"},
    )
    assert response.status_code == 302
    owner.owner_user.refresh_from_db()
    assert owner.owner_user.check_password("An0ther-good-pass")
    assert ActivityLog.objects.filter(action="client.password_change", client=owner).count() == 1


def test_dashboard_shows_overdue_invoices_and_counts(client, owner):
    today = timezone.localdate()
    ServiceFactory(client=owner, status=Service.Status.ACTIVE)
    ServiceFactory(client=owner, status=Service.Status.SUSPENDED)
    InvoiceFactory(client=owner, status=Invoice.Status.UNPAID, due_date=today - timedelta(days=1), total="12.50")
    InvoiceFactory(client=owner, status=Invoice.Status.PAID, due_date=today - timedelta(days=30))
    InvoiceFactory(client=owner, status=Invoice.Status.DRAFT, number=None)
    client.force_login(owner.owner_user)
    response = client.get("/")
    summary = response.context["summary"]
    assert summary == {"active": 1, "suspended": 1, "unpaid": 1, "overdue": 1, "total_due": pytest.approx(12.5)}
    assert b"Overdue" in response.content
    assert len(response.context["invoices"]) == 2  # drafts are not shown to clients


@pytest.mark.parametrize("url", ["/", "/services/", "/invoices/"])
def test_list_pages_take_the_same_number_of_queries_for_1_or_30_rows(client, owner, url):
    client.force_login(owner.owner_user)

    def queries():
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(url).status_code == 200
        return len(ctx)

    ServiceFactory(client=owner)
    InvoiceFactory(client=owner)
    few = queries()
    ServiceFactory.create_batch(29, client=owner)
    InvoiceFactory.create_batch(29, client=owner)
    assert queries() == few


def test_invoice_detail_shows_items_and_balance(client, owner):
    invoice = InvoiceFactory(client=owner, total="30.00", amount_paid="10.00")
    invoice.items.create(description="Mail Business – acme.example", amount="30.00")
    client.force_login(owner.owner_user)
    response = client.get(f"/invoices/{invoice.pk}/")
    assert b"Mail Business" in response.content
    assert response.context["invoice"].balance == 20
