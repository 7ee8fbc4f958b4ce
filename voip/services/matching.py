"""Which service a call record belongs to.

A VoIP service names its identifiers in Service.module_data (the providers' modules write them; the keys are in
docs/voip-providers.md): the tenant (FusionPBX domain, Vodia tenant) or LesNet peer id, its DIDs and its
extensions. `ServiceMatcher` reads them once per import into dicts and then matches each record with a few
lookups, never a query per call:

1. the record's account (tenant, peer or account code) with the extension that made or took the call;
2. a DID of the service: the called number of an inbound call, the caller id of an outbound one;
3. the account alone, when one service owns it;
4. the extension alone, when one service on the source has it.

A live service wins over a terminated one that had the same identifier. A record nothing matches is stored as
"unmatched" and reported on the import, never dropped.
"""
import phonenumbers

from billing.models import Product, Service
from provisioning.telephony.calls import INBOUND
from provisioning.telephony.numbers import clean_number

# module_data keys, as docs/voip-providers.md §1 names them (each VoIP module's `identifier_keys`). DIDs are
# stored there as E.164 digits without "+".
ACCOUNT_KEYS = ("tenant", "peer_id")
DID_KEYS = ("dids",)
EXTENSION_KEYS = ("extensions",)
LIVE_FIRST = {Service.Status.ACTIVE: 2, Service.Status.SUSPENDED: 2}
AMBIGUOUS = -1
MATCHABLE_STATUSES = (
    Service.Status.ACTIVE, Service.Status.SUSPENDED, Service.Status.TERMINATED, Service.Status.CANCELLED,
)


def did_key(number):
    """A number as digits for comparison: punctuation, scheme and '+' dropped, and NANP's leading 1 (a DID is
    written 12046664021 on one side and 2046664021 or +1 204 666 4021 on the other)."""
    digits = "".join(ch for ch in clean_number(number or "") if ch.isdigit())
    if len(digits) == 11 and digits[0] == "1":
        return digits[1:]
    return digits


def national_key(did_digits):
    """The national significant number of a DID stored as E.164 digits (442083661177 → 2083661177), so that a
    call record writing it in national form (02083661177) still finds it; "" when it does not parse."""
    try:
        return str(phonenumbers.parse("+" + did_digits).national_number)
    except phonenumbers.NumberParseException:
        return ""


def _text(value):
    return str(value).strip().lower() if value is not None else ""


def _values(data, keys):
    """The strings under any of `keys`: a list, a comma/pipe-separated string, or dicts with a number/extension."""
    found = []
    for key in keys:
        value = data.get(key)
        if value in (None, ""):
            continue
        items = value if isinstance(value, (list, tuple)) else str(value).replace("|", ",").split(",")
        for item in items:
            if isinstance(item, dict):
                item = item.get("extension") or item.get("number") or item.get("did") or ""
            text = str(item).strip()
            if text:
                found.append(text)
    return found


def service_identifiers(module_data):
    """(accounts, DIDs as digits, extensions) of one service's module data, in lower case."""
    data = module_data if isinstance(module_data, dict) else {}
    accounts = [_text(value) for key in ACCOUNT_KEYS if (value := data.get(key)) not in (None, "")]
    dids = [digits for digits in ("".join(ch for ch in value if ch.isdigit()) for value in _values(data, DID_KEYS))
            if digits]
    extensions = [_text(value) for value in _values(data, EXTENSION_KEYS)]
    return accounts, dids, extensions


class ServiceMatcher:
    """Dicts from identifiers to service ids, built once; `match(record)` is a handful of dict lookups."""

    def __init__(self, rows):
        """`rows`: (service id, status, product id, module_data, client time zone) of the candidate services."""
        self.by_account_extension = {}
        self.by_did = {}
        self.dids = set()  # every DID as stored (E.164 digits), for parsers that tell inbound from outbound by them
        self.by_national = {}  # national numbers of the DIDs: a full DID match wins over these
        self.by_account = {}
        self.by_extension = {}
        self.product_of = {}
        self.zone_of = {}  # service id → its client's time zone name ("": the business time zone)
        # Terminated services first, so that a live service's identifiers overwrite theirs.
        for service_id, _status, product_id, module_data, zone in sorted(rows, key=lambda r: LIVE_FIRST.get(r[1], 1)):
            self.product_of[service_id] = product_id
            self.zone_of[service_id] = zone
            accounts, dids, extensions = service_identifiers(module_data)
            self.dids.update(dids)
            for did in dids:
                key = did_key(did)
                self.by_did[key] = service_id
                national = national_key(did)
                if national and national != key:
                    self.by_national.setdefault(national, service_id)
            for account in accounts:
                self._claim(self.by_account, account, service_id)
                for extension in extensions:
                    self.by_account_extension[(account, extension)] = service_id
            for extension in extensions:
                self._claim(self.by_extension, extension, service_id)

    @staticmethod
    def _claim(mapping, key, service_id):
        """One service per key; a key two services claim matches neither (it cannot decide)."""
        current = mapping.get(key)
        mapping[key] = service_id if current in (None, service_id) else AMBIGUOUS

    def match(self, record, extension=""):
        """The service id of a CdrRecord, or None. `extension`: the extension of the call when the format has a
        column for it (FusionPBX); otherwise the local party (caller of an outbound call, callee of an inbound
        one) is tried as the extension."""
        inbound = record.direction == INBOUND
        local_party = ((record.callee if inbound else record.caller) or "").strip().lower()
        account = (record.account or "").strip().lower()
        extensions = [value for value in (extension.strip().lower(), local_party) if value]
        if account:
            for value in extensions:
                found = self.by_account_extension.get((account, value))
                if found is not None:
                    return found
        dids = (record.number, record.callee) if inbound else (record.caller,)
        for number in dids:
            key = did_key(number)
            found = self.by_did.get(key) or self.by_national.get(key.lstrip("0"))
            if found is not None:
                return found
        if account:
            found = self.by_account.get(account)
            if found is not None and found != AMBIGUOUS:
                return found
        for value in extensions:
            found = self.by_extension.get(value)
            if found is not None and found != AMBIGUOUS:
                return found
        return None


def candidate_services(source):
    """(id, status, product id, module_data, client time zone) of the VoIP services a source's records may belong
    to: those on its server, or every VoIP service for a source without one (uploaded files)."""
    services = Service.objects.filter(product__type=Product.Type.VOIP, status__in=MATCHABLE_STATUSES)
    if source.server_id is not None:
        services = services.filter(server_id=source.server_id)
    return services.values_list("id", "status", "product_id", "module_data", "client__time_zone").iterator(
        chunk_size=2000
    )


def matcher_for(source):
    return ServiceMatcher(candidate_services(source))
