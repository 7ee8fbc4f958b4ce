"""Vodia's pushed call records (shared/providers/cdr-formats.md §4) as CdrRecords, for the portal's push
endpoint (docs/voip-providers.md §5.2):

    items = parse_pushed_cdrs(request.body, tenant="acme.example", dids=("15484815577",))

Both of Vodia's schemes are recognised per JSON object: `json:`/`jsons:` (one object per leg, "action":
"call-data-record") and `webcdr:` (one object per call, with `callid` and `legs`). Keys are matched without
regard to case. A bad object becomes a CdrError with its position; the good ones are read.
"""
import json
import math
import re
from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from provisioning.telephony.calls import INBOUND, OUTBOUND
from provisioning.telephony.cdrs import EXTENSION_LEG, LOCAL, LOCAL_CALL, CdrError, CdrRecord
from provisioning.telephony.numbers import E164
from provisioning.telephony.text import printable
from provisioning.voip_services import number_normaliser

JSON_LEG_ACTION = "call-data-record"
START_KEYS = ("start", "timestart", "starttime", "start_time")
CONNECT_KEYS = ("connect", "timeconnect", "timeconnected", "connecttime", "connect_time", "answer", "answertime")
END_KEYS = ("end", "timeend", "endtime", "end_time")
TRUNK_KEYS = ("trunkname", "trunkid", "trunk", "trunk_name", "trunk_id")
DIRECTIONS = {"i": INBOUND, "in": INBOUND, "inbound": INBOUND, "o": OUTBOUND, "out": OUTBOUND, "outbound": OUTBOUND}
EXTENSION_DIGITS = 6
_URI_USER = re.compile(r"(?:sips?|tel):(\+?[^@;>\s]+)", re.IGNORECASE)
_EPOCH_MS = 100_000_000_000  # larger epochs are milliseconds


def parse_pushed_cdrs(payload, *, tenant="", dids=(), region="US", local_npa=(), time_zone="UTC"):
    """The records of one push: `payload` is the body (bytes/str of JSON) or decoded JSON (an object or a list
    of objects). `tenant`: the account the push belongs to (json legs name no domain). `dids`: the tenant's DIDs
    (E.164 digits) for webcdr direction detection, with `region`/`local_npa` to normalise the called number.
    `time_zone`: zone of date-time texts without an offset. Returns [CdrRecord | CdrError]."""
    try:
        objects = _objects(payload)
    except ValueError as exc:
        return [CdrError(0, f"the body is not JSON: {exc}", [])]
    try:
        zone = ZoneInfo(time_zone) if isinstance(time_zone, str) else time_zone
    except (ZoneInfoNotFoundError, ValueError):
        return [CdrError(0, f"unknown time zone {time_zone!r}", [])]
    context = _Context(tenant.lower(), frozenset(dids), number_normaliser(region, tuple(local_npa)), zone)
    items = []
    for position, item in enumerate(objects, 1):
        if not isinstance(item, dict):
            items.append(CdrError(position, "not a JSON object", [str(item)[:200]]))
            continue
        values = {str(key).lower(): value for key, value in item.items()}
        if str(values.get("action", "")).lower() == JSON_LEG_ACTION:
            reader, fields = _json_leg, _fields(values, ("primarycallid", "callid", "direction", "extension",
                                                         "extensionname", "trunkname", "localparty", "remoteparty"))
            fields += [_text(_first(values, keys)) for keys in (START_KEYS, CONNECT_KEYS, END_KEYS)]
        elif "callid" in values:
            reader = _webcdr
            fields = _fields(values, ("callid", "domain", "from", "to", "start", "connect", "end"))
        else:
            items.append(CdrError(position, "neither a json: leg (\"action\": \"call-data-record\") nor a webcdr "
                                            "record (\"callid\")", [json.dumps(item)[:200]]))
            continue
        try:
            items.append(reader(position, values, fields, context))
        except ValueError as exc:
            items.append(CdrError(position, str(exc), fields))
    return items


class _Context:
    def __init__(self, tenant, dids, normaliser, zone):
        self.tenant, self.dids, self.normaliser, self.zone = tenant, dids, normaliser, zone


