"""The CDR import pipeline: parse → normalise → match → rate → insert → debit (voip-rating.md steps 1–6).

Every way in — a scheduled fetch from a provider module, a Vodia push, a file staff upload — produces
CdrRecord/CdrError items (provisioning.telephony.cdrs) and hands them to `run_import`, which:

- matches each record to a service (voip.services.matching: dicts built once per import);
- rates it with the service's product deck and number rules (voip.rating; decks cached per package version);
- inserts the rows in chunks with `bulk_create(ignore_conflicts=True)` on the unique (source, external id): a
  record seen before is left as it was, so it is neither stored nor charged again;
- debits each PREPAID service's new calls as ONE ledger entry per import and service, summed in the database
  from the rows that carry this import's id — exactly the rows this batch inserted — under the idempotency key
  `cdr:<import id>:<service id>`, so posting again (a retry) adds nothing;
- leaves the calls of POSTPAID services (the product's billing mode, stored on each call) unbilled for the
  monthly usage invoice (voip.services.invoicing) and refreshes their clients' unbilled totals.

Importing the same data twice therefore changes nothing and charges nothing. A bad line is kept in the
import's report with its line number and reason while the good lines import. An import whose worker died
half-way is settled by `settle_stale_imports` (voip.jobs, every ten minutes, after VOIP_IMPORT_STALE_MINUTES
without progress): it is marked failed, the rows it inserted are charged under the same keys, and the next fetch
(or a new upload of the file) imports the rest. An error the worker catches settles its import at once the same
way (`abandon_import`). No import stays "running" after its worker is gone.
"""
import hashlib
import logging
from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings as django_settings
from django.db import connection, transaction
from django.db.models import Count, Q, Sum
from django.utils import timezone

from billing.models import CreditLedgerEntry, Service
from billing.services.ledger import ledger_post, lock_client
from provisioning.telephony.cdrs import EXTENSION_LEG, LOCAL, CdrError
from provisioning.telephony.numbers import DEFAULT_EXTENSION_DIGITS
from provisioning.telephony.text import printable
from voip.models import BillingMode, Cdr, CdrImport, CdrSource
from voip.money import exact_sum
from voip.rating.engine import IGNORED, INVALID, RATED, UNRATED, RatingResult
from voip.services.decks import products_with_settings, rater_for
from voip.services.matching import matcher_for
from voip.services.unbilled import refresh_unbilled

logger = logging.getLogger(__name__)

CHUNK = 2000  # rows per INSERT transaction, and per progress update
CHARGE_BATCH = 200  # ledger entries per transaction
MAX_ERRORS = 1000  # bad lines kept on an import (all are counted)
MAX_UNMATCHED_SAMPLE = 50
PRECISE_QUANTUM = Decimal("0.00000001")
UNMATCHED_REASON = "no service has this tenant, DID or extension"
PROVIDER_UNMATCHED = "unmatched:"  # a module's ignore reason for a call it could not place (LesNet direction)
NO_PACKAGE_REASON = "the product has no rate package"
S = CdrImport.Status


class ImportReport:
    """What an import saw, beyond the rows it stored."""

    def __init__(self):
        self.lines = 0
        self.parse_errors = 0
        self.errors = []
        self.error_count = 0

    def error(self, line, reason):
        self.error_count += 1
        if len(self.errors) < MAX_ERRORS:
            self.errors.append({"line": line, "reason": printable(reason)})


