"""On MariaDB: eight checkouts racing for the last use of a promotion limited to one. Exactly one order gets it;
the others are refused and create nothing. SQLite takes one writer at a time, so it cannot show the race."""
import threading
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, connections

from billing.models import Invoice, Order, Promotion, Service
from billing.services.orders import OrderItem, order_place
from portal.activity import Actor
from tests.factories import ClientFactory, ensure_invoice_sequence
from tests.storefront.conftest import priced_product

pytestmark = pytest.mark.django_db(transaction=True)
RACERS = 8


@pytest.fixture(autouse=True)
def mariadb_only():
    if connection.vendor != "mysql":
        pytest.skip("Concurrent checkouts need concurrent writers: run on MariaDB (DATABASE_URL=mysql://…); "
                    "SQLite serialises writers.")


def test_the_last_use_of_a_limited_promotion_goes_to_exactly_one_of_concurrent_checkouts():
    ensure_invoice_sequence()
    plan = priced_product()
    promotion = Promotion.objects.create(code="LAST", kind=Promotion.Kind.PERCENT, value=Decimal("50"), max_uses=1)
    clients = [ClientFactory() for _ in range(RACERS)]
    barrier = threading.Barrier(RACERS)
    outcomes = [None] * RACERS

    def checkout(index):
        try:
            barrier.wait()
            order_place(client=clients[index], items=[OrderItem(plan.pk, f"race{index}.example", "monthly")],
                        actor=Actor.system("race"), promotion=Promotion.objects.get(pk=promotion.pk))
            outcomes[index] = "ordered"
        except ValidationError as exc:
            outcomes[index] = " ".join(exc.messages)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=checkout, args=(i,)) for i in range(RACERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert outcomes.count("ordered") == 1
    assert all(o in ("ordered", "The code LAST has been used up.", "The code LAST has just been used up.")
               for o in outcomes), outcomes
    promotion.refresh_from_db()
    assert promotion.uses == 1
    assert Order.objects.filter(promotion=promotion).count() == 1
    assert Service.objects.count() == 1 and Invoice.objects.count() == 1
