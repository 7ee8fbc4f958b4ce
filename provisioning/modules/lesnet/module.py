"""The LesNet module (seed 002; shared/providers/lesnet.md; docs/voip-providers.md §4.4, §5.3).

LesNet publishes no API: the portal can neither suspend nor remove a peer. Create checks that the service names
its peer, DIDs and CDR file and that the file answers; Suspend is a permanent error telling staff what to do by
hand; Unsuspend and Terminate succeed in the portal only and say so. Call records are the peer's daily CDR file,
read with the source's column mapping.
"""
from dataclasses import dataclass

from provisioning.modules.base import ActionResult, ModuleError
from provisioning.modules.lesnet.cdrs import (
    CdrFileError,
    ColumnMappingError,
    clean_column_mapping,
    decode,
    read_cdr_file,
)
from provisioning.modules.voip_common import TIMEOUT_SETTINGS, VoipModule, basic_auth, provider_http
from provisioning.options import OptionSchema, TextOption
from provisioning.telephony.cdrs import CdrError
from provisioning.voip_services import NUMBER_OPTIONS, IdentifierError

PRODUCT_OPTIONS = OptionSchema(*NUMBER_OPTIONS)
SERVER_SETTINGS = OptionSchema(
    TextOption("test_url", "Test CDR file URL", default="", check="url", max_length=500,
               help="A peer's CDR file Test connection fetches. Blank = the server's address."),
    *TIMEOUT_SETTINGS,
)
PORTAL = "the LesNet portal (portal.les.net)"


@dataclass(frozen=True)
class _File:
    url: str
    peer_id: str
    dids: tuple


class LesNetModule(VoipModule):
    key = "lesnet"
    label = "LesNet"
    identifier_keys = ("peer_id", "dids", "cdr_url")
    primary_identifier = "peer_id"
    legacy_line_example = "D4E3CD2BFC791 | 12046664021"

    def check_legacy_line(self, values):
        if not values["dids"]:
            raise IdentifierError({"line": "a LesNet line needs the peer and at least one DID: peer | DID."})
    supports_cdrs = True
    product_options_schema = PRODUCT_OPTIONS
    server_settings_schema = SERVER_SETTINGS
    password_advice = f"LesNet has no API; change SIP credentials in {PORTAL}."

    def create(self, service):
        ids = self.identifiers(service)
        missing = [label for label, value in (("peer id", ids.peer_id), ("DIDs", ids.dids), ("CDR file URL", ids.cdr_url))
                   if not value]
        if missing:
            self.require(service, "", " and ".join(missing))
        settings = self.server_settings(service.server) if service.server else _defaults()
        self._get(ids.cdr_url, settings, self._credentials(service.server))
        return ActionResult(message=f"Peer {ids.peer_id} with the DID(s) {', '.join(ids.dids)}; its CDR file "
                                    f"{ids.cdr_url} answers. (LesNet has no provisioning API: the peer and DIDs are "
                                    f"set up in {PORTAL}.)")

    def suspend(self, service, *, reason, mode=""):
        ids = self.identifiers(service)
        raise ModuleError(
            f"LesNet has no API to suspend a peer: suspend peer {ids.peer_id or '(no peer id)'} (DIDs "
            f"{', '.join(ids.dids) or 'none'}) in {PORTAL} by hand. The service stays Active in the portal until it "
            "can really be suspended; turn off autosuspend for this client (\"Has VoIP Service\") if you suspend "
            "by hand.", permanent=True)

    def unsuspend(self, service):
        return ActionResult(message="Nothing to undo on LesNet: the portal cannot suspend LesNet peers. If the peer "
                                    f"was suspended by hand in {PORTAL}, enable it there.")

    def terminate(self, service, *, delete_data):
        ids = self.identifiers(service)
        return ActionResult(message=f"Terminated in the portal (billing and call-record import stop). LesNet has no "
                                    f"API: remove peer {ids.peer_id or '(no peer id)'} and its DIDs in {PORTAL} by hand.")

    def test_connection(self, server):
        settings = self.server_settings(server)
        url = settings["test_url"] or server.base_url
        response = provider_http(url, settings, verify=server.verify_tls).request(
            "GET", url, headers=self._credentials(server))
        if settings["test_url"]:
            self._check(response, url)
        return ActionResult(message=f"Reached {url} ({response.status_code}).")

    # --- call records --------------------------------------------------------------------------------------

    def fetch_cdrs(self, source, since):
        try:
            mapping = clean_column_mapping(source.column_mapping)
        except ColumnMappingError as exc:
            raise ModuleError(f"The LesNet source {source.id} has an invalid column mapping: {exc}. Correct it on "
                              "the source's page.", permanent=True) from None
        files = self._files(source)
        if not files:
            raise ModuleError(f"The LesNet source {source.id} has no CDR file URL, and none of its services has one. "
                              "Set the services' CDR file URL.", permanent=True)
        settings = self.server_settings(source.server) if source.server else _defaults()
        headers = self._credentials(source.server, source)
        context = {"region": source.options.get("default_region") or "US",
                   "local_npa": tuple(source.options.get("local_npa") or ()), "time_zone": source.time_zone}
        return self._items(files, mapping, settings, headers, context, single=bool(source.url))

    def _items(self, files, mapping, settings, headers, context, *, single):
        for file in files:
            try:
                content = self._get(file.url, settings, headers).content
                lines = read_cdr_file(decode(content, mapping["encoding"]), mapping, peer_id=file.peer_id,
                                      dids=file.dids, **context)
            except (ModuleError, CdrFileError) as exc:
                if single:
                    raise ModuleError(f"{file.url}: {_message(exc)}", permanent=getattr(exc, "permanent", True)) from exc
                yield CdrError(0, f"{file.url}: {_message(exc)}", [file.peer_id])
                continue
            yield from lines

    @staticmethod
    def _files(source):
        services = source.options.get("services") or []
        if source.url:
            match = next((s for s in services if (s.get("module_data") or {}).get("cdr_url") == source.url), None)
            data = (match or {}).get("module_data") or {}
            peer = source.options.get("peer_id") or data.get("peer_id") or ""
            dids = source.options.get("dids") or data.get("dids") or ()
            return [_File(source.url, peer, tuple(dids))]
        files = []
        for service in services:
            data = service.get("module_data") or {}
            if data.get("cdr_url"):
                files.append(_File(data["cdr_url"], data.get("peer_id") or "", tuple(data.get("dids") or ())))
        return list(dict.fromkeys(files))

    # --- helpers -------------------------------------------------------------------------------------------

    @staticmethod
    def _credentials(server, source=None):
        if source is not None and source.username:
            return basic_auth(source.username, source.password)
        if server is not None and server.username:
            return basic_auth(server.username, server.password)
        return {}

    def _get(self, url, settings, headers):
        response = provider_http(url, settings).request("GET", url, headers=headers)
        self._check(response, url)
        return response

    @staticmethod
    def _check(response, url):
        status = response.status_code
        if status == 200:
            return
        if status in (401, 403):
            raise ModuleError(f"{url} refused access ({status}): set the right user and password on the LesNet "
                              "server (or the call-record source).", permanent=True)
        if status == 404:
            raise ModuleError(f"The CDR file {url} does not exist (404): check the service's CDR file URL.",
                              permanent=True)
        raise ModuleError(f"{url} answered {status}.", permanent=status < 500)


def _defaults():
    return SERVER_SETTINGS.resolve({})


def _message(exc):
    return getattr(exc, "message", None) or str(exc)
