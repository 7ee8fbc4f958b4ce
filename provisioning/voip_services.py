"""What identifies a VoIP service at its provider (seed 002), kept in Service.module_data under the keys of
docs/voip-providers.md §1: FusionPBX tenant domain and extensions, Vodia tenant, inbound DIDs and search
string, LesNet peer id, DIDs and CDR file URL.

    ids = parse_legacy_line("vodia", "rucken.wat1.ictvoip.ca | 5484815577 | 5197830020 | 8300", region="CA")
    ids.tenant, ids.dids, ids.search_string  -> "rucken.wat1.ictvoip.ca", ("15484815577", "15197830020"), "8300"
    set_voip_identifiers(service=service, identifiers=ids, actor=actor)

DIDs are stored as E.164 digits without "+", normalised by the rating core's Normaliser with the product's
`default_region` and `local_npa` options, so that they compare as text with a rated call's number.
"""
import re
from dataclasses import dataclass, field, replace
from functools import lru_cache

import phonenumbers
from django.db import transaction

from billing.models import Service
from portal.activity import log_activity
from provisioning.options import HOSTNAME, ListOption, OptionsError, TextOption
from provisioning.registry import installed_modules
from provisioning.telephony.numbers import E164, INTERNAL, Normaliser

# A VoIP kind is the key of a module that names `identifier_keys` (provisioning.modules.voip_common.VoipModule:
# FusionPBX, Vodia, LesNet). What differs between the kinds (their keys, the legacy line's parts, its example) is
# the module's; this file knows no vendor.
LIST_KEYS = ("dids", "extensions")
LABELS = {
    "tenant": "Tenant",
    "dids": "DIDs",
    "extensions": "Extensions",
    "search_string": "Inbound search string",
    "peer_id": "Peer ID",
    "cdr_url": "CDR file URL",
    "line": "Legacy line",
}
MAX_LINE = 1000
EXTENSION = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,19}$")
SEARCH_STRING = re.compile(r"^[\w][\w .'-]{0,39}$")
PEER_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
NANP_AREA_CODE = re.compile(r"^[2-9][0-9]{2}$")
_URL = TextOption("cdr_url", "CDR file URL", check="url", max_length=500)


def voip_module(kind):
    """The installed module of a VoIP kind (one that names `identifier_keys`), or None for any other key."""
    module = installed_modules().get(kind) if kind else None
    return module if module is not None and module.identifier_keys else None


def voip_kinds():
    """The VoIP kinds installed, in settings.PROVISIONING_MODULES order."""
    return tuple(key for key, module in installed_modules().items() if module.identifier_keys)


def identifier_keys(kind):
    """The module_data keys a kind uses (docs/voip-providers.md §1), in the order forms show them."""
    return _module_of(kind).identifier_keys


def legacy_line_example(kind):
    return _module_of(kind).legacy_line_example


def _module_of(kind):
    module = voip_module(kind)
    if module is None:
        raise ValueError(f"Unknown VoIP kind {kind!r}: {', '.join(voip_kinds())}.")
    return module


class IdentifierError(OptionsError):
    """Invalid identifiers: `errors` maps a key of identifier_keys(kind) (or "line" for a legacy line) to its
    message."""

    def __str__(self):
        return " ".join(f"{LABELS.get(key, key)}: {message}" for key, message in self.errors.items())


@dataclass(frozen=True)
class VoipIdentifiers:
    kind: str
    tenant: str = ""
    dids: tuple = ()
    extensions: tuple = ()
    search_string: str = ""
    peer_id: str = ""
    cdr_url: str = ""
    given: frozenset = field(default=frozenset(), compare=False)  # keys a legacy line actually gave

    def as_module_data(self):
        """The kind's keys as module_data stores them (lists as JSON lists)."""
        return {key: list(getattr(self, key)) if key in LIST_KEYS else getattr(self, key)
                for key in identifier_keys(self.kind)}

    @classmethod
    def from_module_data(cls, kind, data):
        data = data or {}
        values = {}
        for key in identifier_keys(kind):
            raw = data.get(key)
            if key in LIST_KEYS:
                values[key] = tuple(str(item) for item in raw) if isinstance(raw, list) else ()
            else:
                values[key] = str(raw or "")
        return cls(kind, **values)

    def describe(self):
        """One line for messages and the activity log."""
        parts = []
        for key in identifier_keys(self.kind):
            value = getattr(self, key)
            shown = ", ".join(value) if key in LIST_KEYS else value
            parts.append(f"{LABELS[key].lower()} {shown or '(none)'}")
        return "; ".join(parts)


# --- product options shared by the VoIP modules (docs/voip-providers.md §3) ------------------------------


@dataclass(frozen=True)
class RegionOption(TextOption):
    """An ISO 3166 region phonenumbers knows (US, CA, GB…), stored in upper case."""

    @property
    def kind(self):
        return "country code"

    def to_python(self, raw):
        value = super().to_python(raw).upper()
        if value and value not in phonenumbers.SUPPORTED_REGIONS:
            raise ValueError(f"{value!r} is not a country code phonenumbers knows (use e.g. US, CA or GB)")
        return value