def _json_leg(position, values, fields, context):
    call_id = _text(values.get("callid"))
    if not call_id:
        raise ValueError("CallID is empty")
    letter = _text(values.get("direction")).lower()
    if letter not in ("i", "o"):
        raise ValueError(f"Direction must be I or O, not {values.get('direction')!r}")
    direction = DIRECTIONS[letter]
    local, remote = _user(values.get("localparty")), _user(values.get("remoteparty"))
    caller, callee = (local, remote) if direction == OUTBOUND else (remote, local)
    answer, billsec = _answer_and_billsec(values, context.zone)
    ignore = "" if answer is not None else "not answered"
    primary = _text(values.get("primarycallid")) or call_id
    internal = False
    if not any(_text(values.get(key)) for key in TRUNK_KEYS):
        # An extension leg. A call's first leg names the call (its CallID is the PrimaryCallID): it is the call
        # when no trunk leg joins it (extension to extension), and the import hides it when one does. Any later
        # extension leg is part of a call another leg carries.
        direction, internal = LOCAL, primary != call_id
        ignore = EXTENSION_LEG if internal else LOCAL_CALL
    elif not callee and not ignore:
        raise ValueError(f"{'RemoteParty' if direction == OUTBOUND else 'LocalParty'} is empty")
    disposition = "answered" if answer is not None else "not answered"
    return CdrRecord(position, call_id, direction, caller, callee, callee, answer, billsec, disposition, ignore, fields,
                     context.tenant, call_id=primary, internal_leg=internal)


def _webcdr(position, values, fields, context):
    call_id = _text(values.get("callid"))
    if not call_id:
        raise ValueError("callid is empty")
    callee, caller = _user(values.get("to")), _user(values.get("from"))
    if not callee:
        raise ValueError("to is empty")
    answer, billsec = _answer_and_billsec(values, context.zone)
    direction = _leg_direction(values.get("legs")) or _direction_of(callee, context)
    ignore = ""
    if direction == LOCAL:
        ignore = LOCAL_CALL
    elif answer is None or values.get("abandoned") is True:
        ignore = "not answered"
    account = _text(values.get("domain")).lower() or context.tenant
    disposition = "answered" if answer is not None else "not answered"
    return CdrRecord(position, call_id, direction, caller, callee, callee, answer, billsec, disposition, ignore, fields,
                     account)


def _leg_direction(legs):
    """The direction of the trunk leg, when a leg names a trunk and a direction."""
    if isinstance(legs, dict):
        legs = list(legs.values())
    for leg in legs if isinstance(legs, list) else ():
        if not isinstance(leg, dict):
            continue
        values = {str(key).lower(): value for key, value in leg.items()}
        direction = DIRECTIONS.get(_text(values.get("direction") or values.get("dir")).lower())
        if direction and any(_text(values.get(key)) for key in TRUNK_KEYS):
            return direction
    return ""


def _direction_of(number, context):
    digits = number.lstrip("+")
    if digits.isdigit() and len(digits) <= EXTENSION_DIGITS:
        return LOCAL
    normalised = context.normaliser(number)
    if normalised.kind == E164 and normalised.e164 in context.dids:
        return INBOUND
    return OUTBOUND


def _answer_and_billsec(values, zone):
    connect = _time(_first(values, CONNECT_KEYS), "connect", zone)
    if connect is None:
        return None, 0
    end = _time(_first(values, END_KEYS), "end", zone)
    if end is None:
        raise ValueError("a connected call without an end time")
    seconds = (end - connect).total_seconds()
    if seconds < 0:
        raise ValueError("the end time is before the connect time")
    return connect, math.ceil(seconds)


def _time(value, name, zone):
    """An aware UTC datetime from epoch seconds (number or numeric text; milliseconds when huge) or a date-time
    text (`zone` when it has no offset); None for blank or 0."""
    if value is None or value == "" or value is False:
        return None
    if isinstance(value, (int, float)) or (isinstance(value, str) and re.fullmatch(r"\s*\d+(\.\d+)?\s*", value)):
        seconds = float(value)
        if seconds == 0:
            return None
        if seconds > _EPOCH_MS:
            seconds /= 1000
        try:
            return datetime.fromtimestamp(seconds, UTC)
        except (OverflowError, OSError, ValueError):
            raise ValueError(f"{name} {value!r} is out of range") from None
    if not isinstance(value, str):
        raise ValueError(f"{name} is not a time: {value!r}")
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        raise ValueError(f"{name} is not epoch seconds or an ISO 8601 date-time: {value!r}") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)
    return moment.astimezone(UTC)


def _objects(payload):
    if isinstance(payload, (bytes, bytearray)):
        payload = payload.decode("utf-8", errors="replace")
    if isinstance(payload, str):
        payload = json.loads(payload)
    return payload if isinstance(payload, list) else [payload]


def _user(value):
    """The number of a party: the user part of a SIP/tel URI (`"Tom" <sip:504@pbx>` → 504), else the text."""
    text = _text(value)
    match = _URI_USER.search(text)
    if match:
        return match.group(1)
    if "<" in text and ">" in text:
        text = text[text.index("<") + 1:text.index(">")]
    return text.split("@", 1)[0].strip()


def _first(values, keys):
    for key in keys:
        if values.get(key) not in (None, ""):
            return values[key]
    return None


def _fields(values, keys):
    return [_text(values.get(key)) for key in keys]


def _text(value):
    """A value as text; a lone surrogate (JSON's "\\ud800", which no database stores) becomes U+FFFD."""
    return "" if value is None else printable(str(value).strip())
