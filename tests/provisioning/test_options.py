"""Option schemas: typed fields, defaults, WHMCS numbers, and messages that name the option."""
from decimal import Decimal

import pytest

from provisioning.modules.base import ModuleError, ServerRef, ServiceRef
from provisioning.modules.fake import FakeModule
from provisioning.options import (
    BoolOption,
    DecimalOption,
    IntOption,
    ListOption,
    OptionSchema,
    OptionsError,
    SecretOption,
    TextOption,
)

SCHEMA = OptionSchema(
    IntOption("max_users", "Maximum users", number=7, default=0, min_value=0),
    DecimalOption("price", "Price", number=2, default="", required=False),
    BoolOption("wipe", "Delete data", number=8, default=False),
    TextOption("path", "Path", number=5, default="/srv/mail", check="absolute_path", required=True),
    TextOption("ip", "IP", number=6, check="ip"),
    TextOption("policy", "Policy", default="none", choices=("none", "reject")),
    TextOption("line", "Line", placeholders=("n",)),
    ListOption("protocols", "Protocols", default=("imap",), choices=("imap", "pop", "smtp")),
    ListOption("mx", "MX", check="hostname"),
)


def test_defaults_fill_what_is_missing_and_values_are_stored_as_json():
    assert SCHEMA.clean({}) == {
        "max_users": 0, "price": "", "wipe": False, "path": "/srv/mail", "ip": "", "policy": "none", "line": "",
        "protocols": ["imap"], "mx": [],
    }
    cleaned = SCHEMA.clean({"max_users": "25", "price": "2.5", "wipe": "yes", "protocols": "pop, smtp, pop"})
    assert (cleaned["max_users"], cleaned["price"], cleaned["wipe"], cleaned["protocols"]) == (25, "2.50", True, ["pop", "smtp"])


def test_resolve_gives_python_values():
    resolved = SCHEMA.resolve({"price": "2.50", "wipe": True})
    assert resolved["price"] == Decimal("2.50") and resolved["wipe"] is True and resolved["max_users"] == 0
    assert SCHEMA.resolve({})["price"] is None


def test_whmcs_numbers_are_accepted_and_stored_under_the_name():
    assert SCHEMA.clean({"7": 5, "configoption8": "on"})["max_users"] == 5
    assert SCHEMA.clean({"configoption8": "on"})["wipe"] is True


@pytest.mark.parametrize(
    "values, name, message",
    [
        ({"max_users": -1}, "max_users", "Option 7 (max_users): must be at least 0."),
        ({"max_users": "ten"}, "max_users", "Option 7 (max_users): must be a whole number, not 'ten'."),
        ({"max_users": 2.5}, "max_users", "Option 7 (max_users): must be a whole number, not 2.5."),
        ({"price": "1.234"}, "price", "Option 2 (price): must have at most 2 decimal places."),
        ({"price": 1.5}, "price", "Option 2 (price): must be written as a decimal string"),
        ({"wipe": "maybe"}, "wipe", "Option 8 (wipe): must be yes or no, not 'maybe'."),
        ({"path": "relative/dir"}, "path", "Option 5 (path): 'relative/dir' is not an absolute path"),
        ({"path": ""}, "path", "Option 5 (path): is required."),
        ({"ip": "10.0.0.300"}, "ip", "Option 6 (ip): '10.0.0.300' is not an IPv4 or IPv6 address."),
        ({"policy": "maybe"}, "policy", "Option policy: must be one of none, reject, not 'maybe'."),
        ({"line": "{x}"}, "line", "Option line: may only use the placeholders {n}"),
        ({"protocols": ["imap", "fax"]}, "protocols", "Option protocols: 'fax' is not one of imap, pop, smtp."),
        ({"mx": ["mx1.example.net", "bad host"]}, "mx", "Option mx: 'bad host' is not a valid host name."),
        ({"7": 1, "max_users": 2}, "max_users", "Option 7 (max_users) is given twice"),
        ({"colour": "red"}, "colour", "Unknown option 'colour'"),
    ],
)
def test_each_bad_value_gets_a_message_naming_the_option(values, name, message):
    with pytest.raises(OptionsError) as info:
        SCHEMA.clean(values)
    assert info.value.errors[name].startswith(message)


