"""A schema-driven fuzz run (schemathesis) of the REST API, in-process through the WSGI app: no 5xx for any
generated input. Bounded: a few examples per operation, so the whole run stays well under two minutes."""
import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from django.test import override_settings
from hypothesis import HealthCheck, given, settings

from billing.models import ProductPrice
from tests.factories import InvoiceFactory, ProductFactory, ServiceFactory

pytestmark = pytest.mark.django_db
EXAMPLES = 25


@pytest.fixture
def keep_test_connection():
    """The WSGI handler closes the database connection after each request; inside a test transaction it must
    not (Django's test client disconnects the same signal handlers)."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@override_settings(API_RATE_LIMIT=100000)
def test_fuzzing_the_rest_api_finds_no_server_errors(api_key, keep_test_connection):
    service = ServiceFactory(product=ProductFactory(module=""))
    ProductPrice.objects.create(product=service.product, cycle="monthly", price=5)
    InvoiceFactory(client=service.client)
    schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", get_wsgi_application())
    headers = {"Authorization": f"Bearer {api_key.identifier}.{api_key.secret}"}
    failures = []
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 20
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
                  suppress_health_check=list(HealthCheck))
        def run(case):
            response = case.call(headers=headers)
            if response.status_code >= 500:
                failures.append((operation.label, case.path_parameters, case.query, case.body, response.status_code,
                                 response.text[:300]))

        run()
    assert not failures, failures