class ServiceRating:
    """Rates calls of services with their products' decks, time-of-day periods read in each service's client's
    time zone (step 10); raters are resolved once per product, zone and extension length. `product_of`:
    {service id: product id}; `zone_of`: {service id: client time zone name}, read here when the caller has not
    (the ServiceMatcher has); `extension_digits`: the longest extension of the calls' source (CdrSource)."""

    def __init__(self, product_of, zone_of=None, extension_digits=DEFAULT_EXTENSION_DIGITS):
        self.extension_digits = extension_digits
        self.product_of = product_of
        self.products = products_with_settings(product_of.values())
        self.zone_of = client_zones(product_of) if zone_of is None else zone_of
        self._raters = {}
        self._packaged = {}

    def postpaid(self, service_id):
        """Whether the service's calls are postpaid: its product's billing mode, as of now."""
        settings = self.products[self.product_of[service_id]][1]
        return settings is not None and settings.billing_mode == BillingMode.POSTPAID

    def result(self, service_id, record, extension_digits=None):
        """The RatingResult of `record` for the service; `extension_digits`: the record's source's longest
        extension, when not this rating's (re-rating calls of several sources)."""
        product_id = self.product_of[service_id]
        digits = self.extension_digits if extension_digits is None else extension_digits
        key = (product_id, self.zone_of.get(service_id, ""), digits)
        try:
            rater = self._raters[key]
        except KeyError:
            product, settings = self.products[product_id]
            try:
                rater = rater_for(product, settings, key[1], digits)
            except ValueError as exc:
                rater = f"the product's VoIP number settings or the client's time zone are invalid: {exc}"
            self._raters[key] = rater
            self._packaged[product_id] = settings is not None and settings.rate_package_id is not None
        if isinstance(rater, str):
            if record.ignore_reason or record.billsec == 0:
                return RatingResult(IGNORED, record.ignore_reason or "zero billable seconds (no connect fee)")
            return RatingResult(UNRATED, rater)
        result = rater.rate_record(record)
        if result.status == UNRATED and not self._packaged[product_id]:
            result.reason = NO_PACKAGE_REASON
        return result


ZONE_QUERY_CHUNK = 500  # service ids per query (SQLite limits the parameters of one statement)


def client_zones(service_ids):
    """{service id: its client's time zone name ("" for the business time zone)}, one query per 500 services."""
    ids = sorted(service_ids)
    zones = {}
    for start in range(0, len(ids), ZONE_QUERY_CHUNK):
        zones.update(Service.objects.filter(pk__in=ids[start:start + ZONE_QUERY_CHUNK])
                     .values_list("pk", "client__time_zone"))
    return zones


def start_import(*, source, kind, actor_user=None, **fields):
    now = timezone.now()
    return CdrImport.objects.create(
        source=source, kind=kind, status=S.RUNNING, started_at=now, heartbeat_at=now, created_by=actor_user, **fields
    )


def run_import(cdr_import, items, *, progress=None, matcher=None, extension_of=None):
    """Import `items` (CdrRecord/CdrError) into the running `cdr_import`, charge, and finish it.
    `progress()`, when given, returns the bytes read so far (for uploads). `matcher`: the source's
    ServiceMatcher when the caller has one. `extension_of(record)`: the call's extension, for formats with a
    column for it. Returns the finished CdrImport."""
    source = cdr_import.source
    matcher = matcher or matcher_for(source)
    rating = ServiceRating(matcher.product_of, matcher.zone_of, source.extension_digits)
    report = ImportReport()
    batch = []
    adapt_time = connection.ops.adapt_datetimefield_value
    rated_at = adapt_time(timezone.now())
    ids = (source.pk, cdr_import.pk)
    legs_named = False  # whether any record names its call (then its legs are linked at the end)
    for item in items:
        report.lines += 1
        if type(item) is CdrError:
            report.parse_errors += 1
            report.error(item.line, item.reason)
            continue
        legs_named = legs_named or bool(item.call_id)
        service_id = matcher.match(item, extension_of(item) if extension_of is not None else "")
        if item.ignore_reason.startswith(PROVIDER_UNMATCHED):  # e.g. LesNet: no DID of the peer in the call
            service_id, result = None, RatingResult(Cdr.Status.UNMATCHED, item.ignore_reason)
        elif service_id is None:
            result = RatingResult(Cdr.Status.UNMATCHED, UNMATCHED_REASON)
        if service_id is not None:
            result = rating.result(service_id, item)
            if result.status == INVALID:
                report.error(item.line, result.reason)
        postpaid = service_id is not None and rating.postpaid(service_id)
        batch.append(_cdr_row(ids, item, service_id, result, rated_at, adapt_time, postpaid))
        if len(batch) >= CHUNK:
            _insert(batch)
            batch = []
            _progress(cdr_import, report, progress)
    if batch:
        _insert(batch)
    if legs_named:
        hide_internal_legs(cdr_import)
    return finish_import(cdr_import, report)


