"""Number normalisation, shared/voip-rating.md step 2: a dialled number as a PBX wrote it → E.164 digits.

The result is one of three kinds: an E.164 number (digits, no `+`) to look up in the rate deck; an internal
number (extension, star code, emergency number) that is zero-rated and never looked up; or an invalid number,
which is reported rather than guessed at (e.g. `0112125551234`, an IDD without the country code).
"""
import re
from dataclasses import dataclass

import phonenumbers
from phonenumbers import PhoneNumber, PhoneNumberFormat

CACHE_LIMIT = 1 << 20  # numbers remembered per normaliser (and per deck index); the cache is emptied past this

E164 = "e164"
INTERNAL = "internal"
INVALID = "invalid"

#: Default longest extension: 7 digits is a NANP local number, so extensions are at most 6 digits.
DEFAULT_EXTENSION_DIGITS = 6

_PUNCTUATION = str.maketrans("", "", " \t-.()")
_SCHEMES = ("sip:", "sips:", "tel:")
_NANP_FIRST = frozenset("23456789")  # NANP area codes start with 2-9


@dataclass(frozen=True, slots=True)
class Normalised:
    kind: str  # E164, INTERNAL or INVALID
    e164: str = ""  # digits without "+", only for kind E164
    reason: str = ""  # why the number is internal or invalid


def _emergency_pattern(region):
    """The region's emergency-number pattern: for a string of ASCII digits, `pattern.fullmatch(digits)` is
    exactly `phonenumbers.is_emergency_number(digits, region)` (an exact match against the region's short-number
    metadata), without that function's per-call extraction and normalisation of the text."""
    metadata = phonenumbers.PhoneMetadata.short_metadata_for_region(region)
    if metadata is None or metadata.emergency is None or not metadata.emergency.national_number_pattern:
        return None
    return re.compile(metadata.emergency.national_number_pattern)


_TYPE_DESCS = ("premium_rate", "toll_free", "shared_cost", "voip", "personal_number", "pager", "uan", "voicemail",
               "fixed_line")


class NanpValidity:
    """`phonenumbers.is_valid_number(PhoneNumber(country_code=1, national_number=int(ten)))` for 10-digit NANP
    numbers `ten`, from the same metadata and by the same steps, without its per-call overhead: the library
    finds the number's region (the first NANP region whose leading digits match, or, for regions without
    leading digits, whose number type is known), then checks that the number has a known type there. A type is
    known when the number matches the region's general pattern and one of its type patterns; only patterns
    whose possible lengths allow 10 digits can match, so each region keeps two compiled patterns: the general
    one and the alternation of its type patterns. tests/voip/test_fast_path.py compares it with the library."""

    def __init__(self):
        self.regions = []  # (leading-digits pattern or None, general pattern or None, types pattern or None)
        for region in phonenumbers.COUNTRY_CODE_TO_REGION_CODE[1]:
            metadata = phonenumbers.PhoneMetadata.metadata_for_region(region.upper(), None)
            if metadata is None:
                continue
            names = list(_TYPE_DESCS)
            if not metadata.same_mobile_and_fixed_line_pattern:
                names.append("mobile")
            types = [pattern for pattern in (self._pattern(getattr(metadata, name)) for name in names) if pattern]
            leading = re.compile(metadata.leading_digits) if metadata.leading_digits is not None else None
            self.regions.append((
                leading, _compiled(self._pattern(metadata.general_desc)),
                _compiled("|".join(f"(?:{pattern})" for pattern in types) if types else None),
            ))

    @staticmethod
    def _pattern(desc):
        """The desc's pattern when it can match a 10-digit number, else None."""
        if desc is None or not desc.national_number_pattern:
            return None
        if desc.possible_length and 10 not in desc.possible_length:
            return None
        return desc.national_number_pattern

    def _typed(self, general, types, ten):
        return general is not None and types is not None and general.fullmatch(ten) is not None and \
            types.fullmatch(ten) is not None

    def __call__(self, ten):
        for leading, general, types in self.regions:
            if leading is not None:
                if leading.match(ten):
                    return self._typed(general, types, ten)
            elif self._typed(general, types, ten):
                return True
        return False


def _compiled(pattern):
    return None if pattern is None else re.compile(pattern)


_nanp_validity = None


def nanp_validity():
    global _nanp_validity
    if _nanp_validity is None:
        _nanp_validity = NanpValidity()
    return _nanp_validity


def clean_number(raw):
    """Step 2.1: strip `sip:`/`tel:` schemes, anything from `@` (and URI parameters from `;`), and
    punctuation (spaces, `-`, `.`, `(`, `)`); a leading `+` is kept."""
    text = raw.strip()
    if text[:5].lower().startswith(_SCHEMES):
        text = text.split(":", 1)[1]
    for stop in ("@", ";"):
        if stop in text:
            text = text.split(stop, 1)[0]
    return text.translate(_PUNCTUATION)


