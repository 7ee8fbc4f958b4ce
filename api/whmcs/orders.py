"""WHMCS "Orders" actions. The portal has no separate order record: an order is the Pending service that
billing.services.orders.order_create makes (with its first invoice), so orderid = the service id."""
from collections import defaultdict

from api.whmcs.clients import find_client
from api.whmcs.registry import WhmcsError, action, get_or_error, paginate, unsupported
from api.whmcs.shapes import CYCLES, WHMCS_PRICE_FIELDS, cycle_from_whmcs, money, when
from billing import selectors
from billing.models import ConfigurableOption, Order, Service
from billing.services.cancellation import cancellation_request
from billing.services.orders import order_create
from provisioning import lifecycle

O = "Orders"
S = Service.Status
ORDER_STATUS = {S.PENDING: "Pending", S.ACTIVE: "Active", S.SUSPENDED: "Active", S.TERMINATED: "Active",
                S.CANCELLED: "Cancelled"}
ORDER_STATUS_COLOURS = {"Pending": "#cc0000", "Active": "#779500", "Fraud": "#000000", "Cancelled": "#888888"}


def find_order(call):
    return get_or_error(selectors.services_with_product(), call.str("orderid"), "Order ID Not Found")


def option_values(product, raw):
    """configoptions[<option id or code>]=<quantity, choice id or choice code> → {code: value}."""
    options = {str(o.pk): o for o in selectors.product_options(product)}
    options.update({o.code: o for o in list(options.values())})
    values = {}
    for key, value in raw.items():
        option = options.get(str(key))
        if option is None:
            raise WhmcsError(f"Invalid configurable option: {key}")
        if option.kind == ConfigurableOption.Kind.SELECT:
            choice = next((c for c in option.choices.all() if str(c.pk) == str(value) or c.code == value), None)
            value = choice.code if choice else value
        values[option.code] = value
    return values


@action("AddOrder", category=O, scope="orders.write", required=(("clientid", "Client ID Not Found"),),
        note="One product per call (pid/domain/billingcycle, plain or as [0]); configoptions[<id or code>]=value. "
             "Promotions, addons and domain registration are not supported; paymentmethod is accepted and ignored.")
def add_order(call):
    client = find_client(call)
    pids = call.indexed("pid")
    if not pids:
        raise WhmcsError("You did not specify any products")
    if len(pids) > 1:
        raise WhmcsError("Only one product per order is supported: send one AddOrder per product")
    product = get_or_error(selectors.products(), pids[0], "Product ID Not Found")
    cycles = call.indexed("billingcycle")
    cycle = cycle_from_whmcs(cycles[0]) if cycles else None
    if cycles and cycle is None:
        raise WhmcsError(f"Invalid Billing Cycle: {cycles[0]}")
    if cycle is None:
        cycle = selectors.product_first_cycle(product=product, currency=client.currency)
    domains = call.indexed("domain")
    if not domains:
        raise WhmcsError("A domain is required for this product")
    result = order_create(
        client=client, product=product, domain=domains[0], cycle=cycle or "monthly",
        option_values=option_values(product, call.mapping("configoptions")), actor=call.actor, staff=True,
        source=Order.Source.API,
    )
    return {"orderid": result.service.pk, "serviceids": str(result.service.pk), "addonids": "", "domainids": "",
            "invoiceid": result.invoice.pk}


@action("AcceptOrder", category=O, scope="orders.write", required=(("orderid", "Order ID Not Found"),),
        note="Accepting always runs the module's Create (autosetup is implied); serverid, serviceusername, "
             "servicepassword and sendemail are ignored: the server comes from the product's server group.")
def accept_order(call):
    service = find_order(call)
    if service.status != S.PENDING:
        raise WhmcsError("Order is not Pending")
    lifecycle.service_create(service=service, actor=call.actor)
    return {}


@action("CancelOrder", category=O, scope="orders.write", required=(("orderid", "Order ID Not Found"),),
        note="An immediate cancellation request (billing.services.cancellation): unpaid invoice lines are cancelled.")
def cancel_order(call):
    service = find_order(call)
    if service.status == S.CANCELLED:
        raise WhmcsError("Order is already Cancelled")
    cancellation_request(service=service, cancellation_type=Service.CancellationType.IMMEDIATE,
                         reason=call.str("cancelreason") or "Cancelled via the API", actor=call.actor)
    return {}


def order_invoices(service_ids):
    """Each service's first invoice (its order invoice), in one query."""
    first = {}
    for service_id, invoice_id in selectors.first_invoice_rows(service_ids):
        first.setdefault(service_id, invoice_id)
    return first


