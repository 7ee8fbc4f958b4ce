"""The one way a service changes some fields of a row and audits it: compare, set, save only what changed, and log
one entry with the changed fields (old → new). Clients' profiles, contacts and billable items all come here.
And rows_update: one prepared UPDATE for a batch of rows that each get their own values."""
from django.db import connection

from portal.activity import log_activity


def model_update(*, instance, changes, actor, action, message, fields=None, clean=None, show=None, client=None):
    """Apply `changes` (field → new value) to `instance`; save and audit only when something changed.

    fields:  the names that may be changed (any other raises ValueError before anything is set);
    clean:   called with the instance once the values are set (it validates, and may normalise values);
    show:    how a value is written in the log (as it is, by default; `str` for dates and amounts);
    message: the log message, a callable given (instance, sorted changed names) or a string with `{fields}`;
    client:  the client the entry is about, when the target does not say it.

    The saved fields are the changed ones, and `updated_at` when the model has it. The log entry's data is
    {"changes": {name: [old, new]}}. Returns the instance (unsaved when nothing changed)."""
    if fields is not None:
        unknown = [name for name in changes if name not in fields]
        if unknown:
            raise ValueError(f"Not editable: {', '.join(sorted(unknown))}")
    show = show or (lambda value: value)
    before = {name: getattr(instance, name) for name in changes}
    for name, value in changes.items():
        setattr(instance, name, value)
    if clean is not None:
        clean(instance)
    diff = {name: [show(before[name]), show(getattr(instance, name))]
            for name in changes if before[name] != getattr(instance, name)}
    if not diff:
        return instance
    update_fields = list(diff)
    if any(f.name == "updated_at" for f in instance._meta.concrete_fields) and "updated_at" not in diff:
        update_fields.append("updated_at")
    instance.save(update_fields=update_fields)
    names = sorted(diff)
    text = message(instance, names) if callable(message) else message.format(fields=", ".join(names))
    log_activity(actor=actor, action=action, target=instance, client=client, message=text, data={"changes": diff})
    return instance


def rows_update(model, field_names, rows):
    """One prepared `UPDATE … SET f = %s, … WHERE pk = %s`, run for every row: `rows` are (pk, value per field).
    For batches of rows that each get their own values: bulk_update's CASE per row costs seconds per thousand rows.
    Values are prepared for the database by their fields, as the ORM would."""
    meta, quote = model._meta, connection.ops.quote_name
    fields = [meta.get_field(name) for name in field_names]
    sql = (f"UPDATE {quote(meta.db_table)} SET {', '.join(f'{quote(f.column)} = %s' for f in fields)} "
           f"WHERE {quote(meta.pk.column)} = %s")
    params = [[field.get_db_prep_value(value, connection) for field, value in zip(fields, values)] + [pk]
              for pk, *values in rows]
    with connection.cursor() as cursor:
        cursor.executemany(sql, params)
