"""whmcs-api-client (generated from an OpenAPI description of WHMCS, with pydantic models) against the live server:
its models check the types of the answers (ids, amounts, dates), and it authenticates with the API credential in
the username/password fields and names the action in the query string, as WHMCS allows."""
import json
from decimal import Decimal

import pytest

from billing.models import Invoice, ProductPrice
from billing.services.payments import payment_record
from portal.activity import Actor
from tests.factories import ProductFactory

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_typed_client_reads_every_answer_into_its_models(typed, sm_server):
    product = ProductFactory(module="")
    ProductPrice.objects.create(product=product, cycle="monthly", price=Decimal("4.00"))
    added = typed.add_client(**typed.credentials, firstname="Alan", lastname="Turing", email="alan@example.com",
                             address1="Bletchley Park", city="Milton Keynes", state="Bucks", postcode="MK3 6EB",
                             country="GB", phonenumber="+44 20 7946 0000", companyname="GC&CS", notes="typed")
    assert added.result == "success" and isinstance(added.clientid, int)

    order = typed.add_order(**typed.credentials, clientid=added.clientid, paymentmethod="banktransfer",
                            pid=[product.pk], domain=["enigma.example"], billingcycle=["monthly"])
    assert order.result == "success" and order.orderid and order.invoiceid

    details = typed.get_clients_details(**typed.credentials, clientid=added.clientid)
    assert details.result == "success"

    clients = typed.get_clients(**typed.credentials)
    assert clients.totalresults == 1

    products = typed.get_clients_products(**typed.credentials, clientid=added.clientid)
    assert products.result == "success"

    invoices = typed.get_invoices(**typed.credentials, userid=added.clientid)
    assert invoices.totalresults == 1

    orders = typed.get_orders(**typed.credentials, userid=added.clientid)
    assert orders.totalresults == 1

    catalogue = typed.get_products(**typed.credentials)
    assert catalogue.totalresults == 1

    currencies = typed.get_currencies(**typed.credentials)
    assert currencies.result == "success"

    invoice = Invoice.objects.get(pk=int(order.invoiceid))
    payment_record(invoice=invoice, amount=invoice.balance, transaction_id="T-1", gateway="banktransfer",
                   actor=Actor.system("test"))
    # Its GetTransactions model wants numbers for amountin/fees/amountout, while WHMCS sends its tblaccounts rows
    # as strings ("10.00", as every amount of its API): read the raw answer, as an integration using it must.
    raw = typed.get_transactions_without_preload_content(**typed.credentials, clientid=added.clientid)
    transaction = json.loads(raw.data)["transactions"]["transaction"][0]
    assert (transaction["amountin"], transaction["invoiceid"], transaction["userid"]) == (
        "4.00", order.invoiceid, str(added.clientid))
