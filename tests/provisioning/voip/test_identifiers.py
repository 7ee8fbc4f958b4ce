"""VoIP service identifiers (seed 002): the legacy pipe lines, structured values, DID normalisation with the
product's country, storing them in module_data, the product options, and the import command."""
import pytest
from django.core.management import CommandError, call_command

from portal.models import ActivityLog
from provisioning.modules.fusionpbx.options import PRODUCT_OPTIONS as FUSIONPBX_OPTIONS
from provisioning.options import OptionsError
from provisioning.voip_services import (
    IdentifierError,
    VoipIdentifiers,
    clean_identifiers,
    merge_identifiers,
    parse_legacy_line,
    set_voip_identifiers,
)
from tests.provisioning.modules.voip_fixtures import ACTOR, voip_service

# --- legacy lines ---------------------------------------------------------------------------------------------


def test_the_seeds_vodia_line():
    ids = parse_legacy_line("vodia", "rucken.wat1.ictvoip.ca | 5484815577 | 5197830020 | 8300", region="CA")
    assert (ids.tenant, ids.dids, ids.search_string) == ("rucken.wat1.ictvoip.ca", ("15484815577", "15197830020"),
                                                         "8300")
    assert ids.as_module_data() == {"tenant": "rucken.wat1.ictvoip.ca", "dids": ["15484815577", "15197830020"],
                                    "search_string": "8300"}


def test_the_seeds_lesnet_line():
    ids = parse_legacy_line("lesnet", "D4E3CD2BFC791 | 12046664021", region="CA")
    assert ids.as_module_data() == {"peer_id": "D4E3CD2BFC791", "dids": ["12046664021"], "cdr_url": ""}


def test_a_fusionpbx_line_with_extensions_and_a_did():
    ids = parse_legacy_line("fusionpbx", "Acme.PBX.example. | 101 | 102, 103 | +1 (212) 555-1234")
    assert (ids.tenant, ids.extensions, ids.dids) == ("acme.pbx.example", ("101", "102", "103"), ("12125551234",))


@pytest.mark.parametrize("text", [
    "  t.example|5484815577|8300  ",
    "t.example |\t5484815577 | 8300 |",
    "t.example | 548-481-5577, (548) 481 5577 | 8300",
    "t.example | tel:+1-548-481-5577 | 8300",
])
def test_whitespace_separators_duplicates_and_number_formats_are_tolerated(text):
    ids = parse_legacy_line("vodia", text, region="CA")
    assert (ids.tenant, ids.dids, ids.search_string) == ("t.example", ("15484815577",), "8300")


def test_numbers_follow_the_products_country_and_local_area_codes():
    assert parse_legacy_line("lesnet", "P1 | 020 8366 1177", region="GB").dids == ("442083661177",)
    assert parse_legacy_line("lesnet", "P1 | 555-0123", region="US", local_npa=("212",)).dids == ("12125550123",)
    assert parse_legacy_line("vodia", "t.example | 5484815577 | John Smith").search_string == "John Smith"
    assert parse_legacy_line("vodia", "t.example | 5484815577").search_string == ""


@pytest.mark.parametrize("kind, text, message", [
    ("vodia", "", "is empty."),
    ("vodia", "t.example | 5484815577\n| 8300", "single line"),
    ("vodia", "t.example || 8300", "part 2 is empty"),
    ("vodia", "not a domain | 5484815577", "part 1 'not a domain': 'not a domain' is not a domain name"),
    ("vodia", "t.example | 8300 | 5484815577",
     "part 2 '8300': extension 8300 is not a DID; expected a DID (only the last part may be"),
    ("vodia", "t.example | 5484815577 | 12345678", "part 3 '12345678': not a valid number for region US: 12345678"),
    ("lesnet", "D4E3CD2BFC791", "needs the peer and at least one DID"),
    ("lesnet", "bad peer! | 12046664021", "is not a LesNet peer id"),
    ("lesnet", "P1 | 5550123", "7-digit local number 5550123 and no local area code set"),
    ("lesnet", "P1 | 911", "emergency number 911 is not a DID"),
    ("fusionpbx", "a.example | *97", "part 2 '*97': feature code *97 is not a DID; expected a DID or an extension"),
    ("fusionpbx", "a.example | " + "1" * 1000, "longer than 1000 characters"),
])
def test_bad_lines_name_the_part_and_the_reason(kind, text, message):
    with pytest.raises(IdentifierError) as info:
        parse_legacy_line(kind, text)
    assert message in info.value.errors["line"]


def test_unknown_kind_is_a_programming_error():
    with pytest.raises(ValueError, match="Unknown VoIP kind"):
        parse_legacy_line("asterisk", "x")


# --- structured values ----------------------------------------------------------------------------------------


def test_structured_values_are_validated_all_at_once():
    with pytest.raises(IdentifierError) as info:
        clean_identifiers("lesnet", {"peer_id": "", "dids": "12046664021\nabc", "cdr_url": "ftp://x"})
    assert set(info.value.errors) == {"dids", "cdr_url"}
    with pytest.raises(IdentifierError, match="Tenant: is required when the other vodia identifiers are set"):
        clean_identifiers("vodia", {"dids": "5484815577"})
    assert clean_identifiers("vodia", {}) == VoipIdentifiers("vodia")
    with pytest.raises(IdentifierError, match="'1234567' is not an extension"):
        clean_identifiers("fusionpbx", {"tenant": "a.example", "extensions": "101, 1234567"})


def test_stored_dids_clean_again_in_any_region():
    stored = VoipIdentifiers("lesnet", peer_id="P1", dids=("442083661177", "12046664021"))
    again = clean_identifiers("lesnet", stored.as_module_data(), region="US")
    assert again.dids == stored.dids


