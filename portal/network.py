"""Who calls from where, shared by every endpoint that takes calls from outside: the staff APIs (api.security)
and the Vodia CDR push (voip.services.push). The caller's address (`client_ip`, the one rule every caller uses:
django-axes through AXES_CLIENT_IP_CALLABLE, the API allow-lists and limits, the push limits, the audit log), IP
allow-lists, and the per-minute cache counters of calls and failed authentications (with Redis as the cache,
every web process shares them).

It is on the ground floor so that voip and api both import it, and neither imports the other for it."""
import ipaddress

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone


def client_ip(request):
    """The address of whoever sent `request` (docs/security.md, *The client address*).

    With TRUSTED_PROXY_COUNT = 0 (nothing in front of the portal) it is the connection's REMOTE_ADDR and
    X-Forwarded-For is ignored: anybody can write that header. With N trusted proxies in front, each appends the
    address it saw to X-Forwarded-For and the last one is REMOTE_ADDR, so the client is the N-th entry from the
    right: entries further left were written by the client and are never believed. A header with fewer entries
    than proxies, or an entry that is not an address, means the request did not come through them: REMOTE_ADDR."""
    remote = request.META.get("REMOTE_ADDR") or "0.0.0.0"
    proxies = settings.TRUSTED_PROXY_COUNT
    if proxies <= 0:
        return remote
    forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    if len(forwarded) < proxies:
        return remote
    try:
        return str(ipaddress.ip_address(forwarded[-proxies]))
    except ValueError:
        return remote


def parse_networks(text):
    """The allow-list as ip_network objects; one CIDR or address per line or comma. Raises ValueError."""
    parts = [p.strip() for p in (text or "").replace(",", "\n").splitlines() if p.strip()]
    return [ipaddress.ip_network(p, strict=False) for p in parts]


def address_allowed(ip, allow_list):
    """True when the allow-list text is blank or holds `ip`. An unreadable address, or a stored list that no
    longer parses, allows nothing."""
    try:
        networks = parse_networks(allow_list)
    except ValueError:
        return False
    if not networks:
        return True
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return False
    return any(address in network for network in networks)


def rate_limited(caller, *, now=None):
    """Count one call in the caller's current minute; True when it is over its limit. `caller` has `rate_id`
    (the counter's key) and `rate_limit` (calls per minute)."""
    return over_limit(f"api-rate:{caller.rate_id}", caller.rate_limit, seconds=60, now=now)


def over_limit(name, limit, *, seconds, now=None):
    """Count one event under `name` in the current window of `seconds`; True when the window holds more than
    `limit` (the storefront's sign-ups and checkouts per address and hour, the API's calls per minute)."""
    window = int((now or timezone.now()).timestamp() // seconds)
    key = f"{name}:{window}"
    cache.add(key, 0, timeout=seconds * 2)
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=seconds * 2)
        count = 1
    return count > limit


def failed_auth_limited(ip):
    """Failed authentications per address and minute: past the limit the address gets only the rate error."""
    window = int(timezone.now().timestamp() // 60)
    return (cache.get(f"api-authfail:{ip}:{window}") or 0) >= settings.API_AUTH_FAILURE_LIMIT


def count_failed_auth(ip):
    window = int(timezone.now().timestamp() // 60)
    key = f"api-authfail:{ip}:{window}"
    cache.add(key, 0, timeout=120)
    cache.incr(key)
