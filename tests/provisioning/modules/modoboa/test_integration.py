"""The Modoboa module against a real Modoboa 2.12.0 (scripts/modoboa/): every lifecycle action through
provisioning.lifecycle, the mailbox capability, usage, and the errors Modoboa really gives."""
import os
import sqlite3
import subprocess
from contextlib import closing
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import pytest

from billing.models import Service
from portal.activity import Actor
from provisioning import lifecycle
from provisioning.http import recording
from provisioning.lifecycle import server_ref, service_ref
from provisioning.models import ModuleCall
from provisioning.modules.base import ModuleError, ServiceRef
from provisioning.modules.mailboxes import Alias, Forward, MailboxChanges, NewMailbox
from provisioning.modules.modoboa import ModoboaModule
from provisioning.modules.modoboa.client import ModoboaClient
from provisioning.modules.modoboa.module import _password_matches, find_domain, find_row
from provisioning.registry import get_module
from provisioning.usage import update_server_usage
from tests.factories import ServiceFactory

S = Service.Status
ACTOR = Actor.system("modoboa-tests")
PASSWORD = "Portal-Test-Passw0rd"
pytestmark = [pytest.mark.django_db, pytest.mark.services]


@pytest.fixture
def api(modoboa):
    """A client straight to Modoboa, to check what the module did."""
    return ModoboaClient(modoboa["url"], modoboa["token"])


@pytest.fixture
def make_service(modoboa_server, modoboa_product, new_domain):
    def make(status=S.PENDING, **kwargs):
        kwargs.setdefault("domain", new_domain())
        return ServiceFactory(status=status, product=modoboa_product, server=modoboa_server, **kwargs)

    return make


@pytest.fixture
def live(make_service):
    """A service created on Modoboa through the lifecycle, with a known password."""
    service = make_service(password=PASSWORD)
    lifecycle.service_create(service=service, actor=ACTOR)
    return service


def domain_on(api, service):
    return find_domain(api, service.domain)


def test_the_module_is_installed_and_reaches_modoboa_as_a_super_administrator(modoboa_server):
    module = get_module("modoboa")
    assert isinstance(module, ModoboaModule)
    assert (module.supports_mailboxes, module.supports_usage, module.supports_sso) == (True, True, False)
    assert "as admin (SuperAdmins)" in module.test_connection(server_ref(modoboa_server)).message


def test_create_makes_the_domain_with_the_product_quotas_and_its_administrator(make_service, api):
    service = make_service()
    lifecycle.service_create(service=service, actor=ACTOR)
    service.refresh_from_db()
    domain = domain_on(api, service)
    assert service.status == S.ACTIVE
    assert (domain["enabled"], domain["quota"], domain["default_mailbox_quota"]) == (True, "500", "50")
    assert service.module_data["modoboa_domain_id"] == domain["pk"]
    # No password on the service: the module generated one, the lifecycle stored it, and it is the admin's.
    assert service.username == f"admin@{service.domain}" and len(service.password) >= 16
    admin = find_row(api, "accounts/", "username", service.username)
    assert (admin["role"], admin["mailbox"]["use_domain_quota"]) == ("DomainAdmins", True)
    assert _password_matches(api, service.username, service.password)
    postmaster = find_row(api, "aliases/", "address", f"postmaster@{service.domain}")
    assert postmaster["recipients"] == [service.username]
    call = ModuleCall.objects.get(service=service, action="create")
    assert call.success and call.request["http"][0]["body"]["domain_admin"]["password"] == "***"


def test_suspend_and_unsuspend_switch_the_domain_off_and_on(live, api):
    lifecycle.service_suspend(service=live, actor=ACTOR, reason=Service.SuspendReason.OVERDUE)
    live.refresh_from_db()
    assert (live.status, live.suspend_mode) == (S.SUSPENDED, "domain")
    assert domain_on(api, live)["enabled"] is False
    lifecycle.service_unsuspend(service=live, actor=ACTOR)
    live.refresh_from_db()
    assert live.status == S.ACTIVE
    assert domain_on(api, live)["enabled"] is True


def test_suspending_a_domain_already_disabled_on_modoboa_succeeds(live, api):
    api.call("PATCH", f"domains/{domain_on(api, live)['pk']}/", {"enabled": False})
    lifecycle.service_suspend(service=live, actor=ACTOR, reason=Service.SuspendReason.MANUAL)
    live.refresh_from_db()
    assert live.status == S.SUSPENDED
    assert "already disabled" in ModuleCall.objects.get(service=live, action="suspend").response_summary


