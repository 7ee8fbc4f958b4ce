"""A thin client for Modoboa's REST API v2 (shared/providers/modoboa.md) over ProviderHTTP.

It sends the DRF token (`Authorization: Token <key>`), waits out Modoboa's throttling (429 with Retry-After;
a throttled request was not carried out, so repeating it is always safe), follows pagination, and turns error
answers into ModuleErrors with the API's own words:

    400 {"name": ["domain with this name already exists."]}  -> "name: domain with this name already exists."
    409 {"error": "User 'admin@d' already exists"}            -> "User 'admin@d' already exists"
    401/403                                                   -> permanent: the server's API token is wrong
    404                                                       -> NotFound (callers decide: often "already gone")
    400 with an HTML page                                     -> permanent: the host name is not in ALLOWED_HOSTS
"""
import time

from provisioning.http import ProviderHTTP
from provisioning.modules.base import ModuleError

PAGE_SIZE = 250
PLAIN_KEYS = {"detail", "error", "status", "non_field_errors"}  # messages that name no field


class ModoboaError(ModuleError):
    """An error answer from Modoboa: `status`, and `fields` (the JSON error body, {} when there was none)."""

    def __init__(self, message, *, status, fields=None, permanent=True):
        super().__init__(message, permanent=permanent)
        self.status = status
        self.fields = fields or {}


class NotFound(ModoboaError):
    pass


class ModoboaClient:
    def __init__(self, base_url, token, *, verify=True, host_header="", throttle_wait=30, http=None):
        self.base_url = base_url.rstrip("/")
        self.http = http or ProviderHTTP(self.base_url, verify=verify)
        self.headers = {"Authorization": f"Token {token}", "Accept": "application/json"}
        if host_header:
            self.headers["Host"] = host_header
        self.throttle_wait = throttle_wait

    def call(self, method, path, body=None, *, params=None, idempotent=None):
        """One API call (path under /api/v2/ unless it starts with /); returns the decoded JSON or None."""
        url = path if path.startswith("/") else f"/api/v2/{path}"
        waited = 0.0
        while True:
            response = self.http.request(
                method, url, json=body, params=params, headers=self.headers, idempotent=idempotent
            )
            if response.status_code != 429:
                break
            pause = _retry_after(response)
            if waited + pause > self.throttle_wait:
                raise ModuleError(
                    f"Modoboa at {self.base_url} is throttling the portal's requests ({method} {url}); "
                    "it will be retried.", permanent=False,
                )
            time.sleep(pause)
            waited += pause
        if response.status_code >= 300:
            raise self._error(method, url, response)
        if not response.content:
            return None
        try:
            return response.json()
        except ValueError:
            raise ModoboaError(
                f"{self.base_url} answered {method} {url} with something that is not JSON: is this Modoboa's address?",
                status=response.status_code,
            ) from None

    def pages(self, path, params=None):
        """Every result of a paginated list, following `next`."""
        params = {**(params or {}), "page_size": PAGE_SIZE, "page": 1}
        while True:
            data = self.call("GET", path, params=params)
            yield from data["results"]
            if not data.get("next"):
                return
            params["page"] += 1

    def _error(self, method, url, response):
        status = response.status_code
        try:
            body = response.json()
        except ValueError:
            body = None
        where = f"Modoboa at {self.base_url}"
        if status in (401, 403):
            detail = _flatten(body) if body else f"HTTP {status}"
            return ModoboaError(
                f"{where} refused the portal's API token ({status}: {detail}). Check the server's API token: "
                "it must be the DRF token of a super administrator (or a reseller).", status=status, fields=body,
            )
        if status == 404:
            return NotFound(f"{where}: {_flatten(body) if body else 'not found'} ({method} {url}).", status=404,
                            fields=body)
        if body is None and status == 400:
            return ModoboaError(
                f"{where} answered 400 with a web page, not JSON: the host name the portal uses is probably not in "
                "Modoboa's ALLOWED_HOSTS (add it there, or set the server's Host header setting).", status=400,
            )
        detail = _flatten(body) if body else (response.text or "").strip()[:200]
        return ModoboaError(f"{where} refused {method} {url} ({status}): {detail}", status=status, fields=body)


def _retry_after(response):
    try:
        return max(1.0, float(response.headers.get("Retry-After", 1)))
    except ValueError:
        return 1.0


def _flatten(body, field=""):
    """Modoboa's error bodies as one sentence: {"mailbox": {"quota": ["Bad"]}} -> "mailbox.quota: Bad"."""
    if isinstance(body, dict):
        return "; ".join(
            _flatten(value, field if key in PLAIN_KEYS else f"{field}.{key}".lstrip(".")) for key, value in body.items()
        )
    text = " ".join(str(item) for item in body) if isinstance(body, list) else str(body)
    return f"{field}: {text}" if field else text
