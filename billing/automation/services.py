"""Writes of the configuration tables (the automation settings and overwrite rules; voip's rates and settings use
the same): each save and delete is audited with the fields that changed (seed 001: "All configuration ... actions
are logged"). The staff pages (billing/automation/admin.py, voip/admin.py) call these."""
from django.db import transaction

from portal.activity import log_activity


@transaction.atomic
def configuration_save(*, obj, actor, action, changed_fields, created):
    """Save `obj` and log `<action>.create` or `<action>.change` with old → new of `changed_fields` (a change that
    changed nothing is not logged)."""
    before = None if created else type(obj).objects.filter(pk=obj.pk).first()
    obj.save()
    changes = {
        name: {"from": _plain(getattr(before, name, None)), "to": _plain(getattr(obj, name, None))}
        for name in changed_fields
    }
    if not created and not changes:
        return obj
    summary = ", ".join(f"{name}: {c['from']} → {c['to']}" for name, c in changes.items())
    log_activity(actor=actor, action=f"{action}.{'create' if created else 'change'}", target=obj,
                 message=f"{obj} {'created' if created else 'changed'}: {summary}", data={"changes": changes})
    return obj


@transaction.atomic
def configuration_delete(*, actor, action, obj=None, queryset=None):
    """Log `<action>.delete` for `obj` (or each row of `queryset`), then delete it (them)."""
    for row in [obj] if obj is not None else queryset:
        log_activity(actor=actor, action=f"{action}.delete", target=row, message=f"{row} deleted")
    (obj if obj is not None else queryset).delete()


def _plain(value):
    if value is None or isinstance(value, (bool, int, str)):
        return value
    return str(value)
