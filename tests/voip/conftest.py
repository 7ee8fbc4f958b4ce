"""Fixtures of the VoIP billing tests: a rate package from tests/fixtures/cdrs/rates.csv, a VoIP product on the
in-memory module, and a client whose service owns extension 1001 and DID +1 212 555 0100 (stored as E.164 digits, as the providers' modules store DIDs)."""
import pytest

from tests.factories import ClientFactory
from tests.voip.factories import CdrSourceFactory, RatePackageFactory, VoipProductFactory, VoipServiceFactory


@pytest.fixture
def package(db):
    return RatePackageFactory()


@pytest.fixture
def product(package):
    return VoipProductFactory(rate_package=package)


@pytest.fixture
def voip_client(db):
    return ClientFactory()


@pytest.fixture
def service(voip_client, product):
    return VoipServiceFactory(
        client=voip_client, product=product, domain="tenant-a.example",
        module_data={"tenant": "tenant-a.example", "extensions": ["1001"], "dids": ["12125550100"]},
    )


@pytest.fixture
def source(db):
    return CdrSourceFactory()
