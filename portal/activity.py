"""Who acted, and the one way to write the audit log.

Every service function takes `actor=` (keyword-only) and passes it here, so each entry says who did it:
a staff member, a client user (and the staff member impersonating them, if any), a system task or an API key.
"""
from dataclasses import dataclass, field

from django.contrib.contenttypes.models import ContentType

from portal.models import ActivityLog, Client
from portal.network import client_ip


@dataclass(frozen=True)
class Actor:
    type: str
    label: str
    user: object = None
    impersonated_by: object = None
    ip_address: str | None = field(default=None, compare=False)

    @classmethod
    def staff(cls, user, *, ip_address=None):
        return cls(ActivityLog.ActorType.STAFF, user.get_username(), user, ip_address=ip_address)

    @classmethod
    def client(cls, user, *, impersonated_by=None, ip_address=None):
        label = user.get_username()
        if impersonated_by is not None:
            label = f"{impersonated_by.get_username()} as {label}"
        return cls(ActivityLog.ActorType.CLIENT, label, user, impersonated_by, ip_address)

    @classmethod
    def system(cls, task_name):
        return cls(ActivityLog.ActorType.SYSTEM, f"system:{task_name}")

    @classmethod
    def api(cls, key_name, *, ip_address=None):
        return cls(ActivityLog.ActorType.API, f"api:{key_name}", ip_address=ip_address)

    @classmethod
    def from_request(cls, request):
        """The actor behind a web request: staff in the admin, a client (maybe impersonated) elsewhere."""
        ip = client_ip(request)
        impersonator = getattr(request, "impersonator", None)
        if request.user.is_staff and impersonator is None:
            return cls.staff(request.user, ip_address=ip)
        return cls.client(request.user, impersonated_by=impersonator, ip_address=ip)


def build_entry(*, actor, action, message, target=None, client=None, data=None):
    """An unsaved entry; `log_activity` saves one, `log_activities` saves many in one query."""
    return ActivityLog(
        actor_type=actor.type,
        actor_label=actor.label[:150],
        actor_user=actor.user,
        impersonated_by=actor.impersonated_by,
        ip_address=actor.ip_address,
        action=action,
        client_id=client.pk if client is not None else _client_id_of(target),
        target_type=ContentType.objects.get_for_model(target) if target is not None else None,
        target_id=str(target.pk) if target is not None else "",
        target_repr=str(target)[:200] if target is not None else "",
        message=message,
        data=data or {},
    )


def log_activity(*, actor, action, message, target=None, client=None, data=None):
    entry = build_entry(actor=actor, action=action, message=message, target=target, client=client, data=data)
    entry.save(force_insert=True)
    return entry


def log_activities(entries):
    ActivityLog.objects.bulk_create(entries, batch_size=1000)


def _client_id_of(target):
    """The client an entry is about, read from the target without a query."""
    if isinstance(target, Client):
        return target.pk
    return getattr(target, "client_id", None)
