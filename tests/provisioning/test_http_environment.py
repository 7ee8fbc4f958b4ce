"""ProviderHTTP reads what requests would take from the environment once, when it is made, instead of on every
request (requests' per-request ~/.netrc lookup was a sixth of the automation pass's call CPU)."""
from unittest import mock

import requests

from provisioning.http import ProviderHTTP


def test_proxy_variables_and_a_ca_bundle_still_apply(monkeypatch):
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example:3128")
    monkeypatch.setenv("NO_PROXY", "internal.example")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/ssl/company-ca.pem")
    http = ProviderHTTP("https://mail.example:9443")
    assert http.session.proxies == {"https": "http://proxy.example:3128"}
    assert http.verify == "/etc/ssl/company-ca.pem"
    assert http.session.trust_env is False
    assert ProviderHTTP("https://mx.internal.example").session.proxies == {}  # NO_PROXY bypasses it


def test_verify_off_stays_off_and_no_environment_means_defaults(monkeypatch):
    for name in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy",
                 "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/ssl/company-ca.pem")
    assert ProviderHTTP("https://a.example", verify=False).verify is False
    monkeypatch.delenv("REQUESTS_CA_BUNDLE")
    http = ProviderHTTP("https://a.example")
    assert http.verify is True and http.session.proxies == {}


def test_requests_send_without_reading_netrc(monkeypatch):
    http = ProviderHTTP("http://127.0.0.1:9")
    sent = requests.Response()
    sent.status_code = 200
    with mock.patch("requests.sessions.get_netrc_auth") as netrc, \
            mock.patch.object(requests.adapters.HTTPAdapter, "send", return_value=sent) as send:
        assert http.request("GET", "/x").status_code == 200
    assert netrc.call_count == 0 and send.call_count == 1
