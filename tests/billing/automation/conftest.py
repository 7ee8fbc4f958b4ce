"""Helpers for the automation engine's tests: a fixed run date, services that are N days past their next due
date with an unpaid invoice billing them, and the automation settings changed per test."""
from datetime import date, timedelta
from decimal import Decimal

import pytest

from billing.models import AutomationSettings, Invoice, InvoiceItem, OverwriteRule, Service
from provisioning.modules.fake import FakeDomain, FakeModule
from tests.factories import InvoiceFactory, InvoiceItemFactory, ProductFactory, ServiceFactory

RUN = date(2026, 3, 10)
S = Service.Status


def overdue_service(*, days=0, status=S.ACTIVE, product=None, module="fake", invoice=True, **kwargs):
    """A service whose next due date is `days` before RUN; with `invoice`, an unpaid invoice due that day bills
    it (one line). Its domain exists on the fake module when the product has one."""
    next_due = RUN - timedelta(days=days)
    product = product or ProductFactory(module=module)
    service = ServiceFactory(product=product, status=status, next_due_date=next_due, **kwargs)
    if product.module:
        state = "suspended" if status == S.SUSPENDED else "active"
        FakeModule.domains[service.domain] = FakeDomain(service.domain, status=state)
    if invoice:
        unpaid_invoice(service, due=next_due)
    return service


def unpaid_invoice(service, *, due, amount="10.00", client=None, status=Invoice.Status.UNPAID):
    invoice = InvoiceFactory(client=client or service.client, status=status, due_date=due, date=due,
                             subtotal=Decimal(amount), total=Decimal(amount))
    service_line(invoice, service, amount=amount, start=due)
    return invoice


def service_line(invoice, service, *, amount="10.00", start=None):
    return InvoiceItemFactory(
        invoice=invoice, service=service, kind=InvoiceItem.Kind.SERVICE, amount=Decimal(amount),
        description=f"{service.domain} period", period_start=start, period_end=start and start + timedelta(days=30),
    )


def override(target, *, suspend=None, terminate=None):
    """An overwrite rule for a product or a product group; `suspend`/`terminate` days switch the override on."""
    kind = "product_group" if target.__class__.__name__ == "ProductGroup" else "product"
    return OverwriteRule.objects.create(
        **{kind: target}, overwrite_suspension=suspend is not None, suspend_days=suspend or 0,
        overwrite_termination=terminate is not None, terminate_days=terminate or 0,
    )


def fake_calls(action):
    return [domain for name, domain in FakeModule.calls if name == action]


@pytest.fixture
def automation(db):
    """configure(**fields): change the automation settings (the single row) and return it."""

    def configure(**changes):
        settings = AutomationSettings.load()
        for name, value in changes.items():
            setattr(settings, name, value)
        settings.save()
        return settings

    return configure


@pytest.fixture(autouse=True)
def one_call_at_a_time(settings):
    """Other threads have their own database connections and cannot see a test's open transaction: provider
    calls run in the test's thread unless a test asks for threads (the MariaDB concurrency tests do)."""
    settings.AUTOMATION_CALL_THREADS = 1