class Normaliser:
    """Normalises dialled numbers for one client configuration (its region and local area codes).

    `region`: the product's ISO region (`US`, `CA`, `GB`…) whose trunk and IDD prefixes apply to numbers
    without a country code. `local_npa`: NANP area codes prepended to 7-digit numbers, tried in order (the
    first that gives a valid number wins). `accept_possible`: the configurable fallback of rule 4, accepting
    a number `phonenumbers` calls possible but not valid. `extension_digits`: numbers without `+` of at most
    this many digits are extensions. Results are cached per distinct raw string.
    """

    def __init__(self, region, *, local_npa=(), accept_possible=False, extension_digits=DEFAULT_EXTENSION_DIGITS):
        region = (region or "").upper()
        if region not in phonenumbers.SUPPORTED_REGIONS:
            raise ValueError(f"unknown region {region!r}: use an ISO 3166 code such as US, CA or GB")
        phonenumbers.enable_pattern_cache()  # keep every region's compiled patterns (re's cache holds 512)
        self.region = region
        self._emergency = _emergency_pattern(region)
        self.nanp = phonenumbers.country_code_for_region(region) == 1
        self.local_npa = tuple(local_npa)
        for npa in self.local_npa:
            if not (len(npa) == 3 and npa.isascii() and npa.isdigit() and npa[0] in _NANP_FIRST):
                raise ValueError(f"local area code {npa!r} is not a NANP area code (3 digits, starting 2-9)")
        if self.local_npa and not self.nanp:
            raise ValueError(f"local area codes apply to NANP regions (country code 1), not {region}")
        self.accept_possible = accept_possible
        self.extension_digits = extension_digits
        self._cache = {}
        self._nanp_valid = nanp_validity() if self.nanp else None

    def __call__(self, raw):
        result = self._cache.get(raw)
        if result is None:
            if len(self._cache) >= CACHE_LIMIT:
                self._cache.clear()
            result = self._cache[raw] = self.normalise(raw)
        return result

    def normalise(self, raw):
        """Steps 2.1–2.5 without the cache."""
        if raw.isascii() and (raw.isdigit() or (raw[:1] == "+" and raw[1:].isdigit())):
            text = raw  # already clean: what clean_number would return
        else:
            text = clean_number(raw)
        if not text:
            return Normalised(INVALID, reason="empty number")
        if "*" in text or "#" in text:
            return Normalised(INTERNAL, reason=f"internal: feature code {text}")
        plus = text.startswith("+")
        digits = text[1:] if plus else text
        if not (digits.isascii() and digits.isdigit()):
            return Normalised(INVALID, reason=f"not a phone number: {raw.strip()!r}")
        if not plus:
            if self._emergency is not None and self._emergency.fullmatch(digits):
                return Normalised(INTERNAL, reason=f"internal: emergency number {digits}")
            if len(digits) <= self.extension_digits:
                return Normalised(INTERNAL, reason=f"internal: extension {digits}")
            if self.nanp:
                return self._nanp(digits)
        return self._checked(self._parse(text), text)

    def _nanp(self, digits):
        """Rule 3: 7 digits get the local area code, 10 digits are national, 1 + 10 digits is national with
        the trunk prefix; anything else (e.g. 011 + international) goes to `phonenumbers`."""
        if len(digits) == 7:
            if not self.local_npa:
                return Normalised(INVALID, reason=f"7-digit local number {digits} and no local area code set")
            for npa in self.local_npa:
                result = self._national_nanp(npa + digits, digits)
                if result.kind == E164:
                    return result
            return result
        if len(digits) == 10:
            return self._national_nanp(digits, digits)
        if len(digits) == 11 and digits[0] == "1":
            return self._national_nanp(digits[1:], digits)
        return self._checked(self._parse(digits), digits)

    def _national_nanp(self, ten, shown):
        if ten[0] in _NANP_FIRST:
            # Exactly what phonenumbers.parse("+1" + ten) builds, without its regular-expression work; its
            # E.164 form is "1" + ten. Its validity is checked by NanpValidity, the library's check made cheap.
            if self._nanp_valid(ten):
                return Normalised(E164, "1" + ten)
            if self.accept_possible and phonenumbers.is_possible_number(
                    PhoneNumber(country_code=1, national_number=int(ten))):
                return Normalised(E164, "1" + ten)
            return Normalised(INVALID, reason=f"not a valid number for region {self.region}: {shown}")
        return self._checked(self._parse("+1" + ten), shown)

    def _parse(self, text):
        try:
            return phonenumbers.parse(text, self.region)
        except phonenumbers.NumberParseException:
            return None

    def _checked(self, number, shown, e164=None):
        """Rule 4's validity check and rule 5's output."""
        if number is not None and (
            phonenumbers.is_valid_number(number) or (self.accept_possible and phonenumbers.is_possible_number(number))
        ):
            return Normalised(E164, e164 or phonenumbers.format_number(number, PhoneNumberFormat.E164)[1:])
        return Normalised(INVALID, reason=f"not a valid number for region {self.region}: {shown}")
