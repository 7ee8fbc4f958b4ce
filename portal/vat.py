"""EU VAT numbers: the format and check-digit test (python-stdnum) and the optional VIES check.

A number is kept with its country prefix and no spaces (DE136695976; Greece's prefix is EL). VIES is the European
Commission's service that says whether a member state has the number registered; its REST API is called through
`ViesClient` (settings.VIES_URL: the simulator in tests and the demo, `manage.py run_simulator vies`). The check is
off unless settings.VIES_ENABLED; then a number passes on its format and check digits alone.

The rules of what a check means for tax are billing's (billing/tax/treatment.py, docs/tax.md)."""
from dataclasses import dataclass
from datetime import datetime

import requests
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import timezone
from stdnum import exceptions as stdnum_errors
from stdnum.eu import vat as eu_vat

# VAT prefix → ISO 3166 country code where they differ (Greece) ; XI is Northern Ireland (United Kingdom).
PREFIX_COUNTRY = {"EL": "GR", "XI": "GB"}
COUNTRY_PREFIX = {"GR": "EL"}
EU_COUNTRIES = frozenset(
    "AT BE BG CY CZ DE DK EE ES FI FR GR HR HU IE IT LT LU LV MT NL PL PT RO SE SI SK".split()
)


EU_PREFIXES = (EU_COUNTRIES - {"GR"}) | {"EL", "XI"}


def is_foreign_tax_id(number, country):
    """A tax id of a client outside the EU that is not an EU VAT number (a US EIN, a Canadian BN): kept as given
    and never checked; it has no bearing on EU VAT (billing/tax/treatment.py looks only at EU numbers)."""
    return bool(country) and country.upper() not in EU_COUNTRIES | {"XI"} and number[:2].upper() not in EU_PREFIXES


def vat_country(number):
    """The ISO country code of a cleaned VAT number ('EL…' → 'GR')."""
    prefix = number[:2].upper()
    return PREFIX_COUNTRY.get(prefix, prefix)


def vat_number_clean(value, country="", *, field=None):
    """The number compacted with its country prefix, or ValidationError saying why: its format (length,
    characters, an unknown prefix) or its check digit. Without a prefix the client's `country` is assumed. A client
    outside the EU may give another tax id (`is_foreign_tax_id`): it is kept as given."""
    number = "".join(str(value or "").split()).upper().replace("-", "").replace(".", "")
    if is_foreign_tax_id(number, country):
        tax_id = " ".join(str(value).split())
        if len(tax_id) > 20:
            message = f"The tax id {tax_id} is longer than 20 characters."
            raise ValidationError({field: message} if field else message)
        return tax_id
    if number[:2].isdigit() and country:
        number = COUNTRY_PREFIX.get(country.upper(), country.upper()) + number
    try:
        return eu_vat.validate(number)
    except stdnum_errors.InvalidChecksum:
        message = f"The VAT number {number} fails its check digit: look for a mistyped digit."
    except stdnum_errors.InvalidComponent:
        message = f"The VAT number {number} does not start with an EU country prefix (e.g. DE, FR, EL for Greece)."
    except stdnum_errors.ValidationError:
        message = f"The VAT number {number} has the wrong format (length or characters) for its country."
    raise ValidationError({field: message} if field else message)


@dataclass(frozen=True)
class ViesAnswer:
    valid: bool | None  # None: VIES could not answer
    checked_at: datetime
    name: str = ""
    error: str = ""


class ViesClient:
    """The VIES REST API's check-vat-number call: one POST, a short timeout; any failure is 'unavailable'."""

    def __init__(self, base_url=None, *, timeout=None):
        self.base_url = (base_url or settings.VIES_URL).rstrip("/")
        self.timeout = timeout if timeout is not None else settings.VIES_TIMEOUT

    def check(self, number):
        prefix, rest = number[:2], number[2:]
        now = timezone.now()
        try:
            response = requests.post(f"{self.base_url}/check-vat-number", json={"countryCode": prefix, "vatNumber": rest},
                                     timeout=self.timeout)
            body = response.json() if response.content else {}
        except (requests.RequestException, ValueError) as exc:
            return ViesAnswer(None, now, error=f"VIES could not be reached ({type(exc).__name__})")
        if response.status_code != 200 or not isinstance(body, dict) or "valid" not in body:
            errors = body.get("errorWrappers") if isinstance(body, dict) else None
            code = errors[0].get("error", "") if errors and isinstance(errors[0], dict) else f"HTTP {response.status_code}"
            return ViesAnswer(None, now, error=f"VIES did not answer ({code})")
        return ViesAnswer(bool(body["valid"]), now, name=str(body.get("name") or "")[:200])


@dataclass(frozen=True)
class VatCheckResult:
    number: str
    check: str  # portal.models.VatCheck value
    checked_at: datetime
    detail: str = ""


def vat_number_check(number, country="", *, client=None):
    """Clean the number and, when settings.VIES_ENABLED, ask VIES. Refused (ValidationError on 'vat_number') for
    a bad format or check digit, or when VIES says it is not valid; VIES unavailable is not a refusal: the result
    says so, and the client's sales are taxed as B2C until a later check succeeds."""
    number = vat_number_clean(number, country, field="vat_number")
    if is_foreign_tax_id(number, country):
        return VatCheckResult(number, "foreign", timezone.now())
    if not settings.VIES_ENABLED:
        return VatCheckResult(number, "format", timezone.now())
    answer = (client or ViesClient()).check(number)
    if answer.valid is False:
        raise ValidationError({"vat_number": f"VIES says the VAT number {number} is not valid (checked "
                                             f"{answer.checked_at:%Y-%m-%d %H:%M} UTC)."})
    if answer.valid is None:
        return VatCheckResult(number, "unavailable", answer.checked_at, answer.error)
    return VatCheckResult(number, "valid", answer.checked_at, answer.name)