def test_change_password_resets_the_primary_mailbox(live, api):
    lifecycle.service_change_password(service=live, actor=ACTOR, new_password="Changed-Passw0rd-2")
    assert _password_matches(api, f"admin@{live.domain}", "Changed-Passw0rd-2")
    assert not _password_matches(api, f"admin@{live.domain}", PASSWORD)


def test_a_password_modoboa_refuses_is_a_clear_permanent_error(live):
    with pytest.raises(ModuleError, match="password: This password is too short") as info:
        lifecycle.service_change_password(service=live, actor=ACTOR, new_password="short")
    assert info.value.permanent


@pytest.mark.parametrize("delete_data", [False, True])
def test_terminate_deletes_the_domain_and_the_accounts_modoboa_would_leave(live, api, delete_data):
    lifecycle.service_terminate(service=live, actor=ACTOR, delete_data=delete_data)
    live.refresh_from_db()
    assert live.status == S.TERMINATED
    assert domain_on(api, live) is None
    assert list(api.pages("accounts/", {"search": f"@{live.domain}"})) == []
    kept = "deleted" if delete_data else "kept on disk"
    assert kept in ModuleCall.objects.get(service=live, action="terminate").response_summary


def test_terminating_a_domain_already_deleted_in_modoboa_succeeds_and_clears_its_leftovers(live, api):
    api.call("POST", f"domains/{domain_on(api, live)['pk']}/delete/", {"keep_folder": False})
    assert find_row(api, "accounts/", "username", f"admin@{live.domain}")["mailbox"] is None  # Modoboa keeps it
    lifecycle.service_terminate(service=live, actor=ACTOR)
    live.refresh_from_db()
    assert live.status == S.TERMINATED
    assert find_row(api, "accounts/", "username", f"admin@{live.domain}") is None


def test_the_whole_lifecycle_twice_on_the_same_domain(make_service, new_domain):
    """Terminate leaves nothing behind that would block ordering the same domain again."""
    domain = new_domain()
    for _ in range(2):
        service = make_service(domain=domain, password=PASSWORD)
        lifecycle.service_create(service=service, actor=ACTOR)
        lifecycle.service_suspend(service=service, actor=ACTOR, reason=Service.SuspendReason.MANUAL)
        lifecycle.service_unsuspend(service=service, actor=ACTOR)
        lifecycle.service_terminate(service=service, actor=ACTOR)
        service.refresh_from_db()
        assert service.status == S.TERMINATED


def test_creating_a_domain_that_exists_and_is_not_this_services_is_refused(live, make_service):
    other = make_service(domain=live.domain, password="Another-Passw0rd-3")
    with pytest.raises(ModuleError, match="already exists on the Modoboa server and is not this service's") as info:
        lifecycle.service_create(service=other, actor=ACTOR)
    assert info.value.permanent
    other.refresh_from_db()
    assert other.status == S.PENDING
    call = ModuleCall.objects.get(service=other, action="create")
    assert (call.success, call.permanent_error, call.awaiting_retry) == (False, True, True)
    assert "domain with this name already exists" in call.error


def test_a_create_retried_after_it_succeeded_on_modoboa_counts_as_done(make_service, api):
    """e.g. the answer was lost: the earlier attempt made the domain with this service's password."""
    service = make_service(password=PASSWORD)
    ModoboaModule().create(service_ref(service))
    lifecycle.service_create(service=service, actor=ACTOR)
    service.refresh_from_db()
    assert service.status == S.ACTIVE
    assert "from an earlier attempt" in ModuleCall.objects.get(service=service, action="create").response_summary


def test_an_administrator_account_left_in_modoboa_blocks_create_with_a_clear_message(live, api, make_service):
    api.call("POST", f"domains/{domain_on(api, live)['pk']}/delete/", {"keep_folder": False})
    again = make_service(domain=live.domain, password=PASSWORD)
    with pytest.raises(ModuleError, match=f"account admin@{live.domain} already exists on Modoboa") as info:
        lifecycle.service_create(service=again, actor=ACTOR)
    assert info.value.permanent
    assert domain_on(api, again) is None  # Modoboa rolled the domain back


def test_product_quotas_that_modoboa_refuses_are_named(make_service, modoboa_product):
    modoboa_product.module_options = {"domain_quota_mb": 100, "mailbox_quota_mb": 200}
    modoboa_product.save()
    with pytest.raises(ModuleError, match="default_mailbox_quota: Cannot be greater than domain quota"):
        lifecycle.service_create(service=make_service(), actor=ACTOR)


