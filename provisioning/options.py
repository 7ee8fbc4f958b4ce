"""Typed, validated option schemas: a module's product options and its server settings.

A schema is a list of fields, each with a name, a type, a default and (for WHMCS modules) the option's old
number. Stored values (Product.module_options, Server.settings) are JSON: `clean()` validates raw input and
returns the JSON form to store; `resolve()` turns stored values into Python values (Decimal, int, bool, list)
with defaults filled in, which is what modules and billing read.

    schema = OptionSchema(IntOption("max_users", "Maximum users", number=7, default=0, min_value=0))
    schema.clean({"7": "25"})            -> {"max_users": 25}
    schema.clean({"max_users": -1})      -> OptionsError: Option 7 (max_users): must be at least 0.
    schema.resolve({})                   -> {"max_users": 0}

Input keys may be names, the option number ("7") or WHMCS's "configoption7", so settings copied from WHMCS
keep working; they are stored under the name.
"""
import ipaddress
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from portal.encryption import decrypt, encrypt

HOSTNAME = re.compile(r"^(?=.{1,253}$)(?!-)[a-z0-9-]{1,63}(?<!-)(\.(?!-)[a-z0-9-]{1,63}(?<!-))*\.?$", re.IGNORECASE)
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
SECRET_PREFIX = "enc:"
DATABASE_URL = re.compile(r"^(postgres|postgresql)://[^\s/]+/[^\s/?]+(\?\S*)?$|^sqlite:///\S+$")


class OptionsError(ValueError):
    """Invalid option values: `errors` maps each option name to a message that names it (and its number)."""

    def __init__(self, errors):
        self.errors = errors
        super().__init__(" ".join(errors.values()))


@dataclass(frozen=True)
class Option:
    name: str
    label: str
    default: Any = None
    help: str = ""
    number: int | None = None
    kind = "text"

    @property
    def ref(self):
        """How messages name the option: "Option 7 (max_users)", or just its name when it has no number."""
        return f"Option {self.number} ({self.name})" if self.number else f"Option {self.name}"

    def to_python(self, raw):
        """The Python value of a stored or submitted value; raises ValueError with the reason."""
        return raw

    def to_json(self, value):
        return value

    @property
    def default_json(self):
        return self.to_json(self.default)


@dataclass(frozen=True)
class IntOption(Option):
    default: int = 0
    min_value: int | None = None
    max_value: int | None = None
    kind = "integer"

    def to_python(self, raw):
        if isinstance(raw, bool):
            raise ValueError("must be a whole number")
        if isinstance(raw, str):
            raw = raw.strip()
        try:
            value = int(raw)
        except (TypeError, ValueError):
            raise ValueError(f"must be a whole number, not {raw!r}") from None
        if isinstance(raw, float) and raw != value:
            raise ValueError(f"must be a whole number, not {raw!r}")
        if self.min_value is not None and value < self.min_value:
            raise ValueError(f"must be at least {self.min_value}")
        if self.max_value is not None and value > self.max_value:
            raise ValueError(f"must be at most {self.max_value}")
        return value


@dataclass(frozen=True)
class DecimalOption(Option):
    """A money amount or other decimal, stored as a string ("2.50") so that JSON keeps it exact."""

    default: str = "0.00"
    places: int = 2
    min_value: Decimal | None = None
    required: bool = True  # False: blank is allowed and means "not set" (None)
    kind = "decimal"

    def to_python(self, raw):
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            if self.required:
                raise ValueError("is required")
            return None
        if isinstance(raw, (bool, float)):
            raise ValueError("must be written as a decimal string, e.g. \"2.50\"")
        try:
            value = Decimal(str(raw).strip())
        except InvalidOperation:
            raise ValueError(f"must be a decimal number, not {raw!r}") from None
        if not value.is_finite():
            raise ValueError("must be a finite number")
        if value.as_tuple().exponent < -self.places:
            raise ValueError(f"must have at most {self.places} decimal places")
        if self.min_value is not None and value < self.min_value:
            raise ValueError(f"must be at least {self.min_value}")
        return value.quantize(Decimal(1).scaleb(-self.places))

    def to_json(self, value):
        value = self.to_python(value)
        return "" if value is None else str(value)


