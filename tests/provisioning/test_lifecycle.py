"""The service transition functions: allowed moves, module calls, audit, and what a module error leaves behind."""
import pytest

from billing.models import Service
from portal.activity import Actor
from portal.models import ActivityLog
from provisioning import lifecycle
from provisioning.models import ModuleCall
from provisioning.modules.base import ModuleError
from provisioning.modules.fake import FakeModule
from tests.factories import ProductFactory, ServerFactory, ServerGroupFactory, ServiceFactory, StaffFactory

S = Service.Status
pytestmark = pytest.mark.django_db


@pytest.fixture
def actor():
    return Actor.staff(StaffFactory())


def fake_service(status=S.PENDING, **product_kwargs):
    return ServiceFactory(status=status, product=ProductFactory(module="fake", **product_kwargs))


def provisioned(status=S.ACTIVE, **product_kwargs):
    """A service that exists on the fake provider in the given state."""
    service = fake_service(**product_kwargs)
    lifecycle.service_create(service=service, actor=Actor.system("setup"))
    if status == S.SUSPENDED:
        lifecycle.service_suspend(service=service, actor=Actor.system("setup"), reason=Service.SuspendReason.MANUAL)
    FakeModule.calls.clear()
    ModuleCall.objects.all().delete()
    return service


def test_create_without_module_changes_status_and_logs(actor):
    service = ServiceFactory(status=S.PENDING)
    lifecycle.service_create(service=service, actor=actor)
    service.refresh_from_db()
    assert service.status == S.ACTIVE
    entry = ActivityLog.objects.get()
    assert (entry.action, entry.actor_label, entry.client_id) == ("service.create", actor.label, service.client_id)
    assert entry.data == {"from": "pending", "to": "active"}
    assert ModuleCall.objects.count() == 0


def test_create_with_module_provisions_and_records_the_call(actor):
    service = fake_service()
    lifecycle.service_create(service=service, actor=actor)
    service.refresh_from_db()
    assert service.status == S.ACTIVE
    assert FakeModule.calls == [("create", service.domain)]
    assert FakeModule.domains[service.domain].status == "active"
    assert service.module_data == {"fake_id": service.domain}
    call = ModuleCall.objects.get()
    assert (call.action, call.success, call.awaiting_retry, call.service_id) == ("create", True, False, service.pk)


def test_create_picks_the_least_full_enabled_server_of_the_products_group(actor):
    busy, idle, disabled = ServerFactory(), ServerFactory(), ServerFactory(enabled=False)
    group = ServerGroupFactory()
    group.servers.set([busy, idle, disabled])
    ServiceFactory(server=busy, status=S.ACTIVE)
    service = ServiceFactory(status=S.PENDING, product=ProductFactory(module="fake", server_group=group))
    lifecycle.service_create(service=service, actor=actor)
    service.refresh_from_db()
    assert service.server == idle


def test_create_fails_cleanly_when_the_group_has_no_room(actor):
    full = ServerFactory(capacity=1)
    group = ServerGroupFactory()
    group.servers.set([full])
    ServiceFactory(server=full, status=S.ACTIVE)
    service = ServiceFactory(status=S.PENDING, product=ProductFactory(module="fake", server_group=group))
    with pytest.raises(ModuleError, match="No enabled server with free capacity"):
        lifecycle.service_create(service=service, actor=actor)
    service.refresh_from_db()
    assert (service.status, service.server) == (S.PENDING, None)
    assert FakeModule.calls == []
    assert ModuleCall.objects.get().awaiting_retry is True


def test_suspend_remembers_reason_and_mode_and_unsuspend_clears_them(actor):
    service = provisioned()
    lifecycle.service_suspend(service=service, actor=actor, reason=Service.SuspendReason.OVERDUE, mode="gateway")
    service.refresh_from_db()
    assert (service.status, service.suspend_reason, service.suspend_mode) == (S.SUSPENDED, "overdue", "gateway")
    assert service.suspended_at is not None
    assert FakeModule.domains[service.domain].status == "suspended"

    lifecycle.service_unsuspend(service=service, actor=actor)
    service.refresh_from_db()
    assert (service.status, service.suspend_reason, service.suspend_mode, service.suspended_at) == (S.ACTIVE, "", "", None)
    assert FakeModule.domains[service.domain].status == "active"
    assert [e.action for e in ActivityLog.objects.order_by("id")][-2:] == ["service.suspend", "service.unsuspend"]


def test_unsuspend_hands_the_module_the_mode_used_to_suspend(actor, monkeypatch):
    service = provisioned(S.SUSPENDED)
    Service.objects.filter(pk=service.pk).update(suspend_mode="extension")
    seen = []
    monkeypatch.setattr(FakeModule, "unsuspend", lambda self, ref: seen.append(ref.suspend_mode) or lifecycle.ActionResult())
    lifecycle.service_unsuspend(service=service, actor=actor)
    assert seen == ["extension"]


