"""The SmarterMail module through the portal's lifecycle functions, against the simulator over loopback HTTP:
every action changes the simulator's state as seed 000 says, and errors come back as clear ModuleErrors."""
from decimal import Decimal

import pytest

from billing.models import Service
from portal.activity import Actor
from provisioning import lifecycle
from provisioning.models import ModuleCall
from provisioning.modules.base import ModuleError, SsoTarget
from provisioning.registry import get_module
from tests.provisioning.modules.smartermail.fixtures import SERVICE_PASSWORD

S = Service.Status
pytestmark = pytest.mark.django_db
ACTOR = Actor.system("test")


@pytest.fixture
def module():
    return get_module("smartermail")


@pytest.fixture
def active(sm_service):
    """A service created on the simulator, Active."""

    def make(**options):
        service = sm_service(**options)
        lifecycle.service_create(service=service, actor=ACTOR)
        return service

    return make


def test_an_accepted_order_creates_the_domain_with_path_ip_and_user_limit_from_the_product(sm_service, smartermail):
    service = sm_service(domain="acme.example", storage_path="/srv/mail/Domains", outbound_ip="192.0.2.25",
                         max_users=25)
    lifecycle.service_create(service=service, actor=ACTOR)

    domain = smartermail.domain("acme.example")
    assert (domain.path, domain.outgoing_ip, domain.user_limit, domain.is_enabled) == (
        "/srv/mail/Domains/acme.example", "192.0.2.25", 25, True)
    assert smartermail.has_files("/srv/mail/Domains/acme.example")
    admin = domain.users["admin"]
    assert admin.is_domain_admin and admin.password == SERVICE_PASSWORD
    service.refresh_from_db()
    assert service.status == S.ACTIVE and service.username == "admin@acme.example"
    assert service.module_data["smartermail_path"] == "/srv/mail/Domains/acme.example"
    call = ModuleCall.objects.get(action="create")
    assert call.success and "(25 users, sending from 192.0.2.25)" in call.response_summary
    assert SERVICE_PASSWORD not in str(call.request)  # the admin password is redacted from the record


def test_the_storage_path_may_place_the_domain_with_a_placeholder_or_on_windows(sm_service, smartermail):
    lifecycle.service_create(service=sm_service(domain="a.example", storage_path="/data/{domain}/mail"), actor=ACTOR)
    lifecycle.service_create(service=sm_service(domain="b.example", storage_path="D:\\Mail\\Domains"), actor=ACTOR)
    assert smartermail.domain("a.example").path == "/data/a.example/mail"
    assert smartermail.domain("b.example").path == "D:\\Mail\\Domains\\b.example"


def test_create_without_a_password_generates_one_that_meets_the_product_rules(sm_service, smartermail):
    service = sm_service(password_min_length=20)
    Service.objects.filter(pk=service.pk).update(password="")
    service.refresh_from_db()
    lifecycle.service_create(service=service, actor=ACTOR)
    service.refresh_from_db()
    assert len(service.password) >= 20
    assert smartermail.domain(service.domain).users["admin"].password == service.password


def test_a_duplicate_domain_is_refused_with_a_clear_message_and_stays_pending(sm_service, smartermail):
    smartermail.seed({"domains": [{"name": "taken.example", "admin_password": "someone-elses"}]})
    service = sm_service(domain="taken.example")
    with pytest.raises(ModuleError, match="already exists on the SmarterMail server 127.0.0.1 and is not this "
                                          "service's") as info:
        lifecycle.service_create(service=service, actor=ACTOR)
    assert info.value.permanent
    service.refresh_from_db()
    assert service.status == S.PENDING
    assert ModuleCall.objects.get(action="create").awaiting_retry
    assert smartermail.domain("taken.example").users["admin"].password == "someone-elses"  # untouched