@action("GetOrders", category=O, scope="services.read", note="One line item (the service) per order; status Fraud never occurs.")
def get_orders(call):
    wanted = None
    if call.has("status"):
        wanted = [value for value, title in ORDER_STATUS.items() if title.lower() == call.str("status").lower()]
    services = selectors.services_newest_first(
        service_id=call.int("id") if call.has("id") else None,
        client_id=call.int("userid") if call.has("userid") else None, statuses=wanted,
    )
    rows, page = paginate(call, services)
    invoices = order_invoices([s.pk for s in rows])
    orders = [
        {
            "id": s.pk, "ordernum": str(s.pk), "userid": s.client_id, "contactid": 0, "date": when(s.created_at),
            "amount": money(s.first_payment_amount, s.currency), "paymentmethod": "manual", "paymentmethodname": "Manual",
            "invoiceid": invoices.get(s.pk, 0), "status": ORDER_STATUS[s.status], "ipaddress": "", "notes": "",
            "promocode": "", "name": s.client.full_name, "currencyprefix": "", "currencysuffix": f" {s.currency}",
            "lineitems": {"lineitem": [{
                "type": "product", "relid": s.pk, "producttype": s.product.get_type_display(), "product": s.product.name,
                "domain": s.domain, "billingcycle": CYCLES.get(s.billing_cycle), "amount": money(s.first_payment_amount, s.currency),
                "status": s.get_status_display(),
            }]},
        }
        for s in rows
    ]
    return {**page, "orders": {"order": orders}}


@action("GetOrderStatuses", category=O, scope="services.read")
def get_order_statuses(call):
    counts = defaultdict(int)
    for status, n in selectors.service_count_by_status():
        counts[ORDER_STATUS[status]] += n
    statuses = [{"title": title, "color": colour, "count": counts[title]} for title, colour in ORDER_STATUS_COLOURS.items()]
    return {"totalresults": len(statuses), "statuses": {"status": statuses}}


def product_fields(product, currency_codes):
    prices = defaultdict(dict)
    for p in product.prices.all():
        price_key, setup_key = WHMCS_PRICE_FIELDS[p.cycle]
        prices[p.currency].update({price_key: money(p.price, p.currency), setup_key: money(p.setup_fee, p.currency)})
    pricing = {}
    for code in currency_codes:
        if code in prices:
            row = {"prefix": "", "suffix": f" {code}"}
            for price_key, setup_key in WHMCS_PRICE_FIELDS.values():
                row.setdefault(setup_key, "-1.00")
                row.setdefault(price_key, "-1.00")
            row.update(prices[code])
            pricing[code] = row
    onetime = any(p.cycle == "onetime" for p in product.prices.all())
    return {
        "pid": product.pk, "gid": product.group_id, "type": "other" if product.type != "mail" else "hostingaccount",
        "name": product.name, "description": product.description, "module": product.module,
        "paytype": "onetime" if onetime else "recurring", "hidden": product.hidden, "retired": product.retired,
        "pricing": pricing, "customfields": {"customfield": []},
        "configoptions": {"configoption": [
            {"id": o.pk, "name": o.name, "type": 4 if o.kind == "quantity" else 1,
             "options": {"option": [{"id": c.pk, "name": c.label} for c in o.choices.all()]}}
            for o in product.config_options.all()
        ]},
    }


@action("GetProducts", category=O, scope="products.read")
def get_products(call):
    products = selectors.products_with_options(
        product_ids=[int(p) for p in call.str("pid").split(",") if p.strip().isdigit()] if call.has("pid") else None,
        group_id=call.int("gid") if call.has("gid") else None,
        module=call.str("module") if call.has("module") else None,
    )
    rows = list(products)
    codes = sorted({p.currency for product in rows for p in product.prices.all()})
    return {"totalresults": len(rows), "products": {"product": [product_fields(p, codes) for p in rows]}}


unsupported(O, "the portal has no fraud checks or fraud order status", "FraudOrder", "OrderFraudCheck")
unsupported(O, "an order is its service (provisioning.lifecycle): once accepted the module has created the account, "
               "so Pending would contradict the server, and cancelling an order cancels its invoice lines, so it cannot "
               "be reopened; place a new order (AddOrder)", "PendingOrder")
unsupported(O, "an order is its service, and every order has its numbered order invoice, whose lines reference the "
               "service and which is kept even when cancelled (invoice numbers have no gaps): deleting the order would "
               "delete a numbered invoice. CancelOrder cancels it; it stays in the history", "DeleteOrder")
unsupported(O, "the portal has no promotions", "GetPromotions")
