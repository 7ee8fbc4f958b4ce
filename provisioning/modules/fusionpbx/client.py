"""FusionPBX over the AccelerateNetworks REST add-on (shared/providers/fusionpbx.md §2): what Create and Test
connection use (docs/voip-providers.md §4.1). Suspension and call records go to FusionPBX's database instead
(database.py), since the add-on can neither switch anything off nor list call records for billing.

Every call is `POST <api_path>` with HTTP Basic (key_uuid / key secret) and a JSON body `{"action": …}`.
Answers are a JSON row, a list of rows, or `{"error": …}` with a status; the add-on answers some refusals
(e.g. "extension already exists") with 500, so 5xx bodies are read here rather than by ProviderHTTP: those are
permanent, any other 5xx is temporary.
"""
from provisioning.modules.base import ModuleError
from provisioning.modules.voip_common import ProviderError, basic_auth, decoded_json, provider_http

# Calls that only read, or set a state to a fixed value: safe to repeat after a transport failure.
REPEATABLE = frozenset({"domain-details", "extension-list", "extension-details"})
# The add-on's 500 answers that are refusals, not failures: a person must act (any other 5xx is retried).
REFUSALS = frozenset({"domain not found", "extension already exists"})


class FusionPbxError(ProviderError):
    """An error answer: `status` and the add-on's `error` text."""

    def __init__(self, message, *, status, error="", permanent=True):
        super().__init__(message, status=status, permanent=permanent)
        self.error = error


class NotFound(FusionPbxError):
    pass


class FusionPbxClient:
    def __init__(self, server, settings):
        self.server = server
        self.where = f"FusionPBX at {server.base_url}"
        self.path = settings["api_path"]
        self.http = provider_http(server.base_url, settings, verify=server.verify_tls, raise_for_5xx=False)
        self.headers = {**basic_auth(server.username, server.password), "Accept": "application/json"}

    def call(self, action, **params):
        """One add-on action; returns the decoded answer."""
        return self._post({"action": action, **params})

    def _post(self, body):
        action = body["action"]
        response = self.http.request("POST", self.path, json=body, headers=self.headers,
                                     idempotent=action in REPEATABLE)
        status = response.status_code
        error = _json_error(response) if status >= 300 else None
        if status >= 500 and _error_text(error) not in REFUSALS:
            detail = f" ({_error_text(error)})" if error else ""
            raise ModuleError(f"{self.where} answered {status} to {action}{detail}; it will be retried.")
        data = decoded_json(response, self.where)
        error = data.get("error") if isinstance(data, dict) else None
        if status < 300 and error is None:
            return data
        raise self._error(action, status, error)

    def _error(self, action, status, error):
        text = _error_text(error)
        if status == 401 or text == "unauthorized":
            return FusionPbxError(
                f"{self.where} refused the REST API key (401 unauthorized). Check the server's username (the key's "
                "key_uuid) and password (the key secret) in Provisioning › Servers; the key must exist in FusionPBX's "
                "REST API app.", status=401, error=text,
            )
        if status == 404 or text.endswith("not found"):
            return NotFound(f"{self.where}: {text or 'not found'} ({action}).", status=status, error=text)
        return FusionPbxError(f"{self.where} refused {action} ({status}): {text or 'no reason given'}.",
                              status=status, error=text)


def _json_error(response):
    try:
        data = response.json()
    except ValueError:
        return None
    return data.get("error") if isinstance(data, dict) else None


def _error_text(error):
    """The add-on's error as text: a string, or the nested {"error": …, "missing_parameters": …} object."""
    if isinstance(error, dict):
        missing = error.get("missing_parameters")
        if isinstance(missing, (list, tuple)):
            missing = ", ".join(str(item) for item in missing)
        text = str(error.get("error") or "")
        return f"{text}: {missing}" if missing else text
    return str(error or "")