def test_a_wrong_api_token_is_a_permanent_error_that_says_so(live, modoboa_server):
    modoboa_server.api_token = "0" * 40
    modoboa_server.save()
    with pytest.raises(ModuleError, match=r"refused the portal's API token \(401: Invalid token\.\)") as info:
        lifecycle.service_suspend(service=live, actor=ACTOR, reason=Service.SuspendReason.MANUAL)
    assert info.value.permanent
    live.refresh_from_db()
    assert live.status == S.ACTIVE
    with pytest.raises(ModuleError, match="API token"):
        ModoboaModule().test_connection(server_ref(modoboa_server))


def test_a_token_of_a_plain_domain_administrator_fails_the_connection_test(modoboa, modoboa_server, live, api):
    """Its token answers, but it may not create domains: say so instead of failing on the first order."""
    account = find_row(api, "accounts/", "username", f"admin@{live.domain}")
    token = _token_for(modoboa, account["username"], PASSWORD)
    modoboa_server.api_token = token
    with pytest.raises(ModuleError, match="a DomainAdmins: creating domains needs a super administrator"):
        ModoboaModule().test_connection(server_ref(modoboa_server))


def _token_for(modoboa, username, password):
    """A DRF token for a Modoboa user, from the instance's own manage.py (there is no API for it)."""
    home = Path(modoboa["home"])
    code = ("from rest_framework.authtoken.models import Token; from django.contrib.auth import get_user_model; "
            f"print(Token.objects.get_or_create(user=get_user_model().objects.get(username={username!r}))[0].key)")
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "instance.settings"}
    out = subprocess.run([home / "venv/bin/python", "manage.py", "shell", "-c", code], cwd=home / "instance", env=env,
                         capture_output=True, text=True, check=True)
    return out.stdout.strip().splitlines()[-1]


def fill_quota(modoboa, address, megabytes):
    """What Dovecot does on a real server: record a mailbox's bytes in Modoboa's admin_quota table."""
    with closing(sqlite3.connect(Path(modoboa["home"]) / "modoboa.db", timeout=30)) as db, db:
        db.execute("UPDATE admin_quota SET bytes = ? WHERE username = ?", (megabytes * 1048576, address))


def test_the_usage_update_stores_each_domains_use_and_quota(live, modoboa, modoboa_server):
    module, ref = ModoboaModule(), service_ref(live)
    module.create_mailbox(ref, NewMailbox(address=f"bob@{live.domain}", password="Bob-Passw0rd-1", quota_mb=200))
    fill_quota(modoboa, f"admin@{live.domain}", 20)  # 40 % of its 50 MB
    fill_quota(modoboa, f"bob@{live.domain}", 3)  # 1.5 %, which Modoboa reports as 1 %: 2 MB
    assert update_server_usage(server_id=modoboa_server.pk).updated == 1
    live.refresh_from_db()
    assert (live.disk_usage_mb, live.disk_limit_mb) == (Decimal("22.00"), Decimal("500.00"))
    assert {mailbox.used_mb for mailbox in module.list_mailboxes(ref)} == {Decimal(20), Decimal(2)}


def test_mailboxes_create_list_update_delete(live):
    module, ref = ModoboaModule(), service_ref(live)
    address = f"bob@{live.domain}"
    created = module.create_mailbox(ref, NewMailbox(address=address, password="Bob-Passw0rd-1", name="Bob Smith",
                                                    quota_mb=20))
    assert (created.address, created.name, created.quota_mb, created.is_admin) == (address, "Bob Smith", 20, False)
    default = module.create_mailbox(ref, NewMailbox(address=f"Carol@{live.domain}", password="Carol-Passw0rd-1"))
    assert (default.address, default.quota_mb) == (f"carol@{live.domain}", 50)  # the domain's default quota
    listed = {mailbox.address: mailbox for mailbox in module.list_mailboxes(ref)}
    assert set(listed) == {f"admin@{live.domain}", address, f"carol@{live.domain}"}
    assert listed[f"admin@{live.domain}"].is_admin and listed[address].used_mb == 0

    updated = module.update_mailbox(ref, address, MailboxChanges(name="Robert Smith", quota_mb=30, enabled=False,
                                                                 password="Bob-Passw0rd-2"))
    assert (updated.name, updated.quota_mb, updated.enabled) == ("Robert Smith", 30, False)

    module.delete_mailbox(ref, address, delete_data=False)
    module.delete_mailbox(ref, address)  # already gone: fine
    assert address not in {mailbox.address for mailbox in module.list_mailboxes(ref)}