def test_every_error_is_reported_at_once():
    with pytest.raises(OptionsError) as info:
        SCHEMA.clean({"max_users": -1, "ip": "x", "colour": 1})
    assert set(info.value.errors) == {"max_users", "ip", "colour"}


def test_windows_paths_and_ipv6_are_fine():
    cleaned = SCHEMA.clean({"path": "D:\\Mail\\Domains", "ip": "2001:db8::1"})
    assert cleaned["path"] == "D:\\Mail\\Domains" and cleaned["ip"] == "2001:db8::1"


def test_a_module_reports_bad_stored_options_as_a_permanent_error_naming_them():
    module = FakeModule()
    module.product_options_schema = SCHEMA
    ref = ServiceRef(id=1, domain="a.example", product_options={"max_users": -3},
                     server=ServerRef(id=1, hostname="h", base_url="http://h"))
    with pytest.raises(ModuleError, match=r"Option 7 \(max_users\): must be at least 0\. Correct them") as info:
        module.product_options(ref)
    assert info.value.permanent


def test_docs_list_every_smartermail_option_with_its_number_name_type_and_default():
    from django.conf import settings

    from provisioning.modules.smartermail.options import PRODUCT_OPTIONS, SERVER_SETTINGS

    docs = (settings.BASE_DIR / "docs" / "module-options.md").read_text()
    numbers = [option.number for option in PRODUCT_OPTIONS]
    assert numbers == list(range(1, 24))
    for number, name, kind, default, label, _ in PRODUCT_OPTIONS.describe() + SERVER_SETTINGS.describe():
        if isinstance(default, bool):
            shown = "yes" if default else "no"
        elif isinstance(default, list):
            shown = ", ".join(default) or "(blank)"
        else:
            shown = default if default != "" else "(blank)"
        prefix = f"| {number} | `{name}` |" if number else f"| `{name}` |"
        assert f"{prefix} {kind} | {shown} | **{label}.**" in docs, name


def test_the_names_billing_and_the_lifecycle_read_are_these_numbers():
    from provisioning import lifecycle
    from provisioning.modules.smartermail.options import PRODUCT_OPTIONS

    expected = {1: "disk_tranche_size_gb", 2: "disk_tranche_price", 3: "disk_tranche_max", 4: "disk_billing_description",
                16: "disk_included_gb", 5: "storage_path", 6: "outbound_ip", 7: "max_users",
                8: lifecycle.DELETE_DATA_OPTION}
    assert {number: PRODUCT_OPTIONS[number].name for number in expected} == expected


SECRETS = OptionSchema(
    SecretOption("database_url", "Database URL", check="database_url"),
    SecretOption("password", "Password"),
    retired=("old_name",),
)


def test_secret_settings_are_stored_encrypted_and_resolve_to_the_plain_value():
    url = "postgres://portal:s3cret@pbx.example:5432/fusionpbx"
    stored = SECRETS.clean({"database_url": url, "password": "ClueCon2"})
    assert stored["database_url"].startswith("enc:") and "s3cret" not in stored["database_url"]
    assert SECRETS.resolve(stored) == {"database_url": url, "password": "ClueCon2"}
    assert SECRETS.resolve(SECRETS.clean(stored)) == {"database_url": url, "password": "ClueCon2"}  # re-saved
    assert SECRETS.clean({}) == {"database_url": "", "password": ""}
    assert SECRETS.describe()[0][2] == "secret"


def test_a_secret_that_cannot_be_decrypted_or_a_bad_database_url_names_the_option():
    with pytest.raises(OptionsError) as info:
        SECRETS.clean({"database_url": "mysql://x@h/db", "password": "enc:not-a-token"})
    assert info.value.errors == {
        "database_url": "Option database_url: is not a database URL: postgres://user:password@host:5432/name (or "
                        "sqlite:///path).",
        "password": "Option password: cannot be decrypted with the configured FIELD_ENCRYPTION_KEY; enter it again.",
    }
    assert SECRETS.clean({"database_url": "sqlite:///tmp/x.sqlite3"})["database_url"].startswith("enc:")


def test_retired_options_are_dropped_not_refused():
    assert SECRETS.clean({"old_name": "whatever"}) == {"database_url": "", "password": ""}
    with pytest.raises(OptionsError, match="Unknown option 'other'"):
        SECRETS.clean({"other": "x"})
