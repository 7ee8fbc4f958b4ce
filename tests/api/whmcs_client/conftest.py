"""Real WHMCS client libraries from PyPI against the live test server (pytest-django's live_server):
whmcspy (its generic call() and helpers) and whmcs-api-client (generated, typed: it validates answers with its
models). Both send the API credential the way WHMCS allows; the typed one in the username/password fields with
?action= in the query string."""
import pytest
import whmcs_client
import whmcspy

from tests.api.conftest import make_key
from tests.factories import ProductGroupFactory, ServerGroupFactory, ensure_invoice_sequence


@pytest.fixture
def key(transactional_db):
    ensure_invoice_sequence()  # a transactional test's flush removed the row migration billing.0003 makes
    return make_key(name="whmcs-library")


@pytest.fixture
def api_url(live_server):
    return f"{live_server.url}/includes/api.php"


@pytest.fixture
def whmcs(api_url, key):
    return whmcspy.WHMCS(api_url, key.identifier, key.secret)


@pytest.fixture
def typed(live_server, key):
    """whmcs-api-client's DefaultApi, with the credential to pass as username/password."""
    api = whmcs_client.DefaultApi(whmcs_client.ApiClient(whmcs_client.Configuration(host=f"{live_server.url}/includes")))
    api.credentials = {"username": key.identifier, "password": key.secret}
    return api


@pytest.fixture
def mail_setup(sm_server):
    """What a WHMCS install has before a test suite starts: a product group and a server group with the server."""
    servers = ServerGroupFactory()
    servers.servers.add(sm_server)
    return {"gid": ProductGroupFactory(name="Mail").pk, "servergroupid": servers.pk}
