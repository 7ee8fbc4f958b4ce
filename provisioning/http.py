"""The one HTTP client every provisioning module uses: timeouts on every call, retries only where a repeat is
safe, secrets redacted from what is logged, and each exchange kept for the ModuleCall record.

    http = ProviderHTTP(server.base_url, verify=server.verify_tls)
    response = http.request("POST", "/api/v1/settings/sysadmin/domain-put", json={...})

Transport failures (timeout, refused or dropped connection) become temporary ModuleErrors. HTTP status codes
are the module's to interpret (a 401 may mean "refresh the token"), except that a 5xx left after the retries
is a temporary ModuleError too when `raise_for_5xx` is on (the default).
"""
import contextvars
import logging
import os
import re
import threading
import time
from contextlib import contextmanager

import requests
from requests.adapters import HTTPAdapter

from provisioning.modules.base import ModuleError

logger = logging.getLogger("provisioning.http")

SAFE_TO_REPEAT = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
RETRY_STATUSES = frozenset({502, 503, 504})
SECRET_NAME = re.compile(r"pass|secret|token|authorization|api[-_]?key|hash|cookie", re.IGNORECASE)
REDACTED = "***"

# The exchanges of the module call under way (see `recording`), for ModuleCall.request.
_trail = contextvars.ContextVar("provider_http_trail", default=None)


def redact(value):
    """A copy of a JSON-like value with every secret-looking key's value replaced."""
    if isinstance(value, dict):
        return {k: REDACTED if SECRET_NAME.search(str(k)) else redact(v) for k, v in value.items()}
    if isinstance(value, list):
        return [redact(item) for item in value]
    return value


def note_exchange(entry):
    """Keep one exchange with the provider for the module call under way (a no-op outside `recording`). HTTP
    requests note themselves; modules that talk another protocol (FusionPBX's database and event socket) note
    theirs with `method` = "SQL" / "ESL", the server in `url` and the statement or command in `body`."""
    trail = _trail.get()
    if trail is not None:
        trail.append(entry)


@contextmanager
def recording():
    """Collect the HTTP exchanges made inside the block: `with recording() as exchanges: module.create(...)`."""
    exchanges = []
    token = _trail.set(exchanges)
    try:
        yield exchanges
    finally:
        _trail.reset(token)


class ProviderHTTP:
    def __init__(self, base_url, *, verify=True, connect_timeout=5, read_timeout=30, retries=2, backoff=0.3,
                 raise_for_5xx=True, session=None):
        self.base_url = base_url.rstrip("/")
        self.verify = verify
        self.timeout = (connect_timeout, read_timeout)
        self.retries = retries
        self.backoff = backoff
        self.raise_for_5xx = raise_for_5xx
        if session is None:
            session = requests.Session()
            self._read_environment_once(session)
        self.session = session
        # A bigger pool: usage and automation runs fan out many concurrent calls per server.
        adapter = HTTPAdapter(pool_connections=4, pool_maxsize=32)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)

    def _read_environment_once(self, session):
        """What requests reads from the environment on every request (proxy variables, a CA bundle, ~/.netrc),
        read once here: the netrc lookup alone, two file-system checks a request, was a sixth of the CPU of the
        automation pass's provider calls. Proxies (HTTPS_PROXY, NO_PROXY…) and REQUESTS_CA_BUNDLE /
        CURL_CA_BUNDLE keep working; ~/.netrc credentials are not used (providers have their own)."""
        session.trust_env = False
        proxies = requests.utils.get_environ_proxies(self.base_url)  # {} when NO_PROXY covers the provider
        session.proxies.update({scheme: url for scheme, url in proxies.items() if scheme != "no"})
        if self.verify is True:
            self.verify = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or True

    def request(self, method, path, *, json=None, data=None, params=None, headers=None, idempotent=None):
        """Send one request; repeat it on a transport failure or 502/503/504 only when repeating is safe
        (GET/PUT/DELETE…, or `idempotent=True` for a POST the API documents as idempotent)."""
        method = method.upper()
        url = path if path.startswith("http") else f"{self.base_url}/{path.lstrip('/')}"
        repeatable = idempotent if idempotent is not None else method in SAFE_TO_REPEAT
        attempts = 1 + (self.retries if repeatable else 0)
        for attempt in range(1, attempts + 1):
            started = time.monotonic()
            try:
                response = self.session.request(
                    method, url, json=json, data=data, params=params, headers=headers,
                    timeout=self.timeout, verify=self.verify,
                )
            except (requests.Timeout, requests.ConnectionError) as exc:
                self._note(method, url, json or data, None, started, error=type(exc).__name__)
                if attempt < attempts:
                    time.sleep(self.backoff * attempt)
                    continue
                kind = "timed out" if isinstance(exc, requests.Timeout) else "could not connect or the connection dropped"
                raise ModuleError(f"The provider at {self.base_url} {kind} ({method} {path}).") from exc
            self._note(method, url, json or data, response, started)
            if response.status_code in RETRY_STATUSES and attempt < attempts:
                time.sleep(self.backoff * attempt)
                continue
            if response.status_code >= 500 and self.raise_for_5xx:
                raise ModuleError(
                    f"The provider at {self.base_url} answered {response.status_code} to {method} {path}; "
                    f"it will be retried."
                )
            return response

    def _note(self, method, url, body, response, started, error=""):
        entry = {
            "method": method,
            "url": url,
            "body": redact(body) if isinstance(body, (dict, list)) else (REDACTED if body else None),
            "status": response.status_code if response is not None else None,
            "ms": int((time.monotonic() - started) * 1000),
        }
        if error:
            entry["error"] = error
        logger.debug("%s %s -> %s", method, url, entry["status"] or error)
        note_exchange(entry)


class ServerConnections:
    """What one module's API clients share per server within a process (Celery thread pools and the usage
    fan-out call a server from many threads): a connection pool per server and timeouts, a lock per server so
    that one thread logs in while the others wait for its token, and the tokens themselves (`tokens`, server
    key -> whatever the module keeps; read and written under that server's lock)."""

    def __init__(self):
        self.tokens = {}
        self._pools = {}
        self._locks = {}
        self._guard = threading.Lock()

    def open(self, key, base_url, *, verify, connect_timeout, read_timeout, **options):
        """(ProviderHTTP, lock) of the server `key`: made on first use, then shared."""
        pool_key = (*key, connect_timeout, read_timeout, verify)
        with self._guard:
            lock = self._locks.setdefault(key, threading.Lock())
            http = self._pools.get(pool_key)
            if http is None:
                http = self._pools[pool_key] = ProviderHTTP(
                    base_url, verify=verify, connect_timeout=connect_timeout, read_timeout=read_timeout, **options,
                )
        return http, lock

    def forget(self):
        """Drop every cached token and connection pool (tests; a server's credentials changed)."""
        with self._guard:
            self.tokens.clear()
            self._pools.clear()
