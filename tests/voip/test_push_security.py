"""Who may push CDRs to the Vodia endpoint (voip.services.push.admit_push): credentials in constant time, the
source's IP allow-list, the per-source rate and the per-address failure limit, the body size, and how each
refusal is answered (401/403/413/429 with Retry-After), logged and counted."""
import base64
import json
import logging
from datetime import UTC, datetime

import pytest
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from portal.models import ActivityLog
from provisioning.modules.vodia.simulator import webcdr
from voip.models import Cdr, CdrImport, CdrSource
from voip.services import push as push_service

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 21, 12, 0, 45, tzinfo=UTC)  # 15 s left in the minute window
PBX = "192.0.2.7"
BODY = webcdr(call_id="call-1", domain="tenant-a.example", from_="100", to="+12125551234", start=1767261600,
              connect=1767261605, end=1767261665)


@pytest.fixture(autouse=True)
def fixed_clock_and_empty_counters(monkeypatch):
    cache.clear()
    monkeypatch.setattr(timezone, "now", lambda: NOW)
    yield
    cache.clear()


@pytest.fixture
def source():
    return CdrSource.objects.create(name="Vodia", kind=CdrSource.Kind.VODIA, push_username="pbx1",
                                    push_password="s3cret-push", schedule=CdrSource.Schedule.MANUAL,
                                    push_allowed_ips="192.0.2.0/24\n2001:db8::/32")


def post(client, source_id, body=BODY, *, user="pbx1", password="s3cret-push", ip=PBX, **extra):
    headers = {"REMOTE_ADDR": ip, **extra}
    if user is not None:
        headers["HTTP_AUTHORIZATION"] = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
    data = body if isinstance(body, bytes) else json.dumps(body)
    return client.post(reverse("voip:vodia_push", args=[source_id]), data, content_type="application/json", **headers)


def logged(caplog):
    return [r.getMessage() for r in caplog.records if r.name == "voip.services.push"]


def refusals(source):
    source.refresh_from_db()
    return source.push_refusals, source.push_last_refusal


def test_the_right_credentials_from_an_allowed_address_are_imported(client, source):
    response = post(client, source.pk)
    assert response.status_code == 200 and response.json()["received"] == 1
    assert post(client, source.pk, ip="2001:db8::15").status_code == 200
    assert refusals(source) == (0, "")


def test_an_address_outside_the_allow_list_gets_403_logged_and_counted(client, source, caplog):
    activity = ActivityLog.objects.count()
    with caplog.at_level(logging.WARNING, logger="voip.services.push"):
        response = post(client, source.pk, ip="198.51.100.1")
    assert response.status_code == 403
    assert response.json() == {"error": "the address is not on the source's allow-list"}
    assert refusals(source) == (1, "403 from 198.51.100.1: the address is not on the source's allow-list")
    assert source.push_last_refused_at == NOW
    assert logged(caplog) == [
        f"Vodia CDR push to source {source.pk} from 198.51.100.1 refused (403): the address is not on the "
        "source's allow-list"]
    assert CdrImport.objects.count() == 0 and ActivityLog.objects.count() == activity


def test_the_allow_list_cannot_be_probed_without_the_credentials(client, source):
    response = post(client, source.pk, password="wrong", ip="198.51.100.1")
    assert response.status_code == 401
    assert refusals(source) == (1, "401 from 198.51.100.1: wrong user or password")


def test_wrong_or_missing_credentials_get_401_with_a_challenge_counted_once_a_minute(client, source, caplog):
    with caplog.at_level(logging.WARNING, logger="voip.services.push"):
        first = post(client, source.pk, password="wrong")
        second = post(client, source.pk, user="other")
        missing = post(client, source.pk, user=None)
    assert [first.status_code, second.status_code, missing.status_code] == [401, 401, 401]
    assert first["WWW-Authenticate"] == 'Basic realm="CDR push", charset="UTF-8"'
    assert first.json() == missing.json() == {"error": "authentication required"}
    assert "Retry-After" not in first
    assert refusals(source) == (1, f"401 from {PBX}: wrong user or password")  # same minute, address, status
    assert len(logged(caplog)) == 1
    assert CdrImport.objects.count() == 0


def test_an_unknown_or_disabled_source_gets_the_same_401_and_is_only_logged(client, source, caplog):
    CdrSource.objects.filter(pk=source.pk).update(enabled=False)
    with caplog.at_level(logging.WARNING, logger="voip.services.push"):
        disabled = post(client, source.pk)
        unknown = post(client, source.pk + 100, ip="192.0.2.8")
    assert (disabled.status_code, unknown.status_code) == (401, 401)
    assert disabled.json() == unknown.json() == post(client, source.pk, password="x").json() == {
        "error": "authentication required"}
    assert refusals(source) == (0, "")  # nothing is counted on a disabled source: it is not told from an unknown one
    assert logged(caplog)[:2] == [
        f"Vodia CDR push to source None from {PBX} refused (401): wrong user or password (no enabled Vodia source "
        f"{source.pk})",
        f"Vodia CDR push to source None from 192.0.2.8 refused (401): wrong user or password (no enabled Vodia "
        f"source {source.pk + 100})"]


def test_an_address_failing_too_often_gets_429_even_with_the_right_credentials(client, source, settings):
    settings.API_AUTH_FAILURE_LIMIT = 3
    assert [post(client, source.pk, password="wrong").status_code for _ in range(3)] == [401, 401, 401]
    response = post(client, source.pk)
    assert response.status_code == 429
    assert response["Retry-After"] == "15"
    assert response.json() == {"error": "too many failed authentications from this address"}
    assert post(client, source.pk, ip="192.0.2.8").status_code == 200  # another address is not held back
    assert CdrImport.objects.count() == 1


