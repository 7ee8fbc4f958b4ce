"""A schema-driven fuzz run (schemathesis) of the REST API, in-process through the WSGI app, with a full-scope
key ("*", its owner a superuser): no 5xx for any generated input, on every operation of the schema — reads and
writes — and for every method a path does not have (405, never a server error).

Each operation is called with three kinds of cases: valid data with random ids (mostly 404s), valid data on
objects that exist (so the writes really change clients, services, invoices, contacts…), and data that breaks
the schema (schemathesis' negative mode: wrong types, missing fields, out-of-range values). FUZZ_EXAMPLES (per
operation and kind, default 12) makes a deeper run; the figures of one are in docs/security.md. The run prints
its figures: operations, cases, and answers by status class."""
import os
from collections import Counter

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from django.test import override_settings
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode

from billing.models import BillableItem, ProductPrice
from portal.models import Contact
from tests.factories import InvoiceFactory, ProductFactory, ServiceFactory
from tests.voip.factories import CdrFactory

pytestmark = pytest.mark.django_db
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "12"))
WRITE_METHODS = ("POST", "PUT", "PATCH", "DELETE")


@pytest.fixture
def keep_test_connection():
    """The WSGI handler closes the database connection after each request; inside a test transaction it must
    not (Django's test client disconnects the same signal handlers)."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


def existing_objects():
    """{resource: id} of one stored object per resource, for the cases on objects that exist."""
    service = ServiceFactory(product=ProductFactory(module=""))
    ProductPrice.objects.create(product=service.product, cycle="monthly", price=5)
    invoice = InvoiceFactory(client=service.client)
    contact = Contact.objects.create(client=service.client, first_name="Ann", email="ann@example.com")
    item = BillableItem.objects.create(client=service.client, description="Setup", amount=25)
    return {
        "clients": service.client_id, "services": service.pk, "products": service.product_id,
        "invoices": invoice.pk, "contacts": contact.pk, "billable-items": item.pk, "cdrs": CdrFactory().pk,
    }


def resource_of(path):
    return path.removeprefix("/api/v1/").split("/", 1)[0]


@override_settings(API_RATE_LIMIT=10**6)
def test_fuzzing_every_operation_with_a_full_scope_key_finds_no_server_errors(client, api_key, keep_test_connection):
    assert api_key.permissions == ["*"] and api_key.owner.is_superuser
    ids = existing_objects()
    wsgi = get_wsgi_application()
    schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", wsgi)
    headers = {"Authorization": f"Bearer {api_key.identifier}.{api_key.secret}"}
    operations = [result.ok() for result in schema.get_all_operations()]
    failures, answers, cases = [], Counter(), Counter()

    def check(label, case, response):
        answers[f"{response.status_code // 100}xx"] += 1
        if response.status_code >= 500:
            failures.append((label, case.path_parameters, case.query, case.body, response.status_code,
                             response.text[:300]))

    def fuzz(operation, kind, strategy):
        @given(case=strategy)
        @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
                  suppress_health_check=list(HealthCheck))
        def run(case):
            cases[kind] += 1
            check(operation.label, case, case.call(headers=headers))

        run()

    for operation in operations:
        stored = ids.get(resource_of(operation.path)) if "{id}" in operation.path else None
        fuzz(operation, "random ids", operation.as_strategy())
        if stored is not None:  # without a stored object to aim at, the random-id cases cover the operation
            fuzz(operation, "existing objects", operation.as_strategy(path_parameters={"id": stored}))
        fuzz(operation, "negative", operation.as_strategy(generation_mode=GenerationMode.NEGATIVE))

    # Every method a path does not have, on a stored object where there is one: 405, not a server error.
    undocumented = 0
    for path, methods in schema.raw_schema["paths"].items():
        concrete = path.replace("{id}", str(ids.get(resource_of(path), 999999)))
        for method in WRITE_METHODS:
            if method.lower() in methods:
                continue
            undocumented += 1
            response = client.generic(method, concrete, "{}", content_type="application/json",
                                      HTTP_AUTHORIZATION=headers["Authorization"])
            answers[f"{response.status_code // 100}xx"] += 1
            if response.status_code != 405:
                failures.append((f"{method} {path}", concrete, response.status_code))

    total = sum(cases.values()) + undocumented
    print(f"\nschemathesis {schemathesis.__version__}: {len(operations)} operations, {total} cases "
          f"({', '.join(f'{kind} {count}' for kind, count in cases.items())}, undocumented methods {undocumented}); "
          f"answers {dict(sorted(answers.items()))}")
    assert len(operations) >= 40
    assert not failures, failures