@pytest.mark.parametrize("mailbox, message", [
    (NewMailbox(address="admin@{domain}", password="Bob-Passw0rd-1"), "user with this username already exists"),
    (NewMailbox(address="weak@{domain}", password="weak"), "password: This password is too short"),
    (NewMailbox(address="big@{domain}", password="Bob-Passw0rd-1", quota_mb=5000), "domain quota exceeded"),
    (NewMailbox(address="bob@elsewhere.example", password="Bob-Passw0rd-1"), "not an address in the domain"),
])
def test_mailboxes_modoboa_refuses_are_clear_permanent_errors(live, mailbox, message):
    mailbox = replace(mailbox, address=mailbox.address.format(domain=live.domain))
    with pytest.raises(ModuleError, match=message) as info:
        ModoboaModule().create_mailbox(service_ref(live), mailbox)
    assert info.value.permanent


def test_changing_a_mailbox_that_does_not_exist_says_so(live):
    with pytest.raises(ModuleError, match=f"no mailbox nobody@{live.domain}"):
        ModoboaModule().update_mailbox(service_ref(live), f"nobody@{live.domain}", MailboxChanges(enabled=False))


def test_aliases_create_list_update_delete(live):
    module, ref = ModoboaModule(), service_ref(live)
    sales = Alias(address=f"sales@{live.domain}", targets=(f"admin@{live.domain}", "boss@elsewhere.example"))
    assert module.create_alias(ref, sales) == sales
    with pytest.raises(ModuleError, match="This alias already exists"):
        module.create_alias(ref, sales)
    assert set(module.list_aliases(ref)) == {sales, Alias(f"postmaster@{live.domain}", (f"admin@{live.domain}",))}
    changed = Alias(address=sales.address, targets=("boss@elsewhere.example",), enabled=False)
    assert module.update_alias(ref, changed) == changed
    module.delete_alias(ref, sales.address)
    module.delete_alias(ref, sales.address)  # already gone: fine
    assert [alias.address for alias in module.list_aliases(ref)] == [f"postmaster@{live.domain}"]


def test_forwards_are_set_read_and_removed_and_are_not_listed_as_aliases(live):
    module, ref = ModoboaModule(), service_ref(live)
    admin = f"admin@{live.domain}"
    assert module.get_forward(ref, admin) == Forward(address=admin)
    forward = Forward(address=admin, targets=("me@elsewhere.example",))
    assert module.set_forward(ref, forward) == forward
    assert module.get_forward(ref, admin) == forward
    assert admin not in [alias.address for alias in module.list_aliases(ref)]
    with pytest.raises(ModuleError, match="only while keeping a copy"):
        module.set_forward(ref, Forward(address=admin, targets=("me@elsewhere.example",), keep_copy=False))
    module.set_forward(ref, Forward(address=admin))
    assert module.get_forward(ref, admin) == Forward(address=admin)


def test_modoboa_throttling_is_waited_out(live, api):
    """Modoboa allows 5 writes a second per endpoint: a burst of 8 gets 429s, which the client waits out."""
    module, ref = ModoboaModule(), service_ref(live)
    with recording() as exchanges:
        for number in range(8):
            module.update_mailbox(ref, f"admin@{live.domain}", MailboxChanges(name=f"Admin {number}"))
    assert 429 in [exchange["status"] for exchange in exchanges]
    assert find_row(api, "accounts/", "username", f"admin@{live.domain}")["last_name"] == "7"


def test_an_action_on_a_service_whose_domain_is_missing_is_a_permanent_error(modoboa_server, new_domain):
    ref = ServiceRef(id=0, domain=new_domain(), server=server_ref(modoboa_server))
    with pytest.raises(ModuleError, match="does not exist on the Modoboa server") as info:
        ModoboaModule().suspend(ref, reason="manual")
    assert info.value.permanent


def test_change_package_gives_the_domain_the_new_products_quotas(live, api):
    from tests.factories import ProductFactory

    bigger = ProductFactory(module="modoboa", module_options={"domain_quota_mb": 2000, "mailbox_quota_mb": 200})
    Service.objects.filter(pk=live.pk).update(product=bigger)
    live.refresh_from_db()
    lifecycle.service_change_package(service=live, actor=ACTOR)
    domain = domain_on(api, live)
    assert (domain["quota"], domain["default_mailbox_quota"], domain["enabled"]) == ("2000", "200", True)
    call = ModuleCall.objects.filter(action="change_package").get()
    assert call.success and "domain quota 2000 MB, mailboxes 200 MB" in call.response_summary