def test_a_pasted_line_replaces_the_lines_keys_and_keeps_the_rest():
    current = VoipIdentifiers("vodia", tenant="old.example", dids=("15484815577",), search_string="8300")
    merged = merge_identifiers(current, parse_legacy_line("vodia", "new.example | 5197830020", region="CA"))
    assert (merged.tenant, merged.dids, merged.search_string) == ("new.example", ("15197830020",), "8300")
    lesnet = VoipIdentifiers("lesnet", peer_id="OLD", cdr_url="https://portal.les.net/cdr/1_0000.txt")
    merged = merge_identifiers(lesnet, parse_legacy_line("lesnet", "NEW | 12046664021"))
    assert (merged.peer_id, merged.cdr_url) == ("NEW", "https://portal.les.net/cdr/1_0000.txt")


@pytest.mark.django_db
def test_set_voip_identifiers_keeps_other_module_data_and_logs_once(fpbx_server):
    service = voip_service("fusionpbx", fpbx_server, {"fusionpbx_domain_uuid": "u-1"})
    ids = parse_legacy_line("fusionpbx", "acme.pbx.example | 101")
    assert set_voip_identifiers(service=service, identifiers=ids, actor=ACTOR)
    assert not set_voip_identifiers(service=service, identifiers=ids, actor=ACTOR)  # unchanged: no write, no log
    service.refresh_from_db()
    assert service.module_data == {"fusionpbx_domain_uuid": "u-1", "tenant": "acme.pbx.example",
                                   "extensions": ["101"], "dids": []}
    entry = ActivityLog.objects.get(action="service.voip_identifiers")
    assert "tenant acme.pbx.example; extensions 101; dids (none)" in entry.message


# --- product options ------------------------------------------------------------------------------------------


def test_product_options_validate_country_and_area_codes_and_default_to_gateway_mode():
    assert FUSIONPBX_OPTIONS.resolve({}) == {"auto_suspend_mode": "gateway", "default_region": "US", "local_npa": [],
                                              "create_extensions": False}
    assert FUSIONPBX_OPTIONS.clean({"default_region": "ca", "local_npa": "204, 431"})["local_npa"] == ["204", "431"]
    with pytest.raises(OptionsError) as info:
        FUSIONPBX_OPTIONS.clean({"auto_suspend_mode": "trunk", "default_region": "XX", "local_npa": "123"})
    assert set(info.value.errors) == {"auto_suspend_mode", "default_region", "local_npa"}
    assert "'XX' is not a country code" in info.value.errors["default_region"]
    assert "'123' is not a NANP area code" in info.value.errors["local_npa"]


def test_docs_list_every_voip_option_and_setting():
    from django.conf import settings

    from provisioning.registry import get_module

    docs = (settings.BASE_DIR / "docs" / "voip-providers.md").read_text()
    for key in ("fusionpbx", "vodia", "lesnet"):
        module = get_module(key)
        for option in (*module.product_options_schema, *module.server_settings_schema):
            assert f"`{option.name}`" in docs, (key, option.name)


# --- import command -------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_import_saves_good_rows_and_reports_bad_ones_with_line_numbers(tmp_path, capsys, vodia_server, lesnet_server):
    from tests.factories import ServiceFactory

    vodia = voip_service("vodia", vodia_server, {}, default_region="CA")
    lesnet = voip_service("lesnet", lesnet_server, {"cdr_url": "https://portal.les.net/cdr/1_0000.txt"})
    mail = ServiceFactory()
    path = tmp_path / "lines.csv"
    path.write_text(
        "service,line,search_string,cdr_url\n"
        f"{vodia.pk},rucken.wat1.ictvoip.ca | 5484815577 | 5197830020 | 8300,,\n"
        f"{lesnet.pk},D4E3CD2BFC791 | 12046664021,,https://portal.les.net/cdr/11330_0000.txt\n"
        f"{mail.pk},x.example | 5484815577,,\n"
        "999999,x.example | 5484815577,,\n"
        f"{vodia.pk},bad | 5484815577,,\n"
        "abc,x,,\n"
    )
    call_command("import_voip_lines", str(path))
    out, err = capsys.readouterr()
    assert "2 service(s) saved, 0 unchanged, 4 bad line(s)." in out
    assert [line.split(":")[0] for line in err.strip().splitlines()] == ["line 4", "line 5", "line 6", "line 7"]
    assert "is not a VoIP service" in err and "there is no service 999999" in err and "is not a domain name" in err
    vodia.refresh_from_db()
    lesnet.refresh_from_db()
    assert vodia.module_data == {"tenant": "rucken.wat1.ictvoip.ca", "dids": ["15484815577", "15197830020"],
                                 "search_string": "8300"}
    assert lesnet.module_data["cdr_url"] == "https://portal.les.net/cdr/11330_0000.txt"
    call_command("import_voip_lines", str(path))
    assert "0 service(s) saved, 2 unchanged" in capsys.readouterr().out


@pytest.mark.django_db
def test_import_dry_run_saves_nothing_and_a_bad_header_is_refused(tmp_path, capsys, vodia_server):
    service = voip_service("vodia", vodia_server, {})
    path = tmp_path / "lines.csv"
    path.write_text(f"service,line\n{service.pk},t.example | 5484815577\n")
    call_command("import_voip_lines", str(path), "--dry-run")
    assert "1 service(s) would be saved" in capsys.readouterr().out
    service.refresh_from_db()
    assert service.module_data == {}
    path.write_text("id,text\n1,x\n")
    with pytest.raises(CommandError, match="the header needs the column"):
        call_command("import_voip_lines", str(path))
    with pytest.raises(CommandError, match="Cannot read"):
        call_command("import_voip_lines", str(tmp_path / "missing.csv"))