@dataclass(frozen=True)
class BoolOption(Option):
    default: bool = False
    kind = "yes/no"
    TRUE = ("1", "true", "yes", "on")
    FALSE = ("0", "false", "no", "off", "")

    def to_python(self, raw):
        if isinstance(raw, bool):
            return raw
        if isinstance(raw, int) and raw in (0, 1):
            return bool(raw)
        text = str(raw).strip().lower()
        if text in self.TRUE:
            return True
        if text in self.FALSE:
            return False
        raise ValueError(f"must be yes or no, not {raw!r}")


@dataclass(frozen=True)
class TextOption(Option):
    """Free text, optionally checked: `pattern` (regex), `check` ("hostname", "email", "url", "ip",
    "absolute_path") or `choices`. Blank is allowed unless `required`."""

    default: str = ""
    max_length: int = 255
    required: bool = False
    choices: tuple = ()
    check: str = ""
    placeholders: tuple = ()  # names the text may use as {name}; any other {…} is an error

    @property
    def kind(self):
        if self.choices:
            return "one of " + ", ".join(self.choices)
        return {"ip": "IP address", "url": "URL", "absolute_path": "path"}.get(self.check, self.check or "text")

    def to_python(self, raw):
        if raw is None:
            raw = ""
        if not isinstance(raw, str):
            raise ValueError("must be text")
        value = raw.strip()
        if not value:
            if self.required:
                raise ValueError("is required")
            return ""
        if len(value) > self.max_length:
            raise ValueError(f"must be at most {self.max_length} characters")
        if self.choices and value not in self.choices:
            raise ValueError(f"must be one of {', '.join(self.choices)}, not {value!r}")
        if self.check:
            _check(self.check, value)
        if self.placeholders:
            try:
                value.format(**{name: "" for name in self.placeholders})
            except (KeyError, IndexError, ValueError) as exc:
                allowed = ", ".join("{%s}" % name for name in self.placeholders)
                raise ValueError(f"may only use the placeholders {allowed} ({type(exc).__name__}: {exc})") from None
        return value


@dataclass(frozen=True)
class SecretOption(TextOption):
    """A text secret (a password, or a URL holding one) kept encrypted in the stored JSON as
    `enc:<Fernet token>` (portal.encryption, the key that encrypts Server.password) and plain in Python. Input
    may be the plain value or a stored token, so re-saving settings unchanged keeps the secret."""

    @property
    def kind(self):
        return "secret"

    def to_python(self, raw):
        if isinstance(raw, str) and raw.startswith(SECRET_PREFIX):
            from django.core.exceptions import ImproperlyConfigured

            try:
                raw = decrypt(raw[len(SECRET_PREFIX):])
            except ImproperlyConfigured:
                raise ValueError("cannot be decrypted with the configured FIELD_ENCRYPTION_KEY; enter it again") from None
        return super().to_python(raw)

    def to_json(self, value):
        value = self.to_python(value)
        if not value:
            return ""
        return SECRET_PREFIX + encrypt(value)


@dataclass(frozen=True)
class ListOption(Option):
    """A list of strings. Input may be a JSON list or one comma-separated string. Each item must be one of
    `choices`, or pass `check` (see TextOption)."""

    default: tuple = ()
    choices: tuple = ()
    check: str = ""
    max_items: int = 20
    kind = "list"

    def to_python(self, raw):
        if raw is None:
            raw = []
        if isinstance(raw, str):
            raw = [part for part in raw.split(",")]
        if not isinstance(raw, (list, tuple)):
            raise ValueError("must be a list (or a comma-separated text)")
        items = []
        for item in raw:
            if not isinstance(item, str):
                raise ValueError(f"must be a list of text, not {item!r}")
            item = item.strip()
            if not item:
                continue
            if self.choices and item not in self.choices:
                raise ValueError(f"{item!r} is not one of {', '.join(self.choices)}")
            if self.check:
                _check(self.check, item)
            if item not in items:
                items.append(item)
        if len(items) > self.max_items:
            raise ValueError(f"must have at most {self.max_items} entries")
        return items

    def to_json(self, value):
        return list(self.to_python(value))


