"""A WHMCS-shaped MariaDB database per test session (tests/whmcs_import/awkward.py), in a database of its own
named whmcs_importer_<worker> (WHMCS_TEST_DATABASE_PREFIX: another prefix). Skipped without MariaDB, failed under
REQUIRE_SERVICES=1 (tests/conftest.py)."""
import os

import pytest

from tests.conftest import service_unavailable

SERVER = os.environ.get("WHMCS_TEST_SERVER", "mysql://root@127.0.0.1:3306")
PREFIX = os.environ.get("WHMCS_TEST_DATABASE_PREFIX", "whmcs_importer")  # checkouts sharing a server: one each


def _url(request, suffix):
    worker = getattr(request.config, "workerinput", {}).get("workerid", "main")
    return f"{SERVER}/{PREFIX}_{worker}_{suffix}"


def _build(url, fill):
    from tests.whmcs_import.builder import create_database

    try:
        connection = create_database(url)
    except Exception as exc:  # MySQLdb.OperationalError and friends: no server to build on
        service_unavailable(f"MariaDB for the WHMCS source database is not reachable at {SERVER}: {exc}")
    fill(connection)
    connection.close()


@pytest.fixture(scope="session")
def whmcs_url(request):
    """The awkward WHMCS database: read-only to the importer, built once per session."""
    from tests.whmcs_import.awkward import fill
    from tests.whmcs_import.builder import drop_database

    url = _url(request, "awkward")
    _build(url, fill)
    yield url
    drop_database(url)


@pytest.fixture(scope="session")
def whmcs_bigger_url(request):
    """The awkward database with more clients, services, invoices and transactions: for query counts."""
    from tests.whmcs_import.awkward import fill, fill_more
    from tests.whmcs_import.builder import drop_database

    url = _url(request, "bigger")
    _build(url, lambda connection: (fill(connection), fill_more(connection, 40)))
    yield url
    drop_database(url)
