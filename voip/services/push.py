"""CDRs that Vodia pushes to the portal (shared/providers/cdr-formats.md §4), imported as they arrive.

The body is read by the Vodia module's parser (`provisioning.modules.vodia.cdrs.parse_pushed_cdrs`,
docs/voip-providers.md §5.2: both the `json:` leg scheme and `webcdr:`), with the tenant from the push URL's
`?domain=` (json legs name no domain) and the DIDs of the source's services for its direction rule; every
record gets its position in the body as its line number. Each push is one import batch: a record seen before
is skipped (unique source and external id), so a repeated push charges nothing.

The services a push may belong to are read once a minute per source and process, not on every push (a PBX
pushes one request per call).
"""
import json
import time

from provisioning.modules.vodia.cdrs import parse_pushed_cdrs
from voip.models import CdrImport
from voip.services.imports import run_import, start_import
from voip.services.matching import matcher_for

MAX_BODY_BYTES = 5 * 1024 * 1024
MATCHER_MAX_AGE = 60  # seconds a source's service identifiers are reused between pushes
_matchers = {}  # (source id, created at) → (built at, ServiceMatcher)


class PushError(ValueError):
    """The body cannot be read at all (too large, not JSON): nothing is imported."""


def push_matcher(source):
    now = time.monotonic()
    key = (source.pk, source.created_at)
    cached = _matchers.get(key)
    if cached is None or now - cached[0] > MATCHER_MAX_AGE:
        cached = _matchers[key] = (now, matcher_for(source))
    return cached[1]


def receive_push(*, source, body, account=""):
    """Import one push body (bytes) for a Vodia source. Returns the finished CdrImport; PushError when the
    body is not JSON (nothing imported)."""
    if len(body) > MAX_BODY_BYTES:
        raise PushError(f"the body is larger than {MAX_BODY_BYTES // (1024 * 1024)} MB")
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise PushError(f"the body is not JSON: {exc}") from None
    matcher = push_matcher(source)
    options = source.options or {}
    items = parse_pushed_cdrs(
        payload, tenant=account, dids=matcher.dids, region=options.get("default_region") or "US",
        local_npa=tuple(options.get("local_npa") or ()), time_zone=source.time_zone or "UTC",
    )
    return run_import(start_import(source=source, kind=CdrImport.Kind.PUSH), items, matcher=matcher)
