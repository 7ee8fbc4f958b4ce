"""Rate decks from the database, and rate deck CSV files loaded into a package.

A package's deck (voip.rating.deck.Deck, the longest-prefix index) is built once per process and package
version and kept in memory: `RatePackage.rates_version` moves with every change of its rates, so a changed
package is rebuilt on its next use (voip-rating.md step 3: "rebuilt when the deck changes"). Raters, which add
the product's number rules and keep per-number caches, are kept the same way.
"""
import logging
from dataclasses import dataclass, field
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings as django_settings
from django.db import transaction
from django.db.models import F

from billing.models import Product
from portal.activity import log_activity
from provisioning.telephony.calls import DIRECTIONS
from provisioning.telephony.numbers import DEFAULT_EXTENSION_DIGITS, Normaliser
from voip.models import Rate, RatePackage, VoipProduct
from voip.rating.deck import Deck
from voip.rating.deck import Rate as DeckRate
from voip.rating.deck_file import DeckFileError, read_deck
from voip.rating.engine import AFTER_MINIMUM, Rater

logger = logging.getLogger(__name__)

RATE_FIELDS = (
    "id", "prefix", "destination", "direction", "connect_fee", "rate_per_minute", "minimum_seconds",
    "increment_seconds", "free_seconds", "nocharge_below", "valid_from", "valid_to", "weight", "days", "start_time",
    "end_time",
)
INSERT_BATCH = 2000


def deck_rates(rows):
    """voip.rating Rates from Rate rows (as dicts of RATE_FIELDS); a row for both directions gives two."""
    rates = []
    for row in rows:
        values = dict(row)
        direction = values.pop("direction")
        for each in DIRECTIONS if direction == Rate.Direction.BOTH else (direction,):
            try:
                rates.append(DeckRate(direction=each, **values))
            except ValueError as exc:  # only possible for rows written around the admin's validation
                logger.warning("Rate %s left out of its deck: %s", values["id"], exc)
    return rates


@lru_cache(maxsize=32)
def _deck(package_id, version, created_at):
    """`created_at` keeps a package that reuses a deleted package's id from getting its deck."""
    return Deck(deck_rates(Rate.objects.filter(package_id=package_id).order_by("id").values(*RATE_FIELDS).iterator()))


def deck_for(package):
    """The package's deck as of its current rates (built at most once per version and process)."""
    return _deck(package.pk, package.rates_version, package.created_at)


