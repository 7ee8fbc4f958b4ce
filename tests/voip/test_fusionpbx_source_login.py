"""A FusionPBX call-record source with a user and password of its own reads v_xml_cdr with that (read-only)
login instead of the server's database URL's; the connection timeouts are the server's either way."""
import pytest

from provisioning.lifecycle import server_ref
from provisioning.modules.base import CdrSourceRef
from provisioning.modules.fusionpbx.module import FusionPbxModule
from provisioning.registry import get_module
from tests.factories import ServerFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def opened(monkeypatch):
    """The FusionPbxDatabase fetch_cdrs would read (nothing is connected)."""
    monkeypatch.setattr(FusionPbxModule, "_records", lambda self, database, domains, since: database)


def fetch(username="", password=""):
    module = get_module("fusionpbx")
    settings = module.server_settings_schema.clean({
        "database_url": "postgres://portal:admin-secret@pbx.example:5432/fusionpbx", "connect_timeout": 3,
        "read_timeout": 7,
    })
    server = ServerFactory(module="fusionpbx", settings=settings)
    source = CdrSourceRef(id=1, kind="fusionpbx", server=server_ref(server), username=username, password=password)
    return module.fetch_cdrs(source, None)


def test_a_source_login_replaces_the_urls(opened):
    database = fetch("cdr_reader", "r3ad only")
    assert database.url == "postgres://cdr_reader:r3ad%20only@pbx.example:5432/fusionpbx"
    assert (database.connect_timeout, database.statement_timeout) == (3, 7)


def test_without_a_source_login_the_servers_url_is_used(opened):
    database = fetch()
    assert database.url == "postgres://portal:admin-secret@pbx.example:5432/fusionpbx"
    assert (database.connect_timeout, database.statement_timeout) == (3, 7)
