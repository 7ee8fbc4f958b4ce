"""AddProduct: a product with its prices and module options, validated exactly as the staff product form does."""
from decimal import Decimal

import pytest

from billing.models import Product, ProductPrice
from portal.models import ActivityLog
from tests.api.conftest import Whmcs, make_key
from tests.factories import ProductFactory, ProductGroupFactory, ServerGroupFactory

pytestmark = pytest.mark.django_db


def snapshot():
    return Product.objects.count(), ProductPrice.objects.count(), ActivityLog.objects.count()


@pytest.fixture
def group():
    return ProductGroupFactory(name="Mail")


def test_add_product_with_whmcs_config_options_and_pricing(whmcs, group):
    servers = ServerGroupFactory()
    result = whmcs("AddProduct", type="hostingaccount", gid=group.pk, name="Mail Pro", description="Business mail",
                   module="smartermail", servergroupid=servers.pk, paytype="recurring", autosetup="payment", order=3,
                   hidden="1", configoption7="25", configoption12="imap,smtp",
                   **{"pricing[1][monthly]": "5.00", "pricing[1][msetupfee]": "1.50", "pricing[1][annually]": "50.00",
                      "pricing[1][quarterly]": "-1", "pricing[EUR][monthly]": "4.50", "pricing[1][biennially]": "-1"})
    product = Product.objects.get(pk=result["pid"])
    assert result == {"result": "success", "pid": product.pk}
    assert (product.group, product.name, product.type, product.description, product.module, product.server_group,
            product.auto_accept_on_payment, product.hidden, product.sort_order) == (
        group, "Mail Pro", Product.Type.MAIL, "Business mail", "smartermail", servers, True, True, 3)
    assert product.module_options["max_users"] == 25 and product.module_options["protocols"] == ["imap", "smtp"]
    assert product.module_options["password_min_length"] == 8  # the schema's default, as the staff form stores it
    assert sorted(product.prices.values_list("currency", "cycle", "price", "setup_fee")) == [
        ("EUR", "monthly", Decimal("4.50"), Decimal("0.00")),
        ("USD", "annually", Decimal("50.00"), Decimal("0.00")),
        ("USD", "monthly", Decimal("5.00"), Decimal("1.50")),
    ]
    entry = ActivityLog.objects.get(action="product.create")
    assert entry.actor_label == f"api:{whmcs.key.name}" and entry.target_id == str(product.pk)
    assert entry.data["prices"] == {"EUR monthly": ["4.50", "0"], "USD annually": ["50.00", "0"],
                                    "USD monthly": ["5.00", "1.50"]}
    listed = whmcs("GetProducts", pid=product.pk)["products"]["product"][0]
    assert listed["pricing"]["USD"]["monthly"] == "5.00" and listed["pricing"]["USD"]["quarterly"] == "-1.00"


def test_options_without_a_whmcs_number_are_given_by_name(whmcs, group):
    result = whmcs("AddProduct", gid=group.pk, name="Modoboa", module="modoboa",
                   **{"moduleoptions[domain_quota_mb]": "2048", "pricing[1][monthly]": "3.00"})
    assert Product.objects.get(pk=result["pid"]).module_options["domain_quota_mb"] == 2048


@pytest.mark.parametrize("params, message", [
    ({"configoption7": "-1"}, "Option 7 (max_users): must be at least 0."),
    ({"configoption99": "1"}, "Unknown option 'configoption99'"),
    ({"configoption2": "x"}, "disk_tranche_price"),
    ({"module": "nope"}, "module: Select a valid choice."),
    ({"module": "", "configoption7": "5"}, "Module options need a module"),
    ({"gid": 99999}, "You must supply a valid Product Group ID"),
    ({"gid": "abc"}, "You must supply a valid Product Group ID"),
    ({"name": ""}, "You must supply a valid Product Name"),
    ({"type": "server"}, "Invalid product type server"),
    ({"paytype": "monthly"}, "Invalid paytype: use free, onetime or recurring"),
    ({"autosetup": "order"}, "Invalid autosetup"),
    ({"servergroupid": 99999}, "Invalid servergroupid: no such server group"),
    ({"stockcontrol": "1"}, "Not supported by the portal's products: stockcontrol"),
    ({"pricing[1][monthly]": "ten"}, "Invalid pricing[USD][monthly]: an amount such as 10.00 is expected"),
    ({"pricing[1][monthly]": "-5"}, "pricing[USD][monthly]:"),
    ({"pricing[9][monthly]": "5"}, "Invalid currency in pricing[9][monthly]"),
    ({"pricing[1][triennially]": "100"}, "pricing[USD][triennially]: the portal has no biennial or triennial cycles"),
    ({"pricing[1][weekly]": "1"}, "Invalid pricing field weekly"),
    ({"paytype": "free"}, "pricing is not used with paytype free"),
    ({"paytype": "onetime", "pricing[1][annually]": "9"}, "pricing[USD][annually]: a one-time product has only the monthly column"),
])
def test_bad_products_are_refused_with_a_message_naming_the_problem_and_nothing_is_created(whmcs, group, params, message):
    ProductFactory(group=group, name="Taken")
    before = snapshot()
    base = {"gid": group.pk, "name": "New", "module": "smartermail", "pricing[1][monthly]": "5.00"}
    result = whmcs("AddProduct", **{**base, **params})
    assert result["result"] == "error" and message in result["message"], result
    assert snapshot() == before


def test_free_and_one_time_products(whmcs, group):
    free = whmcs("AddProduct", gid=group.pk, name="Trial", paytype="free")
    assert list(ProductPrice.objects.filter(product_id=free["pid"]).values_list("currency", "cycle", "price")) == [
        ("USD", "onetime", Decimal("0.00"))]
    once = whmcs("AddProduct", gid=group.pk, name="Migration", paytype="onetime",
                 **{"pricing[1][monthly]": "99.00", "pricing[1][msetupfee]": "10.00", "pricing[1][annually]": "-1"})
    assert list(ProductPrice.objects.filter(product_id=once["pid"]).values_list("cycle", "price", "setup_fee")) == [
        ("onetime", Decimal("99.00"), Decimal("10.00"))]
    assert Product.objects.get(pk=once["pid"]).type == Product.Type.OTHER


def test_add_product_needs_products_write_and_the_owners_add_product_permission(client, group):
    before = snapshot()
    reader = Whmcs(client, make_key(permissions=["products.read"]))
    response = reader.raw("AddProduct", gid=group.pk, name="X")
    assert response.status_code == 403
    assert response.json()["message"] == 'Invalid Permissions: API action "addproduct" is not allowed'
    assert snapshot() == before
