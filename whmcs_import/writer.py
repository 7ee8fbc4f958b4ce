"""Writing in sets: the WHMCS-id mapping, and `sync`, which creates the rows met for the first time and updates
only the rows whose values changed since the last run — in chunks, with bulk_create/bulk_update and dict lookups,
never a query per row."""
import sys
import time
from decimal import Decimal
from itertools import islice

from django.db import connection, models
from django.utils import timezone

from portal.encryption import EncryptedTextField
from whmcs_import.models import ImportedRecord

BATCH = 1000
READ_BATCH = 5000


def chunked(items, size):
    iterator = iter(items)
    while batch := list(islice(iterator, size)):
        yield batch


class Mapping:
    """WHMCS id → portal pk, per WHMCS table, loaded once per table and kept up to date as rows are created."""

    def __init__(self):
        self._maps = {}
        self._fingerprints = {}

    def of(self, source):
        if source not in self._maps:
            self._maps[source] = dict(ImportedRecord.objects.filter(source=source).values_list("whmcs_id", "local_id"))
        return self._maps[source]

    def fingerprints(self, source):
        if source not in self._fingerprints:
            self._fingerprints[source] = dict(
                ImportedRecord.objects.filter(source=source).values_list("whmcs_id", "fingerprint"))
        return self._fingerprints[source]

    def get(self, source, whmcs_id):
        return self.of(source).get(str(whmcs_id))

    def put(self, source, pairs, fingerprints=None):
        """Record (whmcs_id, local pk) pairs: new ones inserted, ones that pointed at a row since deleted replaced."""
        known = self.of(source)
        fingerprints = fingerprints or {}
        stale = [whmcs_id for whmcs_id, _ in pairs if whmcs_id in known]
        if stale:
            for batch in chunked(stale, READ_BATCH):
                ImportedRecord.objects.filter(source=source, whmcs_id__in=batch).delete()
        insert_rows(ImportedRecord, [{"source": source, "whmcs_id": whmcs_id, "local_id": pk,
                                      "fingerprint": fingerprints.get(whmcs_id, "")} for whmcs_id, pk in pairs],
                    returning=False)
        known.update(pairs)
        if source in self._fingerprints:
            self._fingerprints[source].update({w: fingerprints.get(w, "") for w, _ in pairs})


class Keep:
    """A value for creating a row that an existing row does not take: a stand-in (e.g. the import's time for a
    WHMCS zero date) that a re-run must not rewrite."""

    __slots__ = ("value",)

    def __init__(self, value):
        self.value = value


def sync(run, model, source, records, fields, *, create_only=None, merge=(), fingerprints=None):
    """Create or update `model` rows from `records`, a list of (WHMCS id, {field: value}) with every field of
    `fields` (attnames, e.g. client_id). `create_only` gives per-WHMCS-id values used only when creating; the JSON
    fields named in `merge` keep the keys the portal added since (the import's keys win); `fingerprints` are
    recorded with the mapping of the rows created.
    Returns {WHMCS id: pk} for the records, and counts created/updated/unchanged in the report."""
    merged = [(fields.index(name), name) for name in merge]
    mapping = run.mapping.of(source)
    known_pks = [mapping[whmcs_id] for whmcs_id, _ in records if whmcs_id in mapping]
    current = {}
    for batch in chunked(known_pks, READ_BATCH):
        current.update((row[0], row[1:]) for row in model.objects.filter(pk__in=batch).values_list("pk", *fields))
    to_create, to_update, result = [], [], {}
    for whmcs_id, values in records:
        pk = mapping.get(whmcs_id)
        if pk is not None and pk in current:
            result[whmcs_id] = pk
            for index, name in enumerate(fields):
                if isinstance(values[name], Keep):
                    values[name] = current[pk][index]
            for index, name in merged:
                values[name] = {**(current[pk][index] or {}), **values[name]}
            if current[pk] != tuple(values[name] for name in fields):
                to_update.append(model(pk=pk, **values))
        else:
            extra = create_only.get(whmcs_id, {}) if create_only else {}
            values = {name: value.value if isinstance(value, Keep) else value for name, value in values.items()}
            to_create.append((whmcs_id, {**values, **extra}))
    if to_update:
        model.objects.bulk_update(to_update, fields, batch_size=BATCH)
    if to_create:
        pks = insert_rows(model, [values for _, values in to_create])
        created = [(whmcs_id, pk) for (whmcs_id, _), pk in zip(to_create, pks)]
        run.mapping.put(source, created, fingerprints)
        result.update(created)
        run.created.setdefault(source, set()).update(whmcs_id for whmcs_id, _ in created)
    run.report.count(source, "created", len(to_create))
    run.report.count(source, "updated", len(to_update))
    run.report.count(source, "unchanged", len(records) - len(to_create) - len(to_update))
    return result


