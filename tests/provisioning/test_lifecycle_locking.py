"""A lifecycle action locks its service row and nothing else: actions on other services of the same product
and server run while one waits for its provider (on MariaDB, where locks are real)."""
import threading

import pytest
from django.db import connection, connections

from billing.models import Service
from portal.activity import Actor
from provisioning import lifecycle
from provisioning.modules.fake import FakeModule
from tests.factories import ProductFactory, ServerFactory, ServiceFactory

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_slow_provider_call_does_not_block_another_service_of_the_same_product_and_server(monkeypatch):
    if connection.vendor == "sqlite":
        pytest.skip("SQLite locks the whole database for a write; row locks are exercised on MariaDB (CI)")
    product, server = ProductFactory(module="fake"), ServerFactory()
    first, second = (ServiceFactory(product=product, server=server, status=Service.Status.ACTIVE) for _ in range(2))
    FakeModule.domains.update({s.domain: type("D", (), {"status": "active"})() for s in (first, second)})
    inside_first_call, release_first_call = threading.Event(), threading.Event()
    original = FakeModule.suspend

    def slow_for_first(self, ref, *, reason, mode=""):
        if ref.domain == first.domain:
            inside_first_call.set()
            release_first_call.wait(10)
        return original(self, ref, reason=reason, mode=mode)

    monkeypatch.setattr(FakeModule, "suspend", slow_for_first)

    def suspend_first():
        try:
            lifecycle.service_suspend(service=first, actor=Actor.system("t"), reason="manual")
        finally:
            connections.close_all()

    worker = threading.Thread(target=suspend_first)
    worker.start()
    assert inside_first_call.wait(10)
    try:
        # While the first action holds its lock and waits for the provider, the second goes through.
        with connection.cursor() as cursor:
            cursor.execute("SET SESSION innodb_lock_wait_timeout = 2")
        lifecycle.service_suspend(service=second, actor=Actor.system("t"), reason="manual")
    finally:
        release_first_call.set()
        worker.join(10)
    assert set(Service.objects.values_list("status", flat=True)) == {Service.Status.SUSPENDED}


def test_a_slow_change_package_does_not_block_another_service_of_the_same_product(monkeypatch):
    if connection.vendor == "sqlite":
        pytest.skip("SQLite locks the whole database for a write; row locks are exercised on MariaDB (CI)")
    product, server = ProductFactory(module="fake"), ServerFactory()
    first, second = (ServiceFactory(product=product, server=server, status=Service.Status.ACTIVE) for _ in range(2))
    FakeModule.domains.update({s.domain: type("D", (), {"status": "active", "options": None})() for s in (first, second)})
    inside_first_call, release_first_call = threading.Event(), threading.Event()
    original = FakeModule.change_package

    def slow_for_first(self, ref):
        if ref.domain == first.domain:
            inside_first_call.set()
            release_first_call.wait(10)
        return original(self, ref)

    monkeypatch.setattr(FakeModule, "change_package", slow_for_first)

    def change_first():
        try:
            lifecycle.service_change_package(service=first, actor=Actor.system("t"))
        finally:
            connections.close_all()

    worker = threading.Thread(target=change_first)
    worker.start()
    assert inside_first_call.wait(10)
    try:
        with connection.cursor() as cursor:
            cursor.execute("SET SESSION innodb_lock_wait_timeout = 2")
        lifecycle.service_change_package(service=second, actor=Actor.system("t"))
        assert FakeModule.domains[second.domain].options is not None
    finally:
        release_first_call.set()
        worker.join(10)
    assert all(FakeModule.domains[s.domain].options is not None for s in (first, second))