def _check(check, value):
    if check == "hostname":
        if not HOSTNAME.match(value):
            raise ValueError(f"{value!r} is not a valid host name")
    elif check == "email":
        if not EMAIL.match(value):
            raise ValueError(f"{value!r} is not a valid e-mail address")
    elif check == "url":
        if not re.match(r"^https?://[^\s/]+(/\S*)?$", value):
            raise ValueError(f"{value!r} is not an http(s) URL")
    elif check == "ip":
        try:
            ipaddress.ip_address(value)
        except ValueError:
            raise ValueError(f"{value!r} is not an IPv4 or IPv6 address") from None
    elif check == "database_url":
        if not DATABASE_URL.match(value):
            raise ValueError("is not a database URL: postgres://user:password@host:5432/name (or sqlite:///path)")
    elif check == "absolute_path":
        if not (value.startswith("/") or re.match(r"^([A-Za-z]:\\|\\\\)", value)):
            raise ValueError(f"{value!r} is not an absolute path (/… on Linux, C:\\… on Windows)")
    else:  # a programming error in a schema, not a user error
        raise LookupError(f"Unknown option check {check!r}")


class OptionSchema:
    def __init__(self, *options, retired=()):
        self.options = tuple(options)
        # Names a module no longer has: stored values under them are dropped, not refused, so servers and products
        # saved before the option went away keep working.
        self.retired = frozenset(retired)
        names = [o.name for o in options]
        numbers = [o.number for o in options if o.number]
        if len(set(names)) != len(names) or len(set(numbers)) != len(numbers):
            raise ValueError("Option names and numbers must be unique within a schema.")
        self._keys = {}
        for option in self.options:
            self._keys[option.name] = option
            if option.number:
                self._keys[str(option.number)] = self._keys[f"configoption{option.number}"] = option

    def __iter__(self):
        return iter(self.options)

    def __bool__(self):
        return bool(self.options)

    def __getitem__(self, key):
        return self._keys[str(key)]

    def defaults(self):
        """The JSON form of every default: what a new product starts with."""
        return {option.name: option.default_json for option in self.options}

    def clean(self, values):
        """Validate raw input; returns the complete JSON form to store (missing options get their default).
        Raises OptionsError naming every bad or unknown option."""
        if values in (None, ""):
            values = {}
        if not isinstance(values, dict):
            raise OptionsError({"__all__": "Module options must be a JSON object of option names and values."})
        cleaned, errors = {}, {}
        for key, raw in values.items():
            if str(key) in self.retired:
                continue
            option = self._keys.get(str(key))
            if option is None:
                errors[str(key)] = f"Unknown option {key!r}; the options are listed in docs/module-options.md."
                continue
            if option.name in cleaned:
                errors[option.name] = f"{option.ref} is given twice (by name and by number)."
                continue
            try:
                cleaned[option.name] = option.to_json(option.to_python(raw))
            except ValueError as exc:
                errors[option.name] = f"{option.ref}: {exc}."
        if errors:
            raise OptionsError(errors)
        return {option.name: cleaned.get(option.name, option.default_json) for option in self.options}

    def resolve(self, stored):
        """Python values for stored options, defaults filled in. Raises OptionsError on a bad stored value
        (e.g. edited in the database), never silently uses a wrong one."""
        cleaned = self.clean(stored)
        return {option.name: option.to_python(cleaned[option.name]) for option in self.options}

    def describe(self):
        """Rows for help texts and docs: (number, name, kind, default, label, help)."""
        return [(o.number, o.name, o.kind, o.default_json, o.label, o.help) for o in self.options]
