"""CDR files that are not UTF-8 (issue: a Latin-1 file left its import "running" forever, the failure itself
raising UnicodeEncodeError). Every upload ends imported or failed with a clear message; an error half-way
fails the import with its stored calls charged; the sweeper fails imports whose worker died."""
import codecs
from datetime import timedelta
from decimal import Decimal

import pytest
from django.test import override_settings
from django.utils import timezone

from billing.models import CreditLedgerEntry
from portal.jobs import beat_schedule
from tests.voip.factories import CDR_FIXTURES
from tests.voip.test_imports import upload
from voip.models import Cdr, CdrImport
from voip.services import imports
from voip.services.imports import fail_import, settle_stale_imports, start_import

pytestmark = pytest.mark.django_db
PORTAL = (CDR_FIXTURES / "portal.csv").read_text(encoding="utf-8")
JOSE = "p11,outbound,José,2125551234,2024-01-15T10:40:00Z,0,ANSWERED\n"  # line 12 of the file
S = CdrImport.Status


def assert_imported_like_utf8(result):
    assert result.status == S.DONE
    assert (result.inserted, result.rated, result.charged) == (11, 4, Decimal("1.4254"))
    assert Cdr.objects.get(external_id="p11").caller == "José"


def test_a_latin1_file_is_imported_and_says_it_was_read_as_latin1(service, source):
    result = upload(source, "calls.csv", "portal", (PORTAL + JOSE).encode("latin-1"))
    assert_imported_like_utf8(result)
    assert result.message == ("The file is not UTF-8 (line 12 is the first that is not); it was read as Latin-1 "
                              "(ISO 8859-1).")


@pytest.mark.parametrize(("data", "note"), [
    (codecs.BOM_UTF16_LE + (PORTAL + JOSE).encode("utf-16-le"), "The file is UTF-16; it was read as such."),
    (codecs.BOM_UTF16_BE + (PORTAL + JOSE).encode("utf-16-be"), "The file is UTF-16; it was read as such."),
    ((PORTAL + JOSE).encode("utf-16-le"), "The file is UTF-16 (little-endian, no BOM); it was read as such."),
    ((PORTAL + JOSE).encode("utf-16-be"), "The file is UTF-16 (big-endian, no BOM); it was read as such."),
    (codecs.BOM_UTF8 + (PORTAL + JOSE).encode("utf-8"), ""),
], ids=["utf16-le-bom", "utf16-be-bom", "utf16-le", "utf16-be", "utf8-bom"])
def test_utf16_and_utf8_files_are_imported(service, source, data, note):
    result = upload(source, "calls.csv", "portal", data)
    assert_imported_like_utf8(result)
    assert result.message == note
    assert result.bytes_done == result.bytes_total == len(data)


@pytest.mark.parametrize(("data", "reason"), [
    (b"\x1f\x8b\x08\x00" + bytes(range(256)) * 40, "it is a binary file, not CSV text (save the CDRs as CSV, UTF-8)"),
    (b"\x89PNG\r\n\x1a\n" + b"\x01\x02\x03\x04" * 500 + b"abc", "it is a binary file, not CSV text (save the CDRs as "
                                                                 "CSV, UTF-8)"),
    (codecs.BOM_UTF16_LE + "id,direction\n".encode("utf-16-le") + b"\x00\xdc", "it starts as UTF-16 but byte 28 "
                                                                               "(line 2) is not UTF-16"),
], ids=["gzip", "png", "broken-utf16"])
def test_a_binary_or_broken_file_fails_with_the_reason_and_imports_nothing(service, source, data, reason):
    result = upload(source, "calls.csv", "portal", data)
    assert result.status == S.FAILED
    assert result.message == f"The file cannot be read as portal: {reason}. Nothing was imported."
    assert not Cdr.objects.exists() and not CdrImport.objects.filter(status=S.RUNNING).exists()


def test_a_latin1_header_the_format_refuses_is_reported_without_breaking(service, source):
    result = upload(source, "calls.csv", "fusionpbx", "caller_id_name,Réseau\nJosé,1\n".encode("latin-1"))
    assert result.status == S.FAILED
    assert "(found: caller_id_name, Réseau)" in result.message


def test_writing_a_failure_with_undecodable_bytes_never_fails(source):
    cdr_import = start_import(source=source, kind=CdrImport.Kind.UPLOAD)
    failed = fail_import(cdr_import, "bad bytes: Jos\udce9 and a lone \ud800")
    assert (failed.status, failed.message) == (S.FAILED, "bad bytes: Jos\ufffd and a lone \ufffd")


def test_an_error_half_way_fails_the_upload_and_charges_what_it_stored(service, source, monkeypatch):
    monkeypatch.setattr(imports, "CHUNK", 1)  # every call is stored as it is read

    inserted = []
    real_insert = imports._insert

    def insert_then_break(rows):
        real_insert(rows)
        inserted.extend(rows)
        if len(inserted) == 4:
            raise RuntimeError("the disk is full")

    monkeypatch.setattr(imports, "_insert", insert_then_break)
    result = upload(source, "portal.csv", "portal")
    assert result.status == S.FAILED
    assert result.message.startswith("The import stopped before the end (an unexpected error: RuntimeError: the disk "
                                     "is full). The calls it stored are charged;")
    assert set(Cdr.objects.values_list("external_id", flat=True)) == {"p1", "p2", "p3", "p4"}
    # the four stored calls are the four rated ones: 0.55 + 0.17 + 0.0054 + 0.70
    assert (result.charged, CreditLedgerEntry.objects.get().amount) == (Decimal("1.4254"), Decimal("-1.4254"))


@override_settings(VOIP_IMPORT_STALE_MINUTES=5)
@pytest.mark.parametrize("kind", [CdrImport.Kind.UPLOAD, CdrImport.Kind.PUSH, CdrImport.Kind.RERATE])
def test_the_sweeper_fails_imports_without_progress_for_the_configured_age(source, kind):
    cdr_import = start_import(source=source, kind=kind)
    now = timezone.now()
    assert settle_stale_imports(now=now + timedelta(minutes=4)) == 0
    assert settle_stale_imports(now=now + timedelta(minutes=6)) == 1
    cdr_import.refresh_from_db()
    assert cdr_import.status == S.FAILED
    assert cdr_import.message.startswith("The import stopped before the end (its worker was lost).")


def test_the_sweeper_runs_every_ten_minutes_on_beat():
    job = beat_schedule()["voip_settle_stale_imports"]
    assert job["task"] == "voip.tasks.settle_stale_imports"
    assert job["schedule"].minute == {0, 10, 20, 30, 40, 50}
