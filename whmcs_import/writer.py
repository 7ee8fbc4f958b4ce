"""Writing in sets: the WHMCS-id mapping, and `sync`, which creates the rows met for the first time and updates
only the rows whose values changed since the last run — in chunks, with bulk_create/bulk_update and dict lookups,
never a query per row."""
import sys
import time
from itertools import islice

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
        ImportedRecord.objects.bulk_create(
            (ImportedRecord(source=source, whmcs_id=whmcs_id, local_id=pk, fingerprint=fingerprints.get(whmcs_id, ""))
             for whmcs_id, pk in pairs), batch_size=5000)
        known.update(pairs)
        if source in self._fingerprints:
            self._fingerprints[source].update({w: fingerprints.get(w, "") for w, _ in pairs})


class Keep:
    """A value for creating a row that an existing row does not take: a stand-in (e.g. the import's time for a
    WHMCS zero date) that a re-run must not rewrite."""

    __slots__ = ("value",)

    def __init__(self, value):
        self.value = value


def sync(run, model, source, records, fields, *, create_only=None, merge=()):
    """Create or update `model` rows from `records`, a list of (WHMCS id, {field: value}) with every field of
    `fields` (attnames, e.g. client_id). `create_only` gives per-WHMCS-id values used only when creating; the JSON
    fields named in `merge` keep the keys the portal added since (the import's keys win).
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
            to_create.append((whmcs_id, model(**values, **extra)))
    if to_update:
        model.objects.bulk_update(to_update, fields, batch_size=BATCH)
    if to_create:
        model.objects.bulk_create([obj for _, obj in to_create], batch_size=BATCH)
        run.mapping.put(source, [(whmcs_id, obj.pk) for whmcs_id, obj in to_create])
        result.update((whmcs_id, obj.pk) for whmcs_id, obj in to_create)
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
            to_create.append(model(**row))
        elif found[1] != tuple(row[name] for name in value_fields):
            to_update.append(model(pk=found[0], **row))
    model.objects.bulk_create(to_create, batch_size=BATCH)
    if to_update:
        model.objects.bulk_update(to_update, list(value_fields), batch_size=BATCH)
    gone = [pk for key, (pk, _) in existing.items() if key not in wanted] if delete_missing else []
    for batch in chunked(gone, READ_BATCH):
        model.objects.filter(pk__in=batch).delete()
    return len(to_create), len(to_update), len(gone)


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
