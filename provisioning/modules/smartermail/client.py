"""SmarterMail REST API client: the envelope, the vendor's error codes, and system-admin tokens.

Tokens (shared/providers/smartermail.md §3): log in with the server's system-admin credentials, keep the
access token per server in this process until shortly before `accessTokenExpiration`, then use the refresh
token; when refreshing fails, log in again. A 401 on a call (the token expired early, or the server forgot it)
renews once and repeats the call. The cache is shared by threads (Celery thread pools, the usage fan-out)
and a lock per server makes sure one thread logs in while the others wait for its token.
"""
import time
from dataclasses import dataclass
from datetime import datetime

from provisioning.http import ServerConnections
from provisioning.modules.base import ModuleError

EXPIRY_MARGIN_SECONDS = 30

# The vendor's error codes (the envelope's `message`) as sentences staff can act on.
VENDOR_MESSAGES = {
    "DOMAIN_ADD_ERROR_NAME_IN_USE": "The domain name is already in use on this SmarterMail server.",
    "DOMAIN_ADD_ERROR_INVALID_NAME": "SmarterMail refused the domain name as invalid. Correct the service's domain "
                                     "and create it again.",
    "USER_ADD_ERROR_NAME_IN_USE": "A mailbox with that name already exists on the domain.",
    "USER_ADD_ERROR_INVALID_NAME": "SmarterMail refused the user name as invalid (letters, digits, . _ + - only).",
    "USER_ADD_ERROR_PASSWORD_TOO_SHORT": "SmarterMail refused the password as too short for the server's password "
                                         "policy. Use a longer password.",
}


class SmarterMailError(ModuleError):
    """A SmarterMail answer with success:false or a non-2xx status; `code` is the envelope's message."""

    def __init__(self, message, *, code="", status=None, permanent=True):
        super().__init__(message, permanent=permanent)
        self.code = code
        self.status = status


@dataclass
class _Tokens:
    access: str
    refresh: str
    expires_at: float  # time.time() when the access token runs out

    @property
    def fresh(self):
        return time.time() < self.expires_at - EXPIRY_MARGIN_SECONDS


_connections = ServerConnections()  # tokens: server key -> _Tokens


def forget_tokens():
    """Drop every cached token and connection pool (tests; a server's credentials changed)."""
    _connections.forget()


class SmarterMailClient:
    def __init__(self, server, *, settings):
        self.server = server
        self.key = (server.id, server.base_url, server.username)
        self.api_root = server.base_url.rstrip("/") + "/" + settings["api_path"].strip("/") + "/"
        self.http, self._lock = _connections.open(
            self.key, self.api_root, verify=server.verify_tls, connect_timeout=settings["connect_timeout"],
            read_timeout=settings["read_timeout"],
        )

    # --- calls -------------------------------------------------------------------------------------------

    def call(self, method, path, body=None, *, idempotent=None):
        """A system-admin call: returns the envelope's payload (a dict) or raises SmarterMailError."""
        tokens = self._current_tokens()
        response = self._send(method, path, body, tokens.access, idempotent)
        if response.status_code == 401:
            tokens = self._renew(stale=tokens)
            response = self._send(method, path, body, tokens.access, idempotent)
            if response.status_code == 401:
                raise SmarterMailError(
                    f"SmarterMail at {self.server.hostname} refused a token it had just issued ({method} {path}). "
                    "Check the server's clock and licence, then retry.", code="Unauthorized", status=401,
                )
        return self.payload(response, method, path)

    def call_with_token(self, token, method, path, body=None, *, idempotent=None):
        """A call with another token (a domain admin's from `impersonate_domain`)."""
        return self.payload(self._send(method, path, body, token, idempotent), method, path)

    def impersonate_domain(self, domain):
        """A domain-admin access token for `domain` (SA → manage-domain), for settings/domain/* calls."""
        data = self.call("POST", f"settings/sysadmin/manage-domain/{domain}", {}, idempotent=True)
        return data["impersonateAccessToken"]

    def login(self):
        """Authenticate as the server's system admin now (not from the cache); returns the payload."""
        response = self.http.request(
            "POST", "auth/authenticate-user",
            json={"username": self.server.username, "password": self.server.password}, idempotent=True,
        )
        if response.status_code in (400, 401, 403):
            raise SmarterMailError(
                f"SmarterMail at {self.server.hostname} refused the login of '{self.server.username}'. Check the "
                "username and password on the server page (a system administrator's).",
                code=_code(response), status=response.status_code,
            )
        data = self.payload(response, "POST", "auth/authenticate-user")
        self._store(data)
        return data

    # --- tokens ------------------------------------------------------------------------------------------

    def _current_tokens(self):
        tokens = _connections.tokens.get(self.key)
        if tokens is not None and tokens.fresh:
            return tokens
        return self._renew(stale=tokens)

    def _renew(self, *, stale):
        """Refresh (or log in) once for all threads: whoever holds the lock renews, the others reuse it."""
        with self._lock:
            current = _connections.tokens.get(self.key)
            if current is not None and current is not stale and current.fresh:
                return current
            if current is not None:
                response = self.http.request("POST", "auth/refresh-token", json={"token": current.refresh})
                if response.status_code == 200 and _ok(response):
                    return self._store(response.json())
            self.login()
            return _connections.tokens[self.key]

    def _store(self, data):
        tokens = _Tokens(data["accessToken"], data.get("refreshToken", ""), _expiry(data.get("accessTokenExpiration")))
        _connections.tokens[self.key] = tokens
        return tokens

    # --- envelope ----------------------------------------------------------------------------------------

    def _send(self, method, path, body, token, idempotent):
        return self.http.request(
            method, path, json=body if method != "GET" else None,
            headers={"Authorization": f"Bearer {token}", "Accept": "application/json"}, idempotent=idempotent,
        )

    def payload(self, response, method, path):
        """The JSON payload of a successful answer. SmarterMail clients disagree on how failure shows (HTTP
        status or `success:false`), so both are checked."""
        try:
            data = response.json()
        except ValueError:
            data = None
        if not isinstance(data, dict):
            raise SmarterMailError(
                f"SmarterMail at {self.server.hostname} answered {method} {path} with HTTP {response.status_code} "
                "and no JSON. Is the server's address (and API path) right?",
                status=response.status_code, permanent=response.status_code < 500,
            )
        if 200 <= response.status_code < 300 and data.get("success", True) is not False:
            return data
        code = str(data.get("message") or "")
        if response.status_code == 403:
            raise SmarterMailError(
                f"SmarterMail at {self.server.hostname} answered 403 Forbidden to {method} {path}: the account "
                f"'{self.server.username}' is not a system administrator. Use a system-admin login on the server page.",
                code=code, status=403,
            )
        readable = VENDOR_MESSAGES.get(code) or (f"SmarterMail said: {code}." if code else "No reason was given.")
        raise SmarterMailError(
            f"{readable} ({method} {path}, HTTP {response.status_code})", code=code, status=response.status_code,
            permanent=response.status_code != 429,
        )


def _ok(response):
    try:
        return response.json().get("success", True) is not False
    except (ValueError, AttributeError):
        return False


def _code(response):
    try:
        return str(response.json().get("message") or "")
    except (ValueError, AttributeError):
        return ""


def _expiry(value):
    """accessTokenExpiration (ISO-8601) as a timestamp; unknown means 'assume a few minutes'."""
    if value:
        try:
            return datetime.fromisoformat(str(value).replace("Z", "+00:00")).timestamp()
        except ValueError:
            pass
    return time.time() + 300