def test_module_error_leaves_the_status_and_queues_a_retry(actor):
    service = provisioned()
    FakeModule.fail_next("suspend", "Connection timed out")
    with pytest.raises(ModuleError, match="Connection timed out"):
        lifecycle.service_suspend(service=service, actor=actor, reason=Service.SuspendReason.OVERDUE)
    service.refresh_from_db()
    assert (service.status, service.suspend_reason) == (S.ACTIVE, "")
    failed = ModuleCall.objects.get()
    assert (failed.success, failed.awaiting_retry, failed.error) == (False, True, "Connection timed out")
    entry = ActivityLog.objects.filter(action__startswith="service.suspend").get()
    assert entry.action == "service.suspend_failed"
    assert "Connection timed out" in entry.message

    # The next attempt succeeds and takes the failure out of the retry queue.
    lifecycle.service_suspend(service=service, actor=actor, reason=Service.SuspendReason.OVERDUE)
    service.refresh_from_db()
    assert service.status == S.SUSPENDED
    assert ModuleCall.objects.filter(awaiting_retry=True).count() == 0
    assert ModuleCall.objects.filter(success=True).count() == 1


@pytest.mark.parametrize(
    "status, transition, kwargs",
    [
        (S.PENDING, lifecycle.service_suspend, {"reason": "manual"}),
        (S.ACTIVE, lifecycle.service_unsuspend, {}),
        (S.ACTIVE, lifecycle.service_create, {}),
        (S.TERMINATED, lifecycle.service_terminate, {}),
        (S.CANCELLED, lifecycle.service_change_password, {"new_password": "x"}),
        (S.TERMINATED, lifecycle.service_cancel, {}),
    ],
)
def test_an_action_not_allowed_from_the_status_changes_nothing(actor, status, transition, kwargs):
    service = fake_service(status=status)
    with pytest.raises(lifecycle.InvalidTransition, match="the service is"):
        transition(service=service, actor=actor, **kwargs)
    service.refresh_from_db()
    assert service.status == status
    assert FakeModule.calls == []
    assert ActivityLog.objects.count() == 0
    assert ModuleCall.objects.count() == 0


def test_unknown_suspend_reason_is_refused(actor):
    with pytest.raises(ValueError, match="Unknown suspend reason"):
        lifecycle.service_suspend(service=provisioned(), actor=actor, reason="because")


@pytest.mark.parametrize("option, expected_kept", [(True, False), (False, True)])
def test_terminate_follows_the_products_delete_data_option(actor, option, expected_kept):
    service = provisioned(S.SUSPENDED, module_options={lifecycle.DELETE_DATA_OPTION: option})
    lifecycle.service_terminate(service=service, actor=actor)
    service.refresh_from_db()
    assert service.status == S.TERMINATED and service.terminated_at is not None
    assert FakeModule.domains[service.domain].status == "deleted"
    assert FakeModule.domains[service.domain].files_kept is expected_kept


def test_terminate_with_explicit_delete_data_overrides_the_product(actor):
    service = provisioned(module_options={lifecycle.DELETE_DATA_OPTION: False})
    lifecycle.service_terminate(service=service, actor=actor, delete_data=True)
    assert FakeModule.domains[service.domain].files_kept is False
    assert ActivityLog.objects.get(action="service.terminate").data["delete_data"] is True


def test_cancel_pending_calls_no_module_and_cancel_active_removes_it(actor):
    pending = fake_service()
    lifecycle.service_cancel(service=pending, actor=actor)
    assert FakeModule.calls == []
    active = provisioned()
    lifecycle.service_cancel(service=active, actor=actor)
    assert FakeModule.calls == [("terminate", active.domain)]
    assert {s.status for s in Service.objects.filter(pk__in=[pending.pk, active.pk])} == {S.CANCELLED}


def test_change_password_stores_it_encrypted_and_sets_it_on_the_provider(actor):
    service = provisioned()
    lifecycle.service_change_password(service=service, actor=actor, new_password="N3w-secret-pass")
    service.refresh_from_db()
    assert service.password == "N3w-secret-pass"
    assert FakeModule.domains[service.domain].password == "N3w-secret-pass"
    raw = Service.objects.filter(pk=service.pk).values_list("password", flat=True)
    assert "N3w-secret-pass" not in ActivityLog.objects.get(action="service.change_password").message
    assert service.status == S.ACTIVE
    assert raw.exists()


def test_the_callers_instance_reflects_the_new_state(actor):
    service = ServiceFactory(status=S.ACTIVE)
    returned = lifecycle.service_suspend(service=service, actor=actor, reason="manual")
    assert returned is service
    assert service.status == S.SUSPENDED