@dataclass(frozen=True)
class AreaCodeListOption(ListOption):
    """NANP area codes: three digits, the first 2-9."""

    def to_python(self, raw):
        codes = super().to_python(raw)
        for code in codes:
            if not NANP_AREA_CODE.match(code):
                raise ValueError(f"{code!r} is not a NANP area code (three digits, the first 2-9)")
        return codes


NUMBER_OPTIONS = (
    RegionOption("default_region", "Country", default="US", required=True, max_length=2,
                 help="Country (ISO 3166 code, e.g. US, CA, GB) whose dialling plan applies to numbers written "
                      "without a country code: the service's DIDs and the numbers in its call records."),
    AreaCodeListOption("local_npa", "Local area codes", default=(), max_items=10,
                       help="NANP area codes put in front of 7-digit numbers, tried in order: for PBXs whose call "
                            "records dial local calls without the country code (seed 002). Blank = none."),
)


@lru_cache(maxsize=64)
def number_normaliser(region="US", local_npa=()):
    """A (cached) Normaliser for a product's region and local area codes; ValueError names a bad setting."""
    return Normaliser(region or "US", local_npa=tuple(local_npa))


def product_number_settings(product):
    """(region, local_npa) from a product's module options; IdentifierError when they are invalid."""
    module = voip_module(product.module)
    if module is None:
        return "US", ()
    try:
        options = module.product_options_schema.resolve(product.module_options)
    except OptionsError as exc:
        raise IdentifierError({"dids": f"the product's module options are invalid: {exc}"}) from None
    return options["default_region"], tuple(options["local_npa"])


def voip_kind(service):
    """The VoIP kind of a service (from its product's module), or "" for any other service."""
    module = getattr(service.product, "module", "") if service is not None else ""
    return module if voip_module(module) is not None else ""


# --- parsing and validation ------------------------------------------------------------------------------


def normalise_did(text, normaliser):
    """E.164 digits of a DID, or ValueError with the reason."""
    result = normaliser(text)
    if result.kind == E164:
        return result.e164
    if result.kind == INTERNAL:
        raise ValueError(f"{result.reason.removeprefix('internal: ')} is not a DID")
    raise ValueError(result.reason)


def parse_legacy_line(kind, text, *, region="US", local_npa=()):
    """A legacy pipe line of seed 002 as VoipIdentifiers (rules in docs/voip-providers.md §2); raises
    IdentifierError({"line": message}) naming the part that is wrong."""
    module = _module_of(kind)
    try:
        normaliser = number_normaliser(region, tuple(local_npa))
    except ValueError as exc:
        raise IdentifierError({"line": f"the product's number settings are invalid: {exc}"}) from None
    parts = _split_line(text)
    first, rest = parts[0], parts[1:]
    values = {"dids": [], "extensions": []}
    key = module.primary_identifier
    check = PRIMARY_CHECKS[key]
    try:
        values[key] = check(first[1])
    except ValueError as exc:
        raise IdentifierError({"line": f"{_where(*first)}: {exc}."}) from None
    tokens = [(number, item) for number, token in rest for item in _items(token)]
    for position, (number, item) in enumerate(tokens):
        where = _where(number, item)
        last = position == len(tokens) - 1
        try:
            values["dids"].append(normalise_did(item, normaliser))
            continue
        except ValueError as exc:
            reason = str(exc)
        other = module.legacy_line_part(item, normaliser, last=last)
        if other in LIST_KEYS:
            values[other].append(item)
        elif other:
            values[other] = item
        else:
            raise IdentifierError({"line": f"{where}: {reason}; expected {module.legacy_line_parts}."})
    module.check_legacy_line(values)
    values = {key: _dedupe(value) if key in LIST_KEYS else value for key, value in values.items()}
    given = frozenset(key for key, value in values.items() if value)
    return VoipIdentifiers(kind, given=given, **values)


def clean_identifiers(kind, values, *, region="US", local_npa=()):
    """Validate structured values (a dict of identifier_keys(kind)) into VoipIdentifiers; IdentifierError names every
    bad key at once. A list key is text (one item per line or comma, as typed) or a list as stored (DIDs as
    E.164 digits). All blank is allowed."""
    errors, cleaned = {}, {}
    try:
        normaliser = number_normaliser(region, tuple(local_npa))
    except ValueError as exc:
        normaliser = None
        errors["dids"] = f"the product's number settings are invalid: {exc}"
    keys = identifier_keys(kind)
    for key in keys:
        raw = values.get(key)
        try:
            cleaned[key] = _clean_value(key, raw, normaliser)
        except ValueError as exc:
            errors.setdefault(key, str(exc))
    primary = voip_module(kind).primary_identifier
    if not errors and not cleaned[primary] and any(cleaned[key] for key in keys):
        errors[primary] = f"is required when the other {kind} identifiers are set."
    if errors:
        raise IdentifierError(errors)
    return VoipIdentifiers(kind, **cleaned)


