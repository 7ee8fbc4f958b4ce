"""The staff service page: lifecycle buttons, messages that say what to do, typed confirmation, SSO jump,
permissions, audit, usage chart. Against the SmarterMail simulator over HTTP."""
import re
from datetime import timedelta
from decimal import Decimal
from html import unescape

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse
from django.utils import timezone

from billing.models import Service
from portal.activity import Actor
from portal.models import ActivityLog, ClientUser
from provisioning import lifecycle
from provisioning.models import ModuleCall, UsageSample
from tests.conftest import sign_in_with_two_factor
from tests.factories import ServiceFactory, StaffFactory

S = Service.Status
pytestmark = pytest.mark.django_db


@pytest.fixture
def active(sm_service):
    def make(**options):
        service = sm_service(**options)
        lifecycle.service_create(service=service, actor=Actor.system("setup"))
        service.refresh_from_db()
        return service

    return make


def change_url(service):
    return reverse("admin:billing_service_change", args=[service.pk])


def action_url(service, action):
    return reverse("admin:billing_service_lifecycle", args=[service.pk, action])


def messages_of(response):
    return [str(m) for m in response.context["messages"]]


def test_the_page_offers_the_buttons_the_status_allows(admin_client, sm_service, active):
    pending = sm_service()
    page = admin_client.get(change_url(pending)).content.decode()
    assert ">Create</button>" in page and ">Suspend</button>" not in page and "Log in to control panel" not in page

    service = active()
    page = admin_client.get(change_url(service)).content.decode()
    assert ">Suspend</button>" in page and ">Create</button>" not in page and ">Unsuspend</button>" not in page
    assert "Terminate…" in page and "Change password…" in page and "Log in to control panel" in page


def test_create_button_provisions_on_the_simulator(admin_client, sm_service, smartermail):
    service = sm_service(max_users=3)
    response = admin_client.post(action_url(service, "create"), follow=True)
    assert messages_of(response) == [f"Created {service.domain}."]
    assert smartermail.domain(service.domain).user_limit == 3
    assert Service.objects.get(pk=service.pk).status == S.ACTIVE


def test_suspend_needs_a_reason_which_is_kept_and_audited(admin_client, active, smartermail, admin_user):
    service = active()
    response = admin_client.post(action_url(service, "suspend"), {"reason_text": ""}, follow=True)
    assert messages_of(response) == ["Give a reason to suspend the service."]
    assert smartermail.domain(service.domain).is_enabled

    response = admin_client.post(action_url(service, "suspend"), {"reason_text": "Abuse report #42"}, follow=True)
    assert messages_of(response) == [f"Suspended {service.domain}."]
    service.refresh_from_db()
    assert (service.status, service.suspend_reason, service.suspend_reason_text) == (S.SUSPENDED, "manual",
                                                                                      "Abuse report #42")
    assert not smartermail.domain(service.domain).is_enabled
    entry = ActivityLog.objects.get(action="service.suspend")
    assert entry.actor_user == admin_user and entry.data["reason_text"] == "Abuse report #42"

    admin_client.post(action_url(service, "unsuspend"))
    assert smartermail.domain(service.domain).is_enabled


def test_a_provider_failure_is_shown_with_what_to_do(admin_client, active, smartermail):
    service = active()
    smartermail.fail("status", path="domain-settings", status=500)
    response = admin_client.post(action_url(service, "suspend"), {"reason_text": "x"}, follow=True)
    [message] = messages_of(response)
    assert "answered 500" in message and "This looks temporary" in message and "Retry queue" in message
    assert "1 failed provider call for this service waits in the" in response.content.decode()

    smartermail.stop()  # the server is gone altogether
    response = admin_client.post(action_url(service, "suspend"), {"reason_text": "x"}, follow=True)
    assert "could not connect" in messages_of(response)[0]


def test_a_permanent_failure_says_it_needs_a_person(admin_client, sm_service, smartermail):
    smartermail.seed({"domains": [{"name": "taken.example"}]})
    service = sm_service(domain="taken.example")
    response = admin_client.post(action_url(service, "create"), follow=True)
    [message] = messages_of(response)
    assert "already exists" in message and "This needs a person" in message


