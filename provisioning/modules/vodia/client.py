"""Vodia PBX REST API client (shared/providers/vodia.md): HTTP Basic on every call, JSON bodies, and the
status codes as ModuleErrors staff can act on (401 wrong credentials, 403 no "API access", 404 not found)."""
from urllib.parse import quote

from provisioning.modules.voip_common import ProviderError, basic_auth, decoded_json, provider_http


class VodiaError(ProviderError):
    pass


class NotFound(VodiaError):
    pass


class VodiaClient:
    def __init__(self, server, settings):
        self.server = server
        self.where = f"Vodia at {server.base_url}"
        self.http = provider_http(server.base_url, settings, verify=server.verify_tls)
        self.headers = {**basic_auth(server.username, server.password), "Accept": "application/json"}

    def call(self, method, path, body=None):
        """One call; returns the decoded JSON (None for an empty answer). PUT/DELETE/GET are repeated after a
        transport failure; POSTs are not."""
        response = self.http.request(method, path, json=body, headers=self.headers)
        if response.status_code >= 300:
            raise self._error(method, path, response)
        if not response.content or not response.content.strip():
            return None
        return decoded_json(response, self.where)

    @staticmethod
    def tenant_path(tenant, *rest):
        return "/rest/domain/" + "/".join(quote(str(part), safe="@.") for part in (tenant, *rest))

    def _error(self, method, path, response):
        status = response.status_code
        detail = (response.text or "").strip()[:200]
        if status == 401:
            return VodiaError(f"{self.where} refused the credentials (401). Check the server's username (admin or "
                              "admin@tenant) and password in Provisioning › Servers.", status=401)
        if status == 403:
            return VodiaError(f"{self.where} answered 403 to {method} {path}: the account {self.server.username!r} "
                              "lacks \"API access\". Turn it on for that administrator in Vodia.", status=403)
        if status == 404:
            return NotFound(f"{self.where}: not found ({method} {path}).", status=404)
        return VodiaError(f"{self.where} refused {method} {path} ({status}){': ' + detail if detail else ''}.",
                          status=status)
