"""WHMCS "Orders" actions. The portal has no separate order record: an order is the Pending service that
billing.services.orders.order_create makes (with its first invoice), so orderid = the service id."""
from collections import defaultdict

from api.whmcs.clients import find_client
from django.core.exceptions import ValidationError
from django.utils import timezone

from api.whmcs.registry import WhmcsError, action, get_or_error, paginate, parse_amount, unsupported
from api.whmcs.shapes import CYCLES, WHMCS_PRICE_FIELDS, cycle_from_whmcs, day, money, text_id, when
from billing import selectors
from billing.models import BillingCycle, ConfigurableOption, Order, Promotion, Service
from billing.services.cancellation import cancellation_request
from billing.services.orders import normalize_domain, order_create
from provisioning import lifecycle
from provisioning.registry import get_module

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


FREE_CYCLES = ("free", "freeaccount")  # WHMCS's cycle of a free product ("Free Account")


def order_cycle(call, product, client):
    """The billing cycle asked for, WHMCS-spelt; a free product's "Free Account" is its one-time price of 0.00.
    Without one: the product's first cycle in the client's currency."""
    cycles = call.indexed("billingcycle")
    if cycles and cycles[0].lower().replace(" ", "") in FREE_CYCLES:
        return BillingCycle.ONETIME
    cycle = cycle_from_whmcs(cycles[0]) if cycles else None
    if cycles and cycle is None:
        raise WhmcsError(f"Invalid Billing Cycle: {cycles[0]}")
    return cycle or selectors.product_first_cycle(product=product, currency=client.currency) or BillingCycle.MONTHLY


def domain_held_by_module(product, domain):
    """WHMCS allows a second service for a domain; a provider that keeps one account per domain does not
    (the module says so: provisioning.modules.base.ProvisioningModule.hosts_domain_once)."""
    module = get_module(product.module)
    if module is None or not module.hosts_domain_once:
        return
    existing = selectors.live_service_on_module(domain=normalize_domain(domain), module=product.module)
    if existing is not None:
        raise WhmcsError(f"Domain already exists: {existing.domain} is already hosted on {module.label} "
                         f"(service ID {existing.pk}), which cannot host a domain twice")


def price_override(call):
    overrides = call.indexed("priceoverride")
    if not overrides:
        return None
    return parse_amount(overrides[0], "priceoverride")


def order_promotion(call):
    if not call.has("promocode"):
        return None
    promotion = selectors.promotions_by_code(call.str("promocode")).first()
    if promotion is None:
        raise WhmcsError("Promotion Code Not Found")
    return promotion


@action("AddOrder", category=O, scope="orders.write", required=(("clientid", "Client ID Not Found"),),
        note="One product per call (pid/domain/billingcycle/priceoverride, plain, as [] or as [0]); "
             "configoptions[<id or code>]=value; promocode = a promotion's code (GetPromotions). billingcycle Free "
             "Account (or none) orders a free product's one-time 0.00 price. A second service for a domain is "
             "allowed unless the product's module keeps one account per domain (SmarterMail, Modoboa, PolarisMail, "
             "FusionPBX, Vodia). Addons and domain registration are not supported; paymentmethod is accepted and "
             "ignored.")
def add_order(call):
    client = find_client(call)
    pids = call.indexed("pid")
    if not pids:
        raise WhmcsError("You did not specify any products")
    if len(pids) > 1:
        raise WhmcsError("Only one product per order is supported: send one AddOrder per product")
    product = get_or_error(selectors.products(), pids[0], "Product ID Not Found")
    domains = call.indexed("domain")
    if not domains:
        raise WhmcsError("A domain is required for this product")
    try:
        domain_held_by_module(product, domains[0])
    except ValidationError:
        pass  # not a domain name: order_create says so for the domain field
    result = order_create(
        client=client, product=product, domain=domains[0], cycle=order_cycle(call, product, client),
        option_values=option_values(product, call.mapping("configoptions")), actor=call.actor, staff=True,
        source=Order.Source.API, price_override=price_override(call), one_per_domain=False,
        promotion=order_promotion(call),
    )
    services = ",".join(str(s.pk) for s in result.services)
    return {"orderid": result.service.pk, "productids": services, "serviceids": services, "addonids": "",
            "domainids": "", "invoiceid": result.invoice.pk}


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
            "id": text_id(s.pk), "ordernum": str(s.pk), "userid": text_id(s.client_id), "contactid": "0",
            "date": when(s.created_at),
            "amount": money(s.first_payment_amount, s.currency), "paymentmethod": "manual", "paymentmethodname": "Manual",
            "invoiceid": text_id(invoices.get(s.pk)), "status": ORDER_STATUS[s.status], "ipaddress": "", "notes": "",
            "promocode": "", "name": s.client.full_name, "currencyprefix": "", "currencysuffix": f" {s.currency}",
            "lineitems": {"lineitem": [{
                "type": "product", "relid": text_id(s.pk), "producttype": s.product.get_type_display(), "product": s.product.name,
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
        "pid": text_id(product.pk), "gid": text_id(product.group_id), "type": "other" if product.type != "mail" else "hostingaccount",
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
PROMOTION_TYPES = {Promotion.Kind.PERCENT: "Percentage", Promotion.Kind.FIXED: "Fixed Amount"}


def promotion_fields(promotion):
    """A promotion as WHMCS's GetPromotions lists it (its row of tblpromotions: ids and flags as strings)."""
    return {
        "id": str(promotion.pk), "code": promotion.code, "type": PROMOTION_TYPES[promotion.kind],
        "recurring": str(int(promotion.recurring)), "value": f"{promotion.value:.2f}",
        "cycles": ",".join(CYCLES.get(c, c) for c in promotion.cycles or []),
        "appliesto": ",".join(str(p.pk) for p in promotion.products.all()), "requires": "", "requiresexisting": "0",
        "startdate": day(timezone.localdate(promotion.starts_at) if promotion.starts_at else None),
        "expirationdate": day(timezone.localdate(promotion.ends_at) if promotion.ends_at else None),
        "maxuses": str(promotion.max_uses or 0), "uses": str(promotion.uses), "lifetimepromo": "0",
        "applyonce": "0", "newsignups": str(int(promotion.new_clients_only)), "existingclient": "0",
        "onceperclient": str(int(promotion.max_uses_per_client == 1)), "recurfor": "0", "upgrades": "0",
        "upgradeconfig": "", "notes": promotion.notes, "active": str(int(promotion.active)),
    }


@action("GetPromotions", category=O, scope="products.read",
        note="The storefront's promotion codes (billing.Promotion): type Percentage or Fixed Amount; appliesto = "
             "product ids (empty: every product); cycles = WHMCS cycle names (empty: every cycle); onceperclient is "
             "1 when a client may use it once. active (portal addition) says whether it can be used now.")
def get_promotions(call):
    promotions = list(selectors.promotions_by_code(call.str("code") or None))
    return {"totalresults": len(promotions), "promotions": {"promotion": [promotion_fields(p) for p in promotions]}}