def test_a_source_over_its_rate_gets_429_with_retry_after_and_others_are_not_held(client, source, settings):
    source.push_rate_limit = 2
    source.save()
    other = CdrSource.objects.create(name="Other PBX", kind=CdrSource.Kind.VODIA, push_username="pbx2",
                                     push_password="other-pass")
    assert [post(client, source.pk).status_code for _ in range(2)] == [200, 200]
    over = post(client, source.pk)
    assert over.status_code == 429 and over["Retry-After"] == "15"
    assert over.json() == {"error": "more than 2 pushes this minute"}
    assert refusals(source) == (1, f"429 from {PBX}: more than 2 pushes this minute")
    assert post(client, source.pk).status_code == 429
    assert refusals(source)[0] == 1  # a flood is counted once a minute, not once a request
    assert post(client, other.pk, user="pbx2", password="other-pass").status_code == 200
    assert CdrImport.objects.filter(source=source).count() == 2


def test_a_source_without_its_own_rate_uses_the_setting(client, source, settings):
    settings.VOIP_PUSH_RATE_LIMIT = 1
    assert [post(client, source.pk).status_code for _ in range(2)] == [200, 429]


def test_a_body_over_the_limit_gets_413_and_imports_nothing(client, source, settings):
    settings.VOIP_PUSH_MAX_BYTES = 100
    response = post(client, source.pk, [BODY, BODY])
    assert response.status_code == 413
    assert response.json() == {"error": "the body is larger than 100 bytes"}
    assert refusals(source) == (1, f"413 from {PBX}: the body is larger than 100 bytes")
    assert CdrImport.objects.count() == 0


def test_djangos_own_upload_limit_is_answered_413_too(client, source, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 100  # lower than the push limit
    assert post(client, source.pk, [BODY, BODY]).status_code == 413
    assert CdrImport.objects.count() == 0


def test_an_unparsable_body_is_still_400(client, source):
    response = post(client, source.pk, b"not json")
    assert response.status_code == 400 and response.json()["error"].startswith("the body is not JSON")
    assert refusals(source) == (0, "")


def test_credentials_are_compared_as_digests_in_constant_time_even_for_no_source(monkeypatch, source):
    compared = []
    real = push_service.hmac.compare_digest

    def spy(a, b):
        compared.append((len(a), len(b)))
        return real(a, b)

    monkeypatch.setattr(push_service.hmac, "compare_digest", spy)
    assert push_service.credentials_match(source, "pbx1", "s3cret-push") is True
    assert push_service.credentials_match(source, "pbx1", "s3cret-push-longer") is False
    assert push_service.credentials_match(None, "", "") is False
    blank = CdrSource(name="No password", kind=CdrSource.Kind.VODIA)
    assert push_service.credentials_match(blank, "", "") is False
    assert compared == [(32, 32)] * 8  # two digests per check, whatever the lengths


def test_the_allow_list_is_validated_and_a_blank_list_allows_any_address():
    source = CdrSource(name="V", kind=CdrSource.Kind.VODIA, push_allowed_ips="10.0.0.0/8\nnot-an-ip")
    with pytest.raises(ValidationError) as error:
        source.full_clean()
    assert list(error.value.message_dict) == ["push_allowed_ips"]
    assert source.push_ip_allowed("10.1.2.3") is False  # a bad stored list allows nothing
    assert CdrSource(push_allowed_ips="").push_ip_allowed("198.51.100.1") is True
    listed = CdrSource(push_allowed_ips="10.0.0.0/8, 192.0.2.9")
    assert [listed.push_ip_allowed(ip) for ip in ("10.9.9.9", "192.0.2.9", "192.0.2.10", "junk")] == [
        True, True, False, False]


@pytest.mark.parametrize("body", [
    b"[" * 100_000 + b"]" * 100_000,  # deeper than the JSON reader goes
    b'{"a":' * 100_000 + b"1" + b"}" * 100_000,
], ids=["lists", "objects"])
def test_a_deeply_nested_body_is_a_400_and_imports_nothing(client, source, body):
    response = post(client, source.pk, body)
    assert response.status_code == 400
    assert response.json() == {"error": "the body is not CDR JSON: it is nested too deeply"}
    assert not CdrImport.objects.exists()



def nested(depth, leaf):
    return "[" * depth + leaf + "]" * depth


@pytest.mark.parametrize("body", [
    "[" + nested(900, "1") + "]",  # a record that is a list of lists, as deep as the reader goes
    '[{"callid": ' + nested(900, '"x"') + "}]",  # a webcdr record with a nested id
    '[{"foo": ' + nested(900, "1") + "}]",  # neither kind of record
], ids=["list-record", "nested-field", "unknown-record"])
def test_records_nested_as_deep_as_json_allows_are_reported_as_bad_lines(client, source, body):
    response = post(client, source.pk, body.encode())
    assert response.status_code == 200
    answer = response.json()
    assert (answer["received"], answer["inserted"], len(answer["errors"])) == (1, 0, 1)


def test_a_lone_surrogate_in_a_pushed_record_is_stored_as_a_replacement_character(client, source):
    body = json.dumps(BODY).replace('"100"', '"1\\ud800"', 1)
    assert "\\ud800" in body
    response = post(client, source.pk, body.encode())
    assert response.status_code == 200 and response.json()["inserted"] == 1
    assert CdrImport.objects.get().status == CdrImport.Status.DONE
    assert Cdr.objects.get().caller == "1\ufffd"
