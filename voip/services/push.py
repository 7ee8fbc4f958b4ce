"""CDRs that Vodia pushes to the portal (shared/providers/cdr-formats.md §4), imported as they arrive.

The body is read by the Vodia module's parser (`provisioning.modules.vodia.cdrs.parse_pushed_cdrs`,
docs/voip-providers.md §5.2: both the `json:` leg scheme and `webcdr:`), with the tenant from the push URL's
`?domain=` (json legs name no domain) and the DIDs of the source's services for its direction rule; every
record gets its position in the body as its line number. Each push is one import batch: a record seen before
is skipped (unique source and external id), so a repeated push charges nothing.

The services a push may belong to (with their clients' time zones) are read once a minute per source and
process, not on every push (a PBX pushes one request per call).

Who may push (`admit_push`, docs/voip-providers.md §5.2), in this order, each refusal a PushRefused with its HTTP
status:

1. an address with too many failed authentications this minute gets 429 before its credentials are looked at
   (the API's per-address counter, portal.network: a brute force on either counts against both);
2. HTTP Basic with the source's push user and password, compared in constant time (as SHA-256 digests, so
   neither the length nor an unknown source shows in the timing), else 401 — an unknown or disabled source
   gets the same 401;
3. the source's IP allow-list, after the credentials so that it cannot be probed without them, else 403;
4. the source's pushes per minute (portal.network's cache counter under its own key), else 429;
5. the body's size (Content-Length before it is read, then the bytes), else 413.

429 answers carry Retry-After (the seconds left in the minute window). Each refusal is logged (logger
"voip.services.push", a warning) and counted on the source when the source is known (push_refusals, when and
why the last one was): not an ActivityLog row per request, which a flood would turn into a flood of rows. A
refusal repeated in the same minute from the same address with the same status is counted and logged once.
"""
import hashlib
import hmac
import json
import logging
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.db.models import F
from django.utils import timezone

from portal.network import count_failed_auth, failed_auth_limited, rate_limited
from provisioning.modules.vodia.cdrs import parse_pushed_cdrs
from voip.models import CdrImport, CdrSource
from voip.services.imports import run_import, start_import
from voip.services.matching import matcher_for

logger = logging.getLogger(__name__)

MATCHER_MAX_AGE = 60  # seconds a source's service identifiers are reused between pushes
_matchers = {}  # (source id, created at) → (built at, ServiceMatcher)


class PushError(ValueError):
    """The body cannot be read at all (not JSON): nothing is imported."""


class PushRefused(Exception):
    """The push is not let in: `status` is the HTTP answer (401, 403, 413, 429), `retry_after` seconds for 429."""

    def __init__(self, status, message, *, retry_after=None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.retry_after = retry_after


@dataclass(frozen=True)
class _PushCaller:
    """What portal.network.rate_limited counts: one source's pushes, under a key of their own."""

    source_id: int
    rate_limit: int

    @property
    def rate_id(self):
        return f"cdr-push:{self.source_id}"


def max_body_bytes():
    return settings.VOIP_PUSH_MAX_BYTES  # below DATA_UPLOAD_MAX_MEMORY_SIZE's 2.5 MB default


def rate_limit_of(source):
    return source.push_rate_limit or settings.VOIP_PUSH_RATE_LIMIT


def seconds_left_in_minute(now=None):
    """Retry-After for the minute windows of portal.network's counters: the seconds until the next window."""
    return 60 - int((now or timezone.now()).timestamp()) % 60


def _digest(text):
    return hashlib.sha256((text or "").encode()).digest()


def credentials_match(source, user, password):
    """Both the user and the password, compared in constant time; an unknown source or one without push
    credentials is compared against blanks (and never matches), so the timing tells nothing."""
    expected_user = source.push_username if source is not None else ""
    expected_password = source.push_password if source is not None else ""
    same_user = hmac.compare_digest(_digest(user), _digest(expected_user))
    same_password = hmac.compare_digest(_digest(password), _digest(expected_password))
    return bool(expected_user and expected_password) & same_user & same_password


AUTHENTICATION_REQUIRED = "authentication required"  # every 401 says only this: the log says why


def refuse(source_id, ip, status, reason, *, retry_after=None):
    """Log and count one refusal (once per minute, address and status), and return the PushRefused to raise
    (its message is `reason`, but for 401: the caller learns nothing about the source or which part was wrong)."""
    window = int(timezone.now().timestamp() // 60)
    if cache.add(f"cdr-push-refused:{source_id}:{ip}:{status}:{window}", 1, timeout=120):
        logger.warning("Vodia CDR push to source %s from %s refused (%s): %s", source_id, ip, status, reason)
        if source_id is not None:
            CdrSource.objects.filter(pk=source_id).update(
                push_refusals=F("push_refusals") + 1, push_last_refused_at=timezone.now(),
                push_last_refusal=f"{status} from {ip}: {reason}"[:255],
            )
    return PushRefused(status, AUTHENTICATION_REQUIRED if status == 401 else reason, retry_after=retry_after)


def admit_push(*, source_id, credentials, ip, content_length=None):
    """The enabled Vodia source a push may go to, or PushRefused (the order is the module's doc).
    `credentials`: (user, password) from HTTP Basic, or None; `content_length`: the header's value, if any."""
    if failed_auth_limited(ip):
        raise refuse(None, ip, 429, "too many failed authentications from this address",
                     retry_after=seconds_left_in_minute())
    source = CdrSource.objects.filter(pk=source_id, kind=CdrSource.Kind.VODIA, enabled=True).first()
    user, password = credentials or ("", "")
    if not credentials_match(source, user, password):
        count_failed_auth(ip)
        known = source.pk if source is not None else None
        why = "no user and password" if credentials is None else "wrong user or password"
        raise refuse(known, ip, 401, why if source is not None else f"{why} (no enabled Vodia source {source_id})")
    if not source.push_ip_allowed(ip):
        count_failed_auth(ip)
        raise refuse(source.pk, ip, 403, "the address is not on the source's allow-list")
    if rate_limited(_PushCaller(source.pk, rate_limit_of(source))):
        raise refuse(source.pk, ip, 429, f"more than {rate_limit_of(source)} pushes this minute",
                     retry_after=seconds_left_in_minute())
    if content_length is not None and content_length > max_body_bytes():
        raise too_large(source, ip)
    return source


def too_large(source, ip):
    return refuse(source.pk, ip, 413, f"the body is larger than {max_body_bytes()} bytes")


def push_matcher(source):
    now = time.monotonic()
    key = (source.pk, source.created_at)
    cached = _matchers.get(key)
    if cached is None or now - cached[0] > MATCHER_MAX_AGE:
        cached = _matchers[key] = (now, matcher_for(source))
    return cached[1]


def receive_push(*, source, body, account=""):
    """Import one push body (bytes) for a Vodia source. Returns the finished CdrImport; PushError when the
    body is not JSON (nothing imported). The caller admits the push first (admit_push, too_large)."""
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise PushError(f"the body is not JSON: {exc}") from None
    except RecursionError:  # thousands of nested brackets: no CDR is shaped so
        raise PushError("the body is not CDR JSON: it is nested too deeply") from None
    matcher = push_matcher(source)
    options = source.options or {}
    items = parse_pushed_cdrs(
        payload, tenant=account, dids=matcher.dids, region=options.get("default_region") or "US",
        local_npa=tuple(options.get("local_npa") or ()), time_zone=source.time_zone or "UTC",
    )
    return run_import(start_import(source=source, kind=CdrImport.Kind.PUSH), items, matcher=matcher)