#: The columns `_cdr_row` fills, in order.
CDR_COLUMNS = (
    "source_id", "external_id", "cdr_import_id", "service_id", "direction", "account", "caller", "callee", "number",
    "e164", "answer_time", "billsec", "disposition", "billed_seconds", "prefix", "destination", "cost",
    "precise_cost", "status", "reason", "line", "rated_at", "postpaid", "call_id", "internal_leg",
)


def _cdr_row(ids, record, service_id, result, rated_at, adapt_time, postpaid=False):
    """One Cdr row as a tuple of CDR_COLUMNS, values as the database takes them. `ids`: (source id, import id)."""
    rate = result.rate
    status = result.status
    answer_time = record.answer_time
    return (
        ids[0], _external_id(record.external_id), ids[1], service_id, record.direction, (record.account or "")[:100],
        (record.caller or "")[:64], (record.callee or "")[:64], (record.number or "")[:64], result.e164,
        adapt_time(answer_time) if answer_time is not None else None, record.billsec,
        (record.disposition or "")[:40], result.billed_seconds, rate.prefix if rate is not None else "",
        rate.destination[:120] if rate is not None else "", result.cost, stored_precise_cost(result), status,
        result.reason[:200], record.line, rated_at if status == RATED else None, postpaid,
        _external_id(record.call_id), record.internal_leg,
    )


def stored_precise_cost(result):
    """The unrounded cost as stored: 8 places (voip-rating.md step 5 asks for at least 6)."""
    if not result.charged:
        return Decimal(0)
    return result.precise_cost.quantize(PRECISE_QUANTUM, rounding=ROUND_HALF_UP)


def _external_id(external_id):
    """The id as the provider sent it; one longer than the column is replaced by its hash (still unique)."""
    if len(external_id) <= 100:
        return external_id
    return "sha256:" + hashlib.sha256(external_id.encode("utf-8", "surrogateescape")).hexdigest()


def _insert(rows):
    """INSERT the rows, skipping those whose (source, external id) is stored already, in one statement per chunk.
    The ORM's bulk_create(ignore_conflicts=True) does the same but spends most of the import compiling its
    SQL (docs/benchmarks.md); this is the statement it would send."""
    quote = connection.ops.quote_name
    columns = ", ".join(quote(name) for name in CDR_COLUMNS)
    values = ", ".join(["%s"] * len(CDR_COLUMNS))
    table = quote(Cdr._meta.db_table)
    if connection.vendor == "mysql":
        sql = f"INSERT IGNORE INTO {table} ({columns}) VALUES ({values})"
    elif connection.vendor == "sqlite":
        sql = f"INSERT OR IGNORE INTO {table} ({columns}) VALUES ({values})"
    else:
        sql = f"INSERT INTO {table} ({columns}) VALUES ({values}) ON CONFLICT DO NOTHING"
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.executemany(sql, rows)


CALL_WINDOW = timedelta(days=1)  # how far apart the answer times of two legs of one call may be