def _clean_value(key, raw, normaliser):
    if key in LIST_KEYS:
        if isinstance(raw, str):
            items = _items(raw)
        else:  # a stored list: DIDs are E.164 digits, so they are read with their "+"
            items = [("+" if key == "dids" else "") + str(item).strip().lstrip("+") for item in raw or () if str(item).strip()]
        if key == "dids":
            if normaliser is None:
                return ()
            return _dedupe(normalise_did(item, normaliser) for item in items)
        return _dedupe(_check_extension(item) for item in items)
    text = str(raw or "").strip()
    if not text:
        return ""
    if key == "tenant":
        return check_tenant(text)
    if key == "peer_id":
        return check_peer(text)
    if key == "search_string":
        if not SEARCH_STRING.match(text):
            raise ValueError(f"{text!r} is not an extension or a first name (letters, digits, space, . ' -; at most 40)")
        return text
    return _URL.to_python(text)  # cdr_url


def _split_line(text):
    if not isinstance(text, str) or not text.strip():
        raise IdentifierError({"line": "is empty."})
    text = text.strip()
    if "\n" in text or "\r" in text:
        raise IdentifierError({"line": "must be a single line."})
    if len(text) > MAX_LINE:
        raise IdentifierError({"line": f"is longer than {MAX_LINE} characters."})
    raw_parts = text.split("|")
    if len(raw_parts) > 1 and not raw_parts[-1].strip():
        raw_parts.pop()  # a trailing "|"
    parts = []
    for number, part in enumerate(raw_parts, 1):
        part = part.strip(" \t")
        if not part:
            raise IdentifierError({"line": f"part {number} is empty (two '|' with nothing between them)."})
        parts.append((number, part))
    return parts


def _items(text):
    """The items of a list field or line part: separated by commas, semicolons or line breaks."""
    return [item.strip() for item in re.split(r"[,;\n\r]+", text or "") if item.strip()]


def _where(number, item):
    return f"part {number} {item!r}"


def check_tenant(text):
    value = text.strip().lower().rstrip(".")
    if not HOSTNAME.match(value) or "." not in value:
        raise ValueError(f"{text.strip()!r} is not a domain name (e.g. tenant.example.com)")
    return value


def check_peer(text):
    value = text.strip()
    if not PEER_ID.match(value):
        raise ValueError(f"{value!r} is not a LesNet peer id (letters, digits, - and _, at most 64)")
    return value


def _check_extension(text):
    if not EXTENSION.match(text) or (text.isdigit() and len(text) > 6):
        raise ValueError(f"{text!r} is not an extension (1-20 letters, digits, _ . -; at most 6 digits if all "
                         "digits)")
    return text


def is_extension(item, normaliser):
    """Whether a legacy line's part reads as an extension (at most as many digits as the region's extensions)."""
    if not EXTENSION.match(item):
        return False
    if item.isdigit():
        return len(item) <= normaliser.extension_digits
    return True


def is_search_string(item, normaliser):
    """Whether a legacy line's part reads as an inbound search string (an extension or a first name)."""
    if not SEARCH_STRING.match(item):
        return False
    digits = item.lstrip("+")
    return not (digits.isdigit() and len(digits) > normaliser.extension_digits)


# The check of a line's first part, by the kind's primary identifier (VoipModule.primary_identifier).
PRIMARY_CHECKS = {"tenant": check_tenant, "peer_id": check_peer}


def _dedupe(items):
    return tuple(dict.fromkeys(items))


# --- writing ---------------------------------------------------------------------------------------------


ALWAYS_FROM_LINE = ("tenant", "peer_id", "dids", "extensions")


def merge_identifiers(current, parsed):
    """Identifiers parsed from a legacy line over the current ones: the tenant/peer, DIDs and extensions come
    from the line; the search string only when the line has one; the CDR URL (never in a line) stays."""
    keys = [key for key in identifier_keys(parsed.kind) if key in ALWAYS_FROM_LINE or key in parsed.given]
    return replace(current, **{key: getattr(parsed, key) for key in keys})


def set_voip_identifiers(*, service, identifiers, actor):
    """Store a service's VoIP identifiers in its module_data (other keys untouched) and log the change.
    Returns True when something changed."""
    with transaction.atomic():
        locked = Service.objects.select_for_update().get(pk=service.pk)
        before = VoipIdentifiers.from_module_data(identifiers.kind, locked.module_data)
        if before == identifiers:
            return False
        locked.module_data = {**locked.module_data, **identifiers.as_module_data()}
        locked.save(update_fields=["module_data", "updated_at"])
        log_voip_change(actor=actor, service=locked, before=before, after=identifiers)
    service.module_data = locked.module_data
    return True


def log_voip_change(*, actor, service, before, after):
    log_activity(
        actor=actor,
        action="service.voip_identifiers",
        target=service,
        message=f"{service.domain}: VoIP identifiers set — {after.describe()}.",
        data={"before": before.as_module_data(), "after": after.as_module_data()},
    )