@lru_cache(maxsize=128)
def _rater(package_key, increment_mode, region, local_npa, accept_possible, time_zone, extension_digits):
    normaliser = Normaliser(region, local_npa=local_npa, accept_possible=accept_possible,
                            extension_digits=extension_digits)
    deck = _deck(*package_key) if package_key is not None else Deck(())
    try:
        zone = ZoneInfo(time_zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {time_zone!r}") from None
    return Rater(deck, normaliser, increment_mode=increment_mode, time_zone=zone)


def client_time_zone(name):
    """The zone a client's time-of-day rates are read in: its own, else the business time zone (step 10)."""
    return name or django_settings.BUSINESS_TIME_ZONE


def number_settings(module_options):
    """(region, local area codes) of a product: its module options `default_region` and `local_npa`
    (docs/voip-providers.md §3); US and none when the module has no such options."""
    options = module_options if isinstance(module_options, dict) else {}
    region = str(options.get("default_region") or "US").strip().upper()
    npa = options.get("local_npa") or ()
    if isinstance(npa, str):
        npa = npa.replace(";", ",").split(",")
    return region, tuple(str(code).strip() for code in npa if str(code).strip())


def rater_for(product, settings, time_zone=None, extension_digits=DEFAULT_EXTENSION_DIGITS):
    """The Rater for a product and its VoipProduct settings: the package's deck with the product's number
    rules, its time-of-day periods read in `time_zone` (an IANA name; blank: the business time zone), numbers of
    at most `extension_digits` digits taken as extensions (the call's CDR source says how long its PBX's
    extensions are). Without
    a package (or settings) the deck is empty, so numbers are still classified (extensions and
    emergency numbers ignored, bad numbers invalid) and every other call is unrated. Raises ValueError for
    number settings the rating core refuses (an unknown region) or an unknown time zone."""
    package = settings.rate_package if settings is not None else None
    region, local_npa = number_settings(product.module_options)
    return _rater(
        (package.pk, package.rates_version, package.created_at) if package else None,
        package.increment_mode if package else AFTER_MINIMUM, region, local_npa,
        bool(settings and settings.accept_possible_numbers), client_time_zone(time_zone), extension_digits,
    )


def products_with_settings(product_ids):
    """{product id: (Product, its VoipProduct or None)} with the packages, in two queries."""
    settings = {
        row.product_id: row
        for row in VoipProduct.objects.filter(product_id__in=set(product_ids)).select_related("rate_package")
    }
    return {
        product.pk: (product, settings.get(product.pk))
        for product in Product.objects.filter(pk__in=set(product_ids)).only("id", "module", "module_options")
    }


def bump_version(package):
    """Mark the package's rates changed: its in-memory decks are rebuilt on their next use."""
    RatePackage.objects.filter(pk=package.pk).update(rates_version=F("rates_version") + 1)
    package.refresh_from_db(fields=["rates_version"])


@dataclass
class DeckImport:
    imported: int = 0  # rate rows written (0 when refused)
    replaced: int = 0  # rows removed first (replace mode)
    errors: list = field(default_factory=list)  # DeckRowError(line, reason) of rows left out
    ignored_columns: list = field(default_factory=list)
    refused: str = ""  # why nothing was imported

    @property
    def ok(self):
        return not self.refused


def import_deck(*, package, lines, replace, skip_bad_rows, actor):
    """Load a rate deck CSV (voip.rating.deck_file's format, as `rate_cdrs --rates`) into `package`.

    Nothing is imported when the file is unusable (no header, required columns missing, no rates), nor when a
    row is bad and `skip_bad_rows` is not set: the result lists every bad row with its line number. With
    `replace`, the package's rates are replaced by the file's in one transaction."""
    try:
        deck_file = read_deck(lines)
    except DeckFileError as exc:
        return DeckImport(refused=f"The file cannot be used as a rate deck: {exc}")
    except UnicodeDecodeError:
        return DeckImport(refused="The file is not text (UTF-8).")
    result = DeckImport(errors=deck_file.errors, ignored_columns=deck_file.ignored_columns)
    if deck_file.errors and not skip_bad_rows:
        result.refused = (
            f"{len(deck_file.errors)} row(s) have errors: nothing was imported. Correct them, or choose to skip "
            "the bad rows."
        )
        return result
    rows = _rows(package, deck_file.deck.rates)
    if not rows:
        result.refused = "The file has no valid rates: nothing was imported."
        return result
    with transaction.atomic():
        package = RatePackage.objects.select_for_update().get(pk=package.pk)
        if replace:
            result.replaced, _ = Rate.objects.filter(package=package).delete()
        Rate.objects.bulk_create(rows, batch_size=INSERT_BATCH)
        bump_version(package)
        result.imported = len(rows)
        log_activity(
            actor=actor, action="voip.rates_import", target=package,
            message=f"{result.imported} rate(s) imported into {package.name}"
                    + (f", replacing {result.replaced}" if replace else "")
                    + (f"; {len(result.errors)} bad row(s) skipped" if result.errors else ""),
            data={"imported": result.imported, "replaced": result.replaced, "skipped": len(result.errors)},
        )
    return result


def _rows(package, rates):
    """Rate rows from a deck file's rates; the file's rows for both directions (one line, two rates) are one
    row again."""
    by_line = {}
    for rate in rates:
        by_line.setdefault(rate.id, []).append(rate)
    rows = []
    for line_rates in by_line.values():
        rate = line_rates[0]
        direction = Rate.Direction.BOTH if len(line_rates) > 1 else rate.direction
        rows.append(Rate(
            package=package, prefix=rate.prefix, destination=rate.destination[:120], direction=direction,
            connect_fee=rate.connect_fee, rate_per_minute=rate.rate_per_minute, minimum_seconds=rate.minimum_seconds,
            increment_seconds=rate.increment_seconds, free_seconds=rate.free_seconds,
            nocharge_below=rate.nocharge_below, valid_from=rate.valid_from, valid_to=rate.valid_to, weight=rate.weight,
            days=rate.days, start_time=rate.start_time, end_time=rate.end_time,
        ))
    return rows