def warning_of(page):
    html = page.content.decode()
    paragraph = re.search(r'<p class="errornote" data-testid="terminate-warning">(.*?)</p>', html, re.DOTALL).group(1)
    return " ".join(unescape(re.sub(r"<[^>]+>", "", paragraph)).split())


def test_the_terminate_page_says_in_plain_words_that_a_product_deleting_data_deletes_it(admin_client, active):
    service = active(delete_data_on_terminate=True)
    page = admin_client.get(action_url(service, "terminate"))
    warning = warning_of(page)
    assert "The mailboxes' mail and files will be deleted from the server — this product's setting; " in warning
    assert "option" not in warning.lower()
    assert page.context["form"]["delete_data"].initial is True


def test_terminate_asks_for_the_domain_typed_and_follows_the_choice_about_data(admin_client, active, smartermail):
    service = active(delete_data_on_terminate=False)
    path = smartermail.domain(service.domain).path
    page = admin_client.get(action_url(service, "terminate"))
    assert warning_of(page) == (
        f"Terminating {service.domain} removes it from {service.server}: its mailboxes stop working at once. "
        "The mailboxes' mail and files will be kept on the server after termination — this product's setting; "
        'tick "Delete the data on the server" below to delete them. Termination cannot be undone.'
    )
    assert page.context["form"]["delete_data"].initial is False

    wrong = admin_client.post(action_url(service, "terminate"), {"confirm_domain": "other.example"})
    assert f"Type {service.domain} exactly" in wrong.content.decode()
    assert smartermail.domain(service.domain) is not None

    response = admin_client.post(action_url(service, "terminate"), {"confirm_domain": service.domain.upper()},
                                 follow=True)
    assert messages_of(response) == [f"Terminated {service.domain}."]
    assert smartermail.domain(service.domain) is None and smartermail.has_files(path)
    assert ActivityLog.objects.get(action="service.terminate").data["delete_data"] is False


def test_terminating_twice_is_refused_the_second_time(admin_client, active):
    service = active()
    admin_client.post(action_url(service, "terminate"), {"confirm_domain": service.domain, "delete_data": "on"})
    response = admin_client.post(action_url(service, "terminate"), {"confirm_domain": service.domain}, follow=True)
    assert "the service is Terminated" in messages_of(response)[-1]
    assert ModuleCall.objects.filter(action="terminate").count() == 1


def test_change_password_sets_it_on_the_provider_and_shows_refusals_in_the_form(admin_client, active, smartermail):
    service = active()
    url = action_url(service, "change-password")
    mismatch = admin_client.post(url, {"new_password": "Abcdefgh12", "confirm_password": "Abcdefgh13"})
    assert "The two passwords differ." in mismatch.content.decode()
    weak = admin_client.post(url, {"new_password": "short", "confirm_password": "short"})
    assert "The password must be at least 8 characters (the product&#x27;s minimum password length)." in weak.content.decode()
    response = admin_client.post(url, {"new_password": "Better-Pass-77", "confirm_password": "Better-Pass-77"},
                                 follow=True)
    assert messages_of(response) == [f"Password of {service.username} changed."]
    assert smartermail.domain(service.domain).users["admin"].password == "Better-Pass-77"
    assert "Better-Pass-77" not in str(list(ActivityLog.objects.values_list("message", "data")))


def test_sso_redirects_to_the_providers_auto_login_url_and_is_audited(admin_client, active, smartermail, admin_user):
    sign_in_with_two_factor(admin_client, admin_user)
    service = active()
    url = reverse("admin:billing_service_sso", args=[service.pk])
    assert admin_client.get(url).status_code == 405
    response = admin_client.post(url)
    assert response.status_code == 302
    assert response["Location"].startswith(f"{smartermail.url}/interface/autologin?autologin=")
    assert "no-store" in response["Cache-Control"]
    entry = ActivityLog.objects.get(action="service.sso")
    assert entry.actor_user == admin_user and "as the domain administrator" in entry.message
    assert "autologin" not in entry.message and "autologin" not in str(ModuleCall.objects.get(action="sso").request)