def test_a_create_repeated_after_a_lost_answer_adopts_the_domain_it_made(sm_service, smartermail):
    """The first attempt created the domain but its answer was lost (timeout): the retry finds the name in use,
    proves the domain is this service's by logging in as its administrator, and succeeds."""
    service = sm_service(domain="lost.example", outbound_ip="192.0.2.9")
    smartermail.fail("status", path="domain-settings", status=500)  # fails after domain-put succeeded
    with pytest.raises(ModuleError):
        lifecycle.service_create(service=service, actor=ACTOR)
    assert smartermail.domain("lost.example").outgoing_ip == ""
    lifecycle.service_create(service=service, actor=ACTOR)
    service.refresh_from_db()
    assert service.status == S.ACTIVE
    assert smartermail.domain("lost.example").outgoing_ip == "192.0.2.9"
    assert "from an earlier attempt" in ModuleCall.objects.get(action="create", success=True).response_summary
    assert not ModuleCall.objects.filter(awaiting_retry=True).exists()


def test_an_invalid_domain_name_is_explained(sm_service, smartermail):
    with pytest.raises(ModuleError, match="refused the domain name as invalid. Correct the service's domain"):
        lifecycle.service_create(service=sm_service(domain="not_a_domain"), actor=ACTOR)


def test_suspend_disables_the_domain_and_unsuspend_enables_it_nothing_deleted(active, smartermail):
    service = active()
    lifecycle.service_suspend(service=service, actor=ACTOR, reason=Service.SuspendReason.OVERDUE)
    domain = smartermail.domain(service.domain)
    assert domain.is_enabled is False
    assert smartermail.snapshot()["domains"][service.domain]["users"] == ["admin"]
    assert smartermail.has_files(domain.path)
    service.refresh_from_db()
    assert (service.status, service.suspend_mode) == (S.SUSPENDED, "domain")

    lifecycle.service_unsuspend(service=service, actor=ACTOR)
    assert smartermail.domain(service.domain).is_enabled is True


def test_a_suspended_domain_refuses_logins(active, smartermail, module):
    import requests

    service = active()
    lifecycle.service_suspend(service=service, actor=ACTOR, reason="manual")
    response = requests.post(f"{smartermail.url}/api/v1/auth/authenticate-user",
                             json={"username": f"admin@{service.domain}", "password": SERVICE_PASSWORD}, timeout=5)
    assert response.status_code == 401 and response.json()["success"] is False


def test_suspending_a_domain_already_disabled_on_the_server_counts_as_success(active, smartermail):
    service = active()
    smartermail.domain(service.domain).is_enabled = False
    lifecycle.service_suspend(service=service, actor=ACTOR, reason="manual")
    service.refresh_from_db()
    assert service.status == S.SUSPENDED


def test_suspending_a_domain_missing_on_the_server_says_so(active, smartermail):
    service = active()
    smartermail.domains.pop(service.domain)
    with pytest.raises(ModuleError, match="does not exist on the SmarterMail server .* Create it again, or terminate"):
        lifecycle.service_suspend(service=service, actor=ACTOR, reason="manual")
    service.refresh_from_db()
    assert service.status == S.ACTIVE


def test_terminate_with_option_8_off_removes_the_domain_and_leaves_the_files(active, smartermail):
    service = active(delete_data_on_terminate=False)
    path = smartermail.domain(service.domain).path
    lifecycle.service_terminate(service=service, actor=ACTOR)
    assert smartermail.domain(service.domain) is None
    assert smartermail.has_files(path)
    assert "its files kept on disk." in ModuleCall.objects.get(action="terminate").response_summary


def test_terminate_with_option_8_on_deletes_the_files(active, smartermail):
    service = active(delete_data_on_terminate=True)
    path = smartermail.domain(service.domain).path
    lifecycle.service_terminate(service=service, actor=ACTOR)
    assert smartermail.domain(service.domain) is None
    assert not smartermail.has_files(path)


def test_terminating_a_domain_already_gone_counts_as_success(active, smartermail):
    service = active()
    smartermail.domains.pop(service.domain)
    lifecycle.service_terminate(service=service, actor=ACTOR)
    service.refresh_from_db()
    assert service.status == S.TERMINATED
    assert "already removed" in ModuleCall.objects.get(action="terminate").response_summary


def test_change_password_sets_the_domain_administrators_password(active, smartermail):
    service = active()
    lifecycle.service_change_password(service=service, actor=ACTOR, new_password="Brand-New-Pass-42")
    assert smartermail.domain(service.domain).users["admin"].password == "Brand-New-Pass-42"
    service.refresh_from_db()
    assert service.password == "Brand-New-Pass-42"