def hide_internal_legs(cdr_import):
    """Flag the local legs of calls that have an external leg as internal legs, so that the client's call records
    show each call once: its external (trunk) leg, not also its extension leg. Vodia sends one record per leg;
    the legs of a call share its PrimaryCallID (`call_id`), and the call's first leg — often the extension's —
    has that id as its own (`external_id`). The legs arrive in any order, in separate pushes:

    - an external leg stored by this import hides its call's first leg if that is local (found by the unique
      (source, external id) key, whether stored before or now);
    - a local leg stored by this import is hidden when an external leg of its call was stored before (looked
      up among its service's calls of the same day or so, by the (service, answer time) index).

    A local leg whose call has no external leg stays: a real extension-to-extension call (the "Local" filter)."""
    source_id = cdr_import.source_id
    stored = Cdr.objects.filter(cdr_import=cdr_import).exclude(call_id="")
    outside = stored.exclude(direction=LOCAL).values_list("call_id", flat=True)
    first_legs = set(outside)
    if first_legs:
        _hide(Cdr.objects.filter(source_id=source_id, direction=LOCAL, internal_leg=False, external_id__in=first_legs))
    local = list(stored.filter(direction=LOCAL, internal_leg=False, service__isnull=False, answer_time__isnull=False)
                 .values_list("pk", "call_id", "service_id", "answer_time"))
    if not local:
        return
    times = [row[3] for row in local]
    joined = set(
        Cdr.objects.filter(service_id__in={row[2] for row in local}, answer_time__gte=min(times) - CALL_WINDOW,
                           answer_time__lt=max(times) + CALL_WINDOW, call_id__in={row[1] for row in local})
        .exclude(direction=LOCAL).values_list("call_id", flat=True)
    )
    _hide(Cdr.objects.filter(pk__in=[row[0] for row in local if row[1] in joined]))


def _hide(legs):
    legs.update(internal_leg=True, reason=EXTENSION_LEG)


def _progress(cdr_import, report, progress):
    changes = {"lines_read": report.lines, "heartbeat_at": timezone.now()}
    if progress is not None:
        changes["bytes_done"] = progress()
    CdrImport.objects.filter(pk=cdr_import.pk).update(**changes)


def finish_import(cdr_import, report, *, status=S.DONE):
    """Count what the import stored, charge it, and mark it finished."""
    counts = dict(
        Cdr.objects.filter(cdr_import=cdr_import).values_list("status").annotate(n=Count("id")).order_by()
    )
    inserted = sum(counts.values())
    records = report.lines - report.parse_errors
    charged = post_charges(cdr_import)
    fields = {
        "status": status, "finished_at": timezone.now(), "lines_read": report.lines, "inserted": inserted,
        "duplicates": max(records - inserted, 0), "rated": counts.get(RATED, 0), "unrated": counts.get(UNRATED, 0),
        "ignored": counts.get(IGNORED, 0), "invalid": counts.get(INVALID, 0) + report.parse_errors,
        "unmatched": counts.get(Cdr.Status.UNMATCHED, 0), "charged": charged, "errors": report.errors,
        "error_count": report.error_count, "unmatched_sample": unmatched_sample(cdr_import),
    }
    if status == S.DONE and cdr_import.bytes_total:
        fields["bytes_done"] = cdr_import.bytes_total
    CdrImport.objects.filter(pk=cdr_import.pk).update(**fields)
    cdr_import.refresh_from_db()
    return cdr_import


def unmatched_sample(cdr_import):
    """The first unmatched calls the import stored, in line order: exactly the calls its `unmatched` count
    counts (a line whose call was stored before is a duplicate, not an unmatched call of this import)."""
    rows = (Cdr.objects.filter(cdr_import=cdr_import, status=Cdr.Status.UNMATCHED)
            .order_by("line", "id").values("line", "account", "caller", "callee")[:MAX_UNMATCHED_SAMPLE])
    return list(rows)


