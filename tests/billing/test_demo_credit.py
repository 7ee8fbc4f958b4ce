import pytest

from billing.selectors import ledger_balance
from config import demo
from portal.models import Client

pytestmark = pytest.mark.django_db


def test_demo_credit_balances_are_the_sum_of_ledger_entries():
    demo.load_demo()
    demo.load_demo()
    clients = list(Client.objects.all())
    assert any(c.credit_balance > 0 for c in clients)
    assert all(c.credit_balance == ledger_balance(c) for c in clients)
