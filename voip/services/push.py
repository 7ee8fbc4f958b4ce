"""CDRs that Vodia pushes to the portal (shared/providers/cdr-formats.md §4), imported as they arrive.

Two body shapes are read, alone or as a JSON list of records:

- `webcdr` (one POST per call): `callid` is the external id; the call was answered when `connect` is set;
  billable seconds are `ceil(end − connect)` from the epoch floats; the rated number is `to`. Vodia warns that
  `from` must not drive billing, so it only decides the direction when neither the record nor its legs say
  it: a `from` that is an extension (digits, at most 6) is an outbound call.
- `json:` (one POST per leg, `action` "call-data-record"): `CallID` is the external id; `Direction` I/O;
  outbound calls are rated on `RemoteParty`, inbound ones on `LocalParty` (the DID called); the connect and
  end times are read from the first of several names Vodia's page may use (epoch seconds or ISO 8601).

The tenant comes from the record (`domain`), else from the push URL's `?domain=`; every record gets its
position in the body as its line number. A record seen before is skipped by the import (unique source and
external id), so a repeated push charges nothing.
"""
import json
import math
import re
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation

from voip.cdr_formats import CdrError, CdrRecord
from voip.models import CdrImport
from voip.rating.deck import INBOUND, OUTBOUND
from voip.rating.text import aware_utc
from voip.services.imports import run_import, start_import

MAX_BODY_BYTES = 5 * 1024 * 1024
CONNECT_KEYS = ("Connect", "ConnectTime", "Connected", "connect", "connect_time", "Answer", "AnswerTime", "answer")
END_KEYS = ("End", "EndTime", "Disconnect", "end", "end_time", "Hangup", "hangup")
DIRECTIONS = {"i": INBOUND, "in": INBOUND, "inbound": INBOUND, "o": OUTBOUND, "out": OUTBOUND, "outbound": OUTBOUND}
_URI_USER = re.compile(r"(?:sips?|tel):([^@;>]+)", re.IGNORECASE)
EXTENSION_DIGITS = 6


class PushError(ValueError):
    """The body cannot be read at all (not JSON, not records)."""


def receive_push(*, source, body, account=""):
    """Import one push body (bytes) for a Vodia source. Returns the finished CdrImport; PushError when the
    body is not JSON records (nothing imported)."""
    if len(body) > MAX_BODY_BYTES:
        raise PushError(f"the body is larger than {MAX_BODY_BYTES // (1024 * 1024)} MB")
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise PushError(f"the body is not JSON: {exc}") from None
    records = payload if isinstance(payload, list) else [payload]
    if not records or not all(isinstance(record, dict) for record in records):
        raise PushError("the body must be a JSON object or a list of objects (call data records)")
    items = [parse_record(index, record, account) for index, record in enumerate(records, 1)]
    return run_import(start_import(source=source, kind=CdrImport.Kind.PUSH), items)


def parse_record(line, record, default_account=""):
    """One pushed record as a CdrRecord, or a CdrError with the reason."""
    try:
        if "callid" in record:
            return _webcdr(line, record, default_account)
        if "CallID" in record:
            return _json_leg(line, record, default_account)
        raise ValueError("neither a webcdr record (callid) nor a JSON call data record (CallID)")
    except ValueError as exc:
        return CdrError(line, str(exc), [])


def _webcdr(line, record, default_account):
    external_id = _text(record.get("callid"))
    if not external_id:
        raise ValueError("callid is empty")
    caller, callee = party(record.get("from")), party(record.get("to"))
    direction = _direction(record) or next(filter(None, (_direction(leg) for leg in _legs(record))), None)
    if direction is None:
        direction = OUTBOUND if caller.isdigit() and len(caller) <= EXTENSION_DIGITS else INBOUND
    return _record(line, external_id, direction, caller, callee, callee, record.get("connect"), record.get("end"),
                   _text(record.get("domain")) or default_account)


def _json_leg(line, record, default_account):
    external_id = _text(record.get("CallID"))
    if not external_id:
        raise ValueError("CallID is empty")
    direction = _direction(record)
    if direction is None:
        raise ValueError(f"Direction must be I or O, not {record.get('Direction')!r}")
    local = party(record.get("LocalParty")) or _text(record.get("Extension"))
    remote = party(record.get("RemoteParty"))
    if direction == OUTBOUND:
        caller, callee, number = local, remote, remote
    else:
        caller, callee, number = remote, local, local
    connect = next((record[key] for key in CONNECT_KEYS if record.get(key) not in (None, "")), None)
    end = next((record[key] for key in END_KEYS if record.get(key) not in (None, "")), None)
    account = _text(record.get("Domain") or record.get("domain")) or default_account
    return _record(line, external_id, direction, caller, callee, number, connect, end, account)


def _record(line, external_id, direction, caller, callee, number, connect, end, account):
    answer_time = _moment(connect, "connect")
    if answer_time is None:
        return CdrRecord(line, external_id, direction, caller, callee, number, None, 0, "not connected",
                         "not answered (no connect time)", [], account)
    ended = _moment(end, "end")
    if ended is None:
        raise ValueError("a connected call without an end time")
    seconds = (ended - answer_time).total_seconds()
    if seconds < 0:
        raise ValueError("the end time is before the connect time")
    billsec = math.ceil(round(seconds, 3))  # ceil(end − connect), to the millisecond (no float dust)
    return CdrRecord(line, external_id, direction, caller, callee, number, answer_time, billsec, "connected", "",
                     [], account)


def _moment(value, name):
    """Epoch seconds (number or numeric text) or ISO 8601 text as an aware UTC datetime; None when unset."""
    if value in (None, "", 0, "0"):
        return None
    if isinstance(value, str) and not _numeric(value):
        return aware_utc(value, name)
    try:
        return datetime.fromtimestamp(float(Decimal(str(value))), UTC)
    except (InvalidOperation, OverflowError, OSError, ValueError):
        raise ValueError(f"{name} is not a time: {value!r}") from None


def _numeric(text):
    try:
        Decimal(text)
    except InvalidOperation:
        return False
    return True


def _legs(record):
    legs = record.get("legs")
    return [leg for leg in legs if isinstance(leg, dict)] if isinstance(legs, list) else []


def _direction(record):
    value = record.get("Direction", record.get("direction"))
    return DIRECTIONS.get(_text(value).lower()) if value is not None else None


def _text(value):
    return "" if value is None else str(value).strip()


def party(value):
    """The number or user of a party: `"Name" <sip:101@tenant>` → 101; plain text as it is."""
    text = _text(value)
    found = _URI_USER.search(text)
    return found.group(1).strip() if found else text.strip('"<> ')
