"""Rate decks loaded from CSV (whole, refused, or with bad rows skipped) and re-rating a period after a deck
changed, posting the difference once; unmatched calls matched again after a service was corrected."""
from datetime import date
from decimal import Decimal

import pytest

from billing.models import CreditLedgerEntry
from portal.models import ActivityLog, Client
from tests.voip.factories import SYSTEM, RatePackageFactory, fixture_lines
from tests.voip.test_imports import upload
from voip.models import Cdr, CdrImport, Rate
from voip.services.decks import deck_for, import_deck
from voip.services.rerating import rematch_unmatched, rerate_service

pytestmark = pytest.mark.django_db


def test_a_deck_file_is_loaded_with_both_directions_in_one_row(package):
    rates = {rate.prefix: rate for rate in Rate.objects.filter(package=package)}
    assert set(rates) == {"1", "1212", "1310", "44", "4420"}
    assert rates["1212"].direction == "both" and rates["1212"].connect_fee == Decimal("0.1")
    deck = deck_for(package)
    assert len(deck.indexes["outbound"]) == 5 and len(deck.indexes["inbound"]) == 5
    assert ActivityLog.objects.filter(action="voip.rates_import").exists()


def test_bad_rows_refuse_the_file_unless_skipped(db):
    header = "prefix,destination,connect_fee,rate_per_minute,minimum_seconds,increment_seconds\n"
    package = RatePackageFactory(name="Empty", deck=[header, "1,USA,0,0.01,6,6\n"])
    refused = import_deck(package=package, lines=fixture_lines("rates_bad_rows.csv"), replace=True,
                          skip_bad_rows=False, actor=SYSTEM)
    assert not refused.ok and refused.imported == 0
    assert refused.errors[0].line == 3 and refused.errors[0].reason == "prefix must be 1 to 15 digits, not '12x'"
    assert [error.line for error in refused.errors] == [3, 4, 5, 6]
    assert Rate.objects.filter(package=package).count() == 1  # untouched
    skipped = import_deck(package=package, lines=fixture_lines("rates_bad_rows.csv"), replace=True,
                          skip_bad_rows=True, actor=SYSTEM)
    assert skipped.ok and skipped.imported == 1 and skipped.replaced == 1 and skipped.ignored_columns == ["notes"]


def test_an_unusable_file_imports_nothing(package):
    result = import_deck(package=package, lines=fixture_lines("rates_no_header.csv"), replace=True,
                         skip_bad_rows=True, actor=SYSTEM)
    assert not result.ok and result.refused.startswith("The file cannot be used as a rate deck: the header lacks")
    assert Rate.objects.filter(package=package).count() == 5


def test_a_changed_deck_is_picked_up_by_its_version(package):
    before = deck_for(package)
    import_deck(package=package, lines=fixture_lines("rates_dated.csv"), replace=True, skip_bad_rows=False,
                actor=SYSTEM)
    package.refresh_from_db()
    assert deck_for(package) is not before and len(deck_for(package)) == 7  # 5 rows, 2 for both directions


def test_rerating_posts_the_difference_once(service, source, package):
    upload(source, "portal.csv", "portal")
    client = Client.objects.get(pk=service.client_id)
    assert client.credit_balance == Decimal("-1.4254")
    Rate.objects.filter(package=package, prefix="1212").update(connect_fee=Decimal("0"))  # New York: no fee now
    package.rates_version += 1
    package.save()
    result = rerate_service(service=service, start=date(2024, 1, 15), end=date(2024, 1, 15), actor=SYSTEM)
    assert result.kind == "rerate" and result.charged == Decimal("-0.2000")  # p1 and p4 lose 0.10 each
    assert Cdr.objects.get(external_id="p1").cost == Decimal("0.4500")
    entry = CreditLedgerEntry.objects.get(kind="adjustment")
    assert entry.amount == Decimal("0.2000") and entry.service_id == service.pk
    assert Client.objects.get(pk=client.pk).credit_balance == Decimal("-1.2254")
    again = rerate_service(service=service, start=date(2024, 1, 15), end=date(2024, 1, 15), actor=SYSTEM)
    assert again.charged == 0 and CreditLedgerEntry.objects.filter(kind="adjustment").count() == 1
    outside = rerate_service(service=service, start=date(2024, 2, 1), end=date(2024, 2, 29), actor=SYSTEM)
    assert outside.lines_read == 0


def test_unmatched_calls_are_matched_charged_after_the_service_is_corrected(service, source):
    service.module_data = {"extensions": ["2002"]}
    service.save()
    first = upload(source, "portal.csv", "portal")
    assert first.unmatched == 10 and not CreditLedgerEntry.objects.exists()
    service.module_data = {"extensions": ["1001"], "dids": ["12125550100"]}
    service.save()
    result = rematch_unmatched(source=source, actor=SYSTEM)
    assert (result.inserted, result.rated, result.charged) == (10, 4, Decimal("1.4254"))
    assert not Cdr.objects.filter(status="unmatched").exists()
    assert CreditLedgerEntry.objects.get().idempotency_key == f"cdr:{result.pk}:{service.pk}"
    assert rematch_unmatched(source=source, actor=SYSTEM).inserted == 0
    assert CdrImport.objects.filter(kind="rerate").count() == 2
