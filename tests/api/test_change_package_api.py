"""Change package through the APIs: WHMCS ModuleChangePackage (and UpgradeProduct applying it), the REST
`change-package` lifecycle POST with its scope and 409s."""
import pytest

from billing.models import Invoice, Service
from billing.services.payments import payment_record
from portal.activity import Actor
from portal.models import ActivityLog
from provisioning import lifecycle
from provisioning.models import ModuleCall
from provisioning.modules.fake import FakeModule
from tests.api.conftest import Rest, Whmcs, make_key
from tests.factories import ProductFactory, ServiceFactory
from tests.provisioning.mail.helpers import paid_period, set_mailboxes

S = Service.Status
pytestmark = pytest.mark.django_db


def fake_live(**kwargs):
    service = ServiceFactory(status=S.PENDING, product=ProductFactory(module="fake"), **kwargs)
    lifecycle.service_create(service=service, actor=Actor.system("setup"))
    FakeModule.calls.clear()
    ModuleCall.objects.all().delete()
    ActivityLog.objects.all().delete()
    return service


def test_whmcs_module_change_package_calls_the_module_and_audits_the_key(whmcs):
    service = fake_live()
    assert whmcs("ModuleChangePackage", serviceid=service.pk) == {"result": "success"}
    assert FakeModule.calls == [("change_package", service.domain)]
    entry = ActivityLog.objects.get()
    assert (entry.action, entry.actor_label) == ("service.change_package", "api:integration")


def test_whmcs_module_change_package_errors(whmcs):
    assert whmcs("ModuleChangePackage")["message"] == "Service ID is required"
    assert whmcs("ModuleChangePackage", serviceid=424242)["message"] == "Service ID Not Found"
    pending = ServiceFactory(status=S.PENDING, product=ProductFactory(module="fake"))
    answer = whmcs("ModuleChangePackage", serviceid=pending.pk)
    assert answer["result"] == "error" and "Cannot change the package of" in answer["message"]
    live = fake_live()
    FakeModule.fail_next("change_package", "Provider down")
    answer = whmcs("ModuleChangePackage", serviceid=live.pk)
    assert answer["result"] == "error" and "Provider down" in answer["message"]
    assert ModuleCall.objects.get(service=live).awaiting_retry


def test_whmcs_module_change_package_needs_its_scope(client):
    service = fake_live()
    writer = Whmcs(client, make_key(name="writer", permissions=["services.write"]))
    assert writer("ModuleChangePackage", serviceid=service.pk) == {
        "result": "error", "message": 'Invalid Permissions: API action "modulechangepackage" is not allowed'}
    assert (FakeModule.calls, ActivityLog.objects.count()) == ([], 0)
    allowed = Whmcs(client, make_key(name="pkg", permissions=["services.change_package"]))
    assert allowed("ModuleChangePackage", serviceid=service.pk)["result"] == "success"


def test_whmcs_upgrade_product_changes_the_package_on_the_provider_once_its_invoice_is_paid(
        whmcs, django_capture_on_commit_callbacks):
    service = fake_live()
    set_mailboxes(service, basic=2)
    paid_period(service)
    with django_capture_on_commit_callbacks(execute=True):
        answer = whmcs("UpgradeProduct", serviceid=service.pk, type="configoptions",
                       **{"configoptions[mailboxes_basic]": 4})
    assert answer["result"] == "success" and answer["invoiceid"]
    assert FakeModule.calls == []  # the change waits for its invoice (docs/billing.md, Upgrades and downgrades)
    invoice = Invoice.objects.get(pk=answer["invoiceid"])
    with django_capture_on_commit_callbacks(execute=True):
        payment_record(invoice=invoice, amount=invoice.balance, transaction_id="upgrade-1", actor=Actor.system("test"))
    assert FakeModule.calls == [("change_package", service.domain)]
    assert FakeModule.domains[service.domain].options["config"] == {"mailboxes_basic": 4, "mailboxes_enhanced": 0}


def test_whmcs_update_client_product_changes_the_product_on_the_record_only_as_in_whmcs(whmcs):
    service = fake_live()
    other = ProductFactory(module="fake")
    answer = whmcs("UpdateClientProduct", serviceid=service.pk, pid=other.pk)
    assert answer == {"result": "success", "serviceid": str(service.pk)}
    service.refresh_from_db()
    assert service.product_id == other.pk
    assert FakeModule.calls == []  # as in WHMCS: ModuleChangePackage applies it on the provider


def test_rest_change_package_and_409_where_not_allowed(rest):
    service = fake_live()
    response = rest.post(f"services/{service.pk}/change-package/")
    assert response.status_code == 200 and response.json()["status"] == "active"
    assert FakeModule.calls == [("change_package", service.domain)]
    for status in (S.PENDING, S.TERMINATED):
        other = ServiceFactory(status=status, product=ProductFactory(module="fake"))
        conflict = rest.post(f"services/{other.pk}/change-package/")
        assert conflict.status_code == 409, status
        assert "Cannot change the package of" in str(conflict.json())
    assert FakeModule.calls == [("change_package", service.domain)]


def test_rest_change_package_needs_its_scope(client):
    service = fake_live()
    response = Rest(client, make_key(permissions=["services.write", "services.read"])).post(
        f"services/{service.pk}/change-package/")
    assert response.status_code == 403
    assert (FakeModule.calls, ActivityLog.objects.count()) == ([], 0)
