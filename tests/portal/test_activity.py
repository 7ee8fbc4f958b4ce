import pytest

from portal.activity import Actor, build_entry, log_activities, log_activity
from portal.models import ActivityLog
from tests.factories import ServiceFactory, StaffFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_an_entry_records_actor_target_and_client():
    staff = StaffFactory(username="maria")
    service = ServiceFactory()
    entry = log_activity(actor=Actor.staff(staff, ip_address="10.0.0.5"), action="service.note", target=service,
                         message="Checked DNS", data={"ok": True})
    entry.refresh_from_db()
    assert (entry.actor_type, entry.actor_label, entry.actor_user) == ("staff", "maria", staff)
    assert (entry.client_id, entry.target, entry.target_repr) == (service.client_id, service, str(service))
    assert (entry.ip_address, entry.data) == ("10.0.0.5", {"ok": True})


def test_impersonation_names_both_the_staff_member_and_the_client_user():
    staff, user = StaffFactory(username="maria"), UserFactory(username="alice@example.com")
    actor = Actor.client(user, impersonated_by=staff)
    entry = log_activity(actor=actor, action="client.login", message="x")
    assert (entry.actor_label, entry.actor_user, entry.impersonated_by) == ("maria as alice@example.com", user, staff)


def test_entries_are_append_only():
    entry = log_activity(actor=Actor.system("automation"), action="x", message="first")
    entry.message = "rewritten"
    with pytest.raises(ValueError, match="append-only"):
        entry.save()
    assert ActivityLog.objects.get().message == "first"


def test_bulk_logging_writes_all_entries_in_one_query(django_assert_num_queries):
    services = ServiceFactory.create_batch(3)
    actor = Actor.system("automation")
    entries = [build_entry(actor=actor, action="service.suspend", target=s, message="m") for s in services]
    with django_assert_num_queries(1):
        log_activities(entries)
    assert sorted(ActivityLog.objects.values_list("client_id", flat=True)) == sorted(s.client_id for s in services)