def sync_by_key(model, rows, key_fields, value_fields, *, existing_filter, delete_missing=True):
    """Upsert rows identified by a natural key (e.g. a price: product, currency, cycle) among the rows that
    `existing_filter` selects; rows of that selection no longer wanted are deleted. Returns (created, updated,
    deleted)."""
    existing = {}
    for row in model.objects.filter(**existing_filter).values_list("pk", *key_fields, *value_fields):
        existing[tuple(row[1:1 + len(key_fields)])] = (row[0], tuple(row[1 + len(key_fields):]))
    to_create, to_update, wanted = [], [], set()
    for row in rows:
        key = tuple(row[name] for name in key_fields)
        wanted.add(key)
        found = existing.get(key)
        if found is None:
            to_create.append(row)
        elif found[1] != tuple(row[name] for name in value_fields):
            to_update.append(model(pk=found[0], **row))
    insert_rows(model, to_create, returning=False)
    if to_update:
        model.objects.bulk_update(to_update, list(value_fields), batch_size=BATCH)
    gone = [pk for key, (pk, _) in existing.items() if key not in wanted] if delete_missing else []
    for batch in chunked(gone, READ_BATCH):
        model.objects.filter(pk__in=batch).delete()
    return len(to_create), len(to_update), len(gone)


def _converter(field):
    """How one field's Python value becomes the driver's value, chosen once per column (not per value, as
    bulk_create's compiler does: that per-value work was most of the import's time)."""
    ops = connection.ops
    if isinstance(field, EncryptedTextField) or isinstance(field, models.JSONField):
        return lambda value: field.get_db_prep_save(value, connection)
    if isinstance(field, models.DateTimeField):
        return ops.adapt_datetimefield_value
    if isinstance(field, models.DateField):
        return ops.adapt_datefield_value
    if isinstance(field, models.DecimalField):
        return lambda value: ops.adapt_decimalfield_value(value, field.max_digits, field.decimal_places)
    return None


def insert_rows(model, rows, *, returning=True):
    """INSERT `rows` (dicts of attname → value, all with the same keys) in multi-row statements, the fields they
    leave out taking their defaults; returns the new primary keys in order (INSERT … RETURNING: MariaDB 10.5+,
    SQLite 3.35+, the order Django's bulk_create relies on too)."""
    if not rows:
        return []
    given = list(rows[0])
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    by_attname = {f.attname: f for f in fields}
    now = timezone.now()
    defaults = {}
    for field in fields:
        if field.attname not in given:
            value = now if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False) else field.get_default()
            defaults[field.attname] = field.get_db_prep_save(value, connection)
    columns = given + list(defaults)
    converters = [_converter(by_attname[name]) for name in given]
    quote = connection.ops.quote_name
    head = (f"INSERT INTO {quote(model._meta.db_table)} ({', '.join(quote(by_attname[c].column) for c in columns)}) "
            "VALUES ")
    tail = f" RETURNING {quote(model._meta.pk.column)}" if returning else ""
    row_sql = "(" + ", ".join(["%s"] * len(columns)) + ")"
    constant = tuple(defaults.values())
    per_statement = max(1, min(BATCH, 30000 // len(columns)))  # SQLite allows 32,766 parameters a statement
    pks = []
    inline = connection.vendor == "mysql" and "NO_BACKSLASH_ESCAPES" not in connection.sql_mode
    with connection.cursor() as cursor:
        for batch in chunked(rows, per_statement):
            params = []
            for row in batch:
                params.extend(value if convert is None or value is None else convert(value)
                              for value, convert in zip((row[name] for name in given), converters))
                params.extend(constant)
            if inline:
                # MySQLdb would quote each of the statement's thousands of parameters through its generic
                # literal(); the values here are of a few known types, quoted directly (mysql_literal).
                width = len(columns)
                literals = [mysql_literal(value) for value in params]
                values = ", ".join("(" + ", ".join(literals[i:i + width]) + ")" for i in range(0, len(literals), width))
                cursor.execute(head + values + tail)
            else:
                cursor.execute(head + ", ".join([row_sql] * len(batch)) + tail, params)
            if returning:
                pks.extend(pk for (pk,) in cursor.fetchall())
    return pks


# MariaDB string-literal escapes (the characters mysql_real_escape_string escapes); the connection is utf8mb4 and
# runs without NO_BACKSLASH_ESCAPES (Django's MySQL backend does not set it).
_ESCAPES = str.maketrans({"\\": "\\\\", "'": "\\'", '"': '\\"', "\0": "\\0", "\n": "\\n", "\r": "\\r",
                          "\x1a": "\\Z"})


def mysql_literal(value):
    """An SQL literal for MariaDB of the values insert_rows passes (after the fields' own conversion)."""
    if value is None:
        return "NULL"
    if value is True or value is False:
        return "1" if value else "0"
    if isinstance(value, (int, Decimal)):
        return str(value)
    if isinstance(value, (bytes, bytearray)):
        value = value.decode()
    return "'" + str(value).translate(_ESCAPES) + "'"


class Progress:
    """A one-line progress display on stderr for the long steps: only on a terminal, or when asked (--progress)."""

    def __init__(self, enabled=None, stream=None):
        self.stream = stream or sys.stderr
        self.enabled = self.stream.isatty() if enabled is None else enabled
        self.name, self.total, self.done, self.started = "", 0, 0, 0.0

    def start(self, name, total):
        self.name, self.total, self.done, self.started = name, total, 0, time.monotonic()
        self._show()

    def advance(self, n):
        self.done += n
        self._show()

    def finish(self):
        if self.enabled and self.name:
            self.stream.write(f"\r{self.name}: {self.done}/{self.total} in {time.monotonic() - self.started:.1f}s\n")
            self.stream.flush()
        self.name = ""

    def _show(self):
        if self.enabled:
            percent = f" ({100 * self.done // self.total}%)" if self.total else ""
            self.stream.write(f"\r{self.name}: {self.done}/{self.total}{percent}")
            self.stream.flush()
