"""Answers that used to be server errors or a wrong 502: writes to the read-only CDRs are 405, a module that
refuses an action outright is 409 (no provider was asked), and a genuine provider failure stays 502."""
import pytest

from billing.models import Service
from provisioning.modules.fake import FakeModule
from tests.factories import ProductFactory, ServiceFactory
from tests.voip.factories import CdrFactory

pytestmark = pytest.mark.django_db
NEW_PASSWORD = "Correct-Horse-Battery-9"


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_writing_to_the_read_only_cdrs_is_405_not_a_server_error(client, api_key, method):
    cdr = CdrFactory()
    auth = {"HTTP_AUTHORIZATION": f"Bearer {api_key.identifier}.{api_key.secret}"}
    for path in ("/api/v1/cdrs/", f"/api/v1/cdrs/{cdr.pk}/"):
        response = getattr(client, method)(path, {}, content_type="application/json", **auth)
        assert response.status_code == 405, (method, path)
        assert response.json()["error"]["code"] == "method_not_allowed"


def test_changing_a_vodia_password_is_refused_with_409_not_502(rest):
    service = ServiceFactory(product=ProductFactory(module="vodia"), status=Service.Status.ACTIVE)
    response = rest.post(f"services/{service.pk}/change-password/", {"password": NEW_PASSWORD})
    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "refused"
    assert error["message"].startswith("The Vodia module cannot change passwords")


def test_a_provider_that_fails_is_still_502(rest):
    service = ServiceFactory(product=ProductFactory(module="fake"), status=Service.Status.ACTIVE)
    FakeModule.fail_next("change_password", "Provider down")
    response = rest.post(f"services/{service.pk}/change-password/", {"password": NEW_PASSWORD})
    assert response.status_code == 502
    assert response.json()["error"] == {"status": 502, "code": "provider_error", "message": "Provider down"}