def test_sso_is_refused_without_a_session_that_passed_two_factor_and_the_refusal_is_audited(
        admin_client, active, smartermail, admin_user):
    service = active()
    response = admin_client.post(reverse("admin:billing_service_sso", args=[service.pk]), follow=True)
    assert messages_of(response) == ["Control panel login needs a staff session that passed two-factor sign-in: set "
                                     "up two-factor sign-in first (Two-factor sign-in, at the top of the staff area)."]
    assert not ModuleCall.objects.filter(action="sso").exists() and not ActivityLog.objects.filter(action="service.sso")
    refusal = ActivityLog.objects.get(action="two_factor.required_refused")
    assert (refusal.actor_user, refusal.target_id) == (admin_user, str(service.pk))


def test_sso_failure_comes_back_to_the_page_with_the_reason(admin_client, active, smartermail, admin_user):
    sign_in_with_two_factor(admin_client, admin_user)
    service = active()
    smartermail.fail("status", path="retrieve-login-token", status=500, times=3)
    response = admin_client.post(reverse("admin:billing_service_sso", args=[service.pk]), follow=True)
    assert "Could not log in to the control panel" in messages_of(response)[0]
    assert ActivityLog.objects.filter(action="service.sso_failed").exists()


def test_staff_without_the_permissions_get_no_buttons_and_403(client, active):
    service = active()
    viewer = StaffFactory()
    viewer.user_permissions.add(Permission.objects.get(codename="view_service"))
    client.force_login(viewer)
    page = client.get(change_url(service)).content.decode()
    assert "Suspend</button>" not in page and "Terminate…" not in page and "Log in to control panel" not in page
    assert client.post(action_url(service, "suspend"), {"reason_text": "x"}).status_code == 403
    assert client.get(action_url(service, "terminate")).status_code == 403
    assert client.post(reverse("admin:billing_service_sso", args=[service.pk])).status_code == 403

    editor = StaffFactory()
    editor.user_permissions.add(*Permission.objects.filter(codename__in=["view_service", "change_service"]))
    client.force_login(editor)
    page = client.get(change_url(service)).content.decode()
    assert "Suspend</button>" in page and "Terminate…" not in page
    assert client.get(action_url(service, "terminate")).status_code == 403
    editor.user_permissions.add(Permission.objects.get(codename="terminate_service"))
    client.force_login(editor)
    assert client.get(action_url(service, "terminate")).status_code == 200


def test_unknown_action_or_service_is_404_and_buttons_want_post(admin_client, active):
    service = active()
    assert admin_client.post(action_url(service, "explode")).status_code == 404
    assert admin_client.get(action_url(service, "suspend")).status_code == 405
    assert admin_client.post(reverse("admin:billing_service_lifecycle", args=[999999, "create"])).status_code == 404


def test_a_service_without_module_still_gets_status_only_buttons(admin_client):
    service = ServiceFactory(status=S.PENDING)
    page = admin_client.get(change_url(service)).content.decode()
    assert "no provisioning module" in page
    admin_client.post(action_url(service, "create"))
    assert Service.objects.get(pk=service.pk).status == S.ACTIVE


def test_the_usage_chart_shows_on_the_admin_page_and_in_the_client_area(admin_client, client, active):
    service = active()
    today = timezone.localdate()
    UsageSample.objects.bulk_create(
        [UsageSample(service=service, date=today - timedelta(days=d), disk_mb=Decimal(100 + d)) for d in range(10)]
    )
    Service.objects.filter(pk=service.pk).update(disk_usage_mb=Decimal("100"), usage_updated_at=timezone.now())
    page = admin_client.get(change_url(service)).content.decode()
    assert '<svg class="usage-chart"' in page and page.count("<circle") == 10

    client.force_login(ClientUser.objects.get(client=service.client_id, is_owner=True).user)
    area = client.get(reverse("clientarea:service", args=[service.pk])).content.decode()
    assert '<svg class="usage-chart"' in area and "100 MB" in area
