"""PolarisMail / EmailArray API client (shared/providers/polarismail.md): the form-encoded envelope, admin
tokens, the user API, and the fallback host.

- Every admin call is `POST <admin URL>` with `action` and `token`; the answer is {"returncode", "returndata"}.
  returncode 1 gives returndata; 0 raises PolarisMailError with the vendor's words (and a Reason when the
  words are recognised).
- Admin tokens are kept per server for `token_cache_seconds` (300 s, as the vendor's client does) and shared
  by threads; an answer that says the token is invalid or expired logs in again once and repeats the call.
- An admin call answered with HTTP 5xx is sent once more to the fallback admin URL (cp.emailarray.com), as
  the vendor's client does; a 5xx from both is a temporary error.
- User calls (forwards) need a user token: `user_token(local, domain)` asks the admin API for a one-time
  password and logs in as the mailbox on the user API.
"""
import re
import time
from urllib.parse import urlencode

from provisioning.http import ServerConnections
from provisioning.modules.base import ModuleError
from provisioning.modules.mailboxes import MailboxError, Reason, reason_from_words

ADMIN_PATH = "/admin/json.php"
USER_PATH = "/json.php"
TOKEN_WORDS = re.compile(r"\btoken\b", re.IGNORECASE)

# The API has no error codes: its messages (returndata) are read by their words; any other refusal of a value.
OTHER_REFUSAL = re.compile(r"invalid|must be|too large", re.IGNORECASE)


class PolarisMailError(MailboxError):
    """returncode 0: `vendor_message` is returndata as the API wrote it."""

    def __init__(self, message, *, vendor_message, reason=""):
        super().__init__(message, reason=reason, permanent=True)
        self.vendor_message = vendor_message


_connections = ServerConnections()  # tokens: server key -> (token, time it was issued)


def forget_tokens():
    """Drop every cached admin token and connection pool (tests; a server's credentials changed)."""
    _connections.forget()


def reason_of(vendor_message):
    return reason_from_words(vendor_message) or (Reason.INVALID if OTHER_REFUSAL.search(vendor_message) else "")


class PolarisMailClient:
    def __init__(self, server, *, settings):
        self.server = server
        base = server.base_url.rstrip("/")
        self.admin_url = base + ADMIN_PATH
        self.fallback_url = settings["fallback_url"].rstrip("/") + ADMIN_PATH if settings["fallback_url"] else ""
        self.user_url = settings["user_api_url"] or base + USER_PATH
        self.token_seconds = settings["token_cache_seconds"]
        self.key = (server.id, base, server.username)
        self.http, self._lock = _connections.open(
            self.key, base, verify=server.verify_tls, connect_timeout=settings["connect_timeout"],
            read_timeout=settings["read_timeout"], raise_for_5xx=False,
        )

    # --- admin API -----------------------------------------------------------------------------------------

    def call(self, action, params=None, *, read=False, opaque=False):
        """One admin action: returns returndata, raises PolarisMailError (returncode 0) or ModuleError.
        `read`: safe to repeat on a transport failure. `opaque`: the body is too big or too private for the
        call log (a logo), so it is logged as redacted."""
        body = self.call_raw(action, params, read=read, opaque=opaque)
        if _succeeded(body):
            return body.get("returndata")
        raise self._refusal(action, body)

    def remove(self, action, params):
        """An action that removes something: already gone counts as done. Returns whether it was there."""
        try:
            self.call(action, params)
        except PolarisMailError as exc:
            if exc.reason != Reason.NOT_FOUND:
                raise
            return False
        return True

    def call_raw(self, action, params=None, *, read=False, opaque=False):
        """The decoded answer {"returncode", "returndata", …} as it came, after renewing a stale token once."""
        token = self._token()
        body = self._admin(dict(params or {}, action=action, token=token), read=read, opaque=opaque)
        if not _succeeded(body) and TOKEN_WORDS.search(str(body.get("returndata", ""))):
            token = self._token(stale=token)
            body = self._admin(dict(params or {}, action=action, token=token), read=read, opaque=opaque)
        return body

    def login(self):
        """Log in as the reseller now (not from the cache); returns the admin token."""
        body = self._admin({"action": "login", "username": self.server.username, "password": self.server.password},
                           read=True)
        if not _succeeded(body) or not body.get("returndata"):
            raise ModuleError(
                f"PolarisMail refused the login of '{self.server.username}' ({body.get('returndata') or 'no reason'}). "
                "Check the API username and password on the server page.", permanent=True,
            )
        return str(body["returndata"])

    def _token(self, stale=None):
        with self._lock:
            cached = _connections.tokens.get(self.key)
            if cached and cached[0] != stale and time.monotonic() - cached[1] < self.token_seconds:
                return cached[0]
            token = self.login()
            _connections.tokens[self.key] = (token, time.monotonic())
            return token

    def _admin(self, form, *, read, opaque=False):
        response = self._post(self.admin_url, form, read=read, opaque=opaque)
        if response.status_code >= 500 and self.fallback_url:
            response = self._post(self.fallback_url, form, read=read, opaque=opaque)
        return self._decode(response, form["action"])

    # --- user API ------------------------------------------------------------------------------------------

    def user_token(self, local, domain):
        """Log in as a mailbox with a one-time password (admin getOTPass, then the user API's login)."""
        otp = self.call("getOTPass", {"username": local, "domain": domain})
        body = self._decode(self._post(self.user_url, {"action": "login", "username": local, "password": str(otp),
                                                       "domain": domain}, read=False), "login")
        if not _succeeded(body) or not body.get("returndata"):
            raise self._refusal("login", body)
        return str(body["returndata"])

    def user_call(self, user_token, action, params=None):
        body = self._decode(self._post(self.user_url, dict(params or {}, action=action, token=user_token), read=False),
                            action)
        if _succeeded(body):
            return body.get("returndata")
        raise self._refusal(action, body)

    # --- envelope ------------------------------------------------------------------------------------------

    def _post(self, url, form, *, read, opaque=False):
        if opaque:
            return self.http.request("POST", url, data=urlencode(form), idempotent=read,
                                     headers={"Content-Type": "application/x-www-form-urlencoded"})
        return self.http.request("POST", url, data=form, idempotent=read)

    def _decode(self, response, action):
        where = f"PolarisMail at {self.server.hostname}"
        if response.status_code >= 500:
            raise ModuleError(
                f"{where} answered HTTP {response.status_code} to {action}"
                f"{' (and so did the fallback server)' if self.fallback_url else ''}; it will be retried."
            )
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict) or "returncode" not in body:
            raise ModuleError(
                f"{where} answered {action} with HTTP {response.status_code} and no PolarisMail answer. Is the "
                "server's address right (the admin API is <address>/admin/json.php)?",
                permanent=response.status_code < 500,
            )
        return body

    def _refusal(self, action, body):
        vendor = str(body.get("returndata") or "No reason was given")
        return PolarisMailError(
            f"PolarisMail refused {action}: {vendor}", vendor_message=vendor, reason=reason_of(vendor)
        )


def _succeeded(body):
    return str(body.get("returncode")) == "1"