def test_a_password_breaking_the_product_rules_is_refused_before_calling_the_server(active, smartermail):
    service = active(password_min_length=12)
    calls = len(smartermail.calls)
    with pytest.raises(ModuleError, match="at least 12 characters \\(the product.s minimum password length\\)"):
        lifecycle.service_change_password(service=service, actor=ACTOR, new_password="Short-1")
    with pytest.raises(ModuleError, match="upper- and lower-case letters and a digit \\(product option 10\\)"):
        lifecycle.service_change_password(service=service, actor=ACTOR, new_password="alllowercase-long")
    assert len(smartermail.calls) == calls


def test_usage_reads_every_domain_in_one_call_in_mb(active, smartermail, module, sm_server):
    first, second = active(), active()
    smartermail.set_size(first.domain, 1536 * 1024 * 1024)
    smartermail.set_size(second.domain, 5 * 1024 * 1024 + 1024 * 1024 // 2)
    smartermail.domain(second.domain).max_size = 10 * 1024 * 1024 * 1024
    before = smartermail.calls_to("sysadmin/domains")
    usage = module.usage(lifecycle.server_ref(sm_server))
    assert smartermail.calls_to("sysadmin/domains") == before + 1
    assert usage[first.domain].disk_mb == Decimal("1536.00") and usage[first.domain].disk_limit_mb is None
    assert usage[second.domain].disk_mb == Decimal("5.50") and usage[second.domain].disk_limit_mb == Decimal("10240.00")


def test_sso_gives_the_servers_one_minute_auto_login_url_for_the_domain_admin_and_for_webmail(active, smartermail, module):
    import requests

    service = active()
    ref = lifecycle.service_ref(Service.objects.get(pk=service.pk))
    url = module.sso_url(ref, target=SsoTarget.DOMAIN_ADMIN)
    assert url.startswith(f"{smartermail.url}/interface/autologin?autologin=")
    page = requests.get(url, timeout=5)
    assert page.status_code == 200 and f"Signed in as admin@{service.domain}" in page.text
    assert '<link rel="icon" href="data:,">' in page.text  # browsers do not ask the simulator for /favicon.ico
    assert "domain administrator" in page.text
    assert requests.get(url, timeout=5).status_code == 401  # single use

    webmail = module.sso_url(ref, target=SsoTarget.WEBMAIL, user=f"admin@{service.domain}")
    smartermail.advance(61)
    assert requests.get(webmail, timeout=5).status_code == 401  # expired after a minute
    with pytest.raises(ModuleError, match="needs a mailbox of"):
        module.sso_url(ref, target=SsoTarget.WEBMAIL, user="bob@elsewhere.example")


def test_test_connection_reports_the_version_or_what_is_wrong(sm_server, smartermail, module):
    result = module.test_connection(lifecycle.server_ref(sm_server))
    assert "Connected to SmarterMail 100.0.9000 (simulator)" in result.message
    sm_server.password = "wrong"
    with pytest.raises(ModuleError, match="Check the username and password"):
        module.test_connection(lifecycle.server_ref(sm_server))


def test_a_token_expiring_in_the_middle_of_a_run_of_actions_does_not_fail_any(active, smartermail):
    services = [active() for _ in range(3)]
    logins = smartermail.logins
    for number, service in enumerate(services):
        if number == 1:
            smartermail.expire_access_tokens()
        lifecycle.service_suspend(service=service, actor=ACTOR, reason="overdue")
    assert all(not smartermail.domain(s.domain).is_enabled for s in services)
    assert smartermail.logins == logins and smartermail.refreshes == 1


def test_a_5xx_during_suspend_keeps_the_service_active_and_queues_a_retry(active, smartermail):
    service = active()
    smartermail.fail("status", path="domain-settings", status=500, times=3)
    with pytest.raises(ModuleError, match="answered 500") as info:
        lifecycle.service_suspend(service=service, actor=ACTOR, reason="overdue")
    assert not info.value.permanent
    service.refresh_from_db()
    assert service.status == S.ACTIVE
    queued = ModuleCall.objects.get(awaiting_retry=True)
    assert queued.action == "suspend" and queued.request["args"]["reason"] == "overdue"
    assert [exchange["status"] for exchange in queued.request["http"]][-1] == 500