def post_charges(cdr_import):
    """Debit the prepaid rated calls `cdr_import` inserted: one ledger entry per service, keyed on the import and
    the service, so that posting again adds nothing. Entries are written CHARGE_BATCH services per transaction
    (one commit each, not one per service), clients locked in id order (no deadlock between two imports). The
    postpaid calls are not debited: their clients' unbilled totals are refreshed instead. Returns the total
    charged to credit."""
    postpaid_clients = list(
        Cdr.objects.filter(cdr_import=cdr_import, status=RATED, service__isnull=False, postpaid=True)
        .values_list("service__client_id", flat=True).distinct().order_by("service__client_id")
    )
    for start in range(0, len(postpaid_clients), CHARGE_BATCH):
        refresh_unbilled(postpaid_clients[start : start + CHARGE_BATCH])
    rows = list(
        Cdr.objects.filter(cdr_import=cdr_import, status=RATED, service__isnull=False, postpaid=False)
        .values("service_id", "service__client_id")
        .annotate(total=Sum("cost"), calls=Count("id"))
        .filter(total__gt=0)
        .order_by("service__client_id", "service_id")
    )
    where = cdr_import.source.name if cdr_import.source_id else "calls"
    total = Decimal(0)
    for start in range(0, len(rows), CHARGE_BATCH):
        with transaction.atomic():
            for row in rows[start : start + CHARGE_BATCH]:
                amount = exact_sum(row["total"])
                ledger_post(
                    client=lock_client(row["service__client_id"]), kind=CreditLedgerEntry.Kind.CDR_CHARGES,
                    amount=-amount, service=Service(pk=row["service_id"]),
                    description=f"Call charges: {row['calls']} call(s) from {where} (import #{cdr_import.pk})",
                    idempotency_key=f"cdr:{cdr_import.pk}:{row['service_id']}",
                )
                total += amount
    return total


def fail_import(cdr_import, message):
    """Mark the import failed with `message` (any text: surrogates from a file's bytes are replaced)."""
    CdrImport.objects.filter(pk=cdr_import.pk).update(
        status=S.FAILED, finished_at=timezone.now(), message=printable(message)[:2000]
    )
    cdr_import.refresh_from_db()
    return cdr_import


def set_message(cdr_import, message):
    CdrImport.objects.filter(pk=cdr_import.pk).update(message=printable(message)[:2000])
    cdr_import.refresh_from_db()
    return cdr_import


def abandon_import(cdr_import, why):
    """Finish an import that stops before the end: charge the rows it stored (under the same keys as a finished
    import), mark it failed and say `why` and what to do. Returns the CdrImport."""
    report = ImportReport()
    report.lines = CdrImport.objects.filter(pk=cdr_import.pk).values_list("lines_read", flat=True).first() or 0
    finish_import(cdr_import, report, status=S.FAILED)
    return set_message(cdr_import, f"The import stopped before the end ({why}). The calls it stored are charged; "
                                   "import the source or the file again for the rest: calls already stored are skipped.")


def stale_after():
    return timedelta(minutes=django_settings.VOIP_IMPORT_STALE_MINUTES)


def settle_stale_imports(*, now=None):
    """Finish running imports of any kind whose worker stopped (no progress for VOIP_IMPORT_STALE_MINUTES): mark
    them failed and charge the rows they inserted, so that their calls are charged once and a new import brings
    the rest. Each is claimed with a conditional UPDATE, so two sweeps never settle one twice. Returns how many."""
    now = now or timezone.now()
    stale = Q(status=S.RUNNING, heartbeat_at__lt=now - stale_after())
    settled = 0
    for cdr_import in CdrImport.objects.filter(stale).select_related("source"):
        claimed = CdrImport.objects.filter(stale, pk=cdr_import.pk).update(status=S.FAILED, heartbeat_at=now)
        if not claimed:
            continue
        abandon_import(cdr_import, "its worker was lost")
        settled += 1
    return settled


def source_time_zone(source):
    try:
        return ZoneInfo(source.time_zone or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"The source's time zone {source.time_zone!r} is not a known time zone.") from None


def sources_due(schedule):
    """Ids of the enabled sources imported on `schedule` (hourly or daily)."""
    return list(
        CdrSource.objects.filter(enabled=True, schedule=schedule).order_by("id").values_list("id", flat=True)
    )
