"""WHMCS "Products" actions: AddProduct, through provisioning's product_create service, which validates like the
staff area's product form (the module's option schema from provisioning/options.py and the disk-tranche rule)."""
import re
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError

from api.whmcs.registry import WhmcsError, action, parse_amount
from api.whmcs.shapes import currency_code
from billing.models import BillingCycle, Product
from billing.selectors import currency_codes, product_group
from provisioning.products import product_create
from provisioning.selectors import server_group as find_server_group

P = "Products"
TYPES = {"hostingaccount": Product.Type.MAIL, "mail": Product.Type.MAIL, "voip": Product.Type.VOIP,
         "other": Product.Type.OTHER}
RECURRING_KEYS = {"monthly": (BillingCycle.MONTHLY, "msetupfee"), "quarterly": (BillingCycle.QUARTERLY, "qsetupfee"),
                  "semiannually": (BillingCycle.SEMIANNUALLY, "ssetupfee"),
                  "annually": (BillingCycle.ANNUALLY, "asetupfee")}
SETUP_KEYS = {setup: price for price, (_, setup) in RECURRING_KEYS.items()}
UNSUPPORTED_CYCLES = ("biennially", "triennially", "bsetupfee", "tsetupfee")
PRICING_KEY = re.compile(r"^pricing\[([^\]]+)\]\[([a-z]+)\]$")
CONFIG_OPTION = re.compile(r"^configoption(\d+)$")
AUTOSETUP = {"": False, "payment": True}
# WHMCS options the portal's products do not have: refused when set, so that nothing is silently dropped.
NOT_SUPPORTED = ("stockcontrol", "proratabilling", "showdomainoptions", "subdomain", "isFeatured", "recommendations",
                 "welcomeemail", "tagline", "shortdescription", "slug", "color", "tax")


def parse_pricing(call, paytype):
    """pricing[<currency id or code>][<cycle or setup fee key>] → {(currency, cycle): (price, setup fee)}.
    -1 (WHMCS's "cycle off") leaves a cycle out. A one-time product's price is in the monthly column, as in WHMCS."""
    given = {}
    for key in call.data:
        match = PRICING_KEY.match(key)
        if match is None:
            if key.startswith("pricing"):
                raise WhmcsError(f"Invalid pricing parameter {key}: use pricing[<currency id>][monthly] etc.")
            continue
        currency, field = currency_code(match.group(1)), match.group(2)
        if currency is None:
            raise WhmcsError(f"Invalid currency in {key}")
        given.setdefault(currency, {})[field] = call.str(key)
    if paytype == "free" or not given:
        if given:
            raise WhmcsError("pricing is not used with paytype free")
        # Free, as WHMCS makes a product added without prices: 0.00 once, in every currency clients pay in.
        codes = {settings.DEFAULT_CURRENCY} | currency_codes()
        return {(code, BillingCycle.ONETIME): (Decimal("0"), Decimal("0")) for code in sorted(codes)}
    prices = {}
    for currency, fields in given.items():
        for field, raw in fields.items():
            if field in UNSUPPORTED_CYCLES:
                if parse_amount(raw, f"pricing[{currency}][{field}]") != -1:
                    raise WhmcsError(f"pricing[{currency}][{field}]: the portal has no biennial or triennial cycles")
                continue
            if field not in RECURRING_KEYS and field not in SETUP_KEYS:
                raise WhmcsError(f"Invalid pricing field {field}")
        for price_key, (cycle, setup_key) in RECURRING_KEYS.items():
            if paytype == "onetime" and price_key != "monthly":
                off = [k for k in (price_key, setup_key) if fields.get(k) not in (None, "")
                       and parse_amount(fields[k], f"pricing[{currency}][{k}]") not in (-1, 0)]
                if off:
                    raise WhmcsError(f"pricing[{currency}][{off[0]}]: a one-time product has only the monthly column")
                continue
            if fields.get(price_key) in (None, ""):
                continue
            price = parse_amount(fields[price_key], f"pricing[{currency}][{price_key}]")
            if price == -1:
                continue
            setup = parse_amount(fields.get(setup_key) or "0", f"pricing[{currency}][{setup_key}]")
            setup = Decimal("0") if setup == -1 else setup
            prices[(currency, BillingCycle.ONETIME if paytype == "onetime" else cycle)] = (price, setup)
    return prices


def module_options(call):
    """configoption1..N (the option numbers WHMCS modules use) and moduleoptions[<name>] (every option has a name;
    not every option has a number) as the raw input of the module's option schema."""
    options = {key: call.data.get(key) for key in call.data if CONFIG_OPTION.match(key)}
    options.update(call.mapping("moduleoptions"))
    return options


def form_errors(exc):
    messages = []
    for field, errors in exc.message_dict.items():
        text = " ".join(errors)
        messages.append(text if field in ("module_options", "__all__") else f"{field}: {text}")
    return " ".join(messages)


@action("AddProduct", category=P, scope="products.write",
        required=(("gid", "You must supply a valid Product Group ID"), ("name", "You must supply a valid Product Name")),
        note="Validated by the staff product form: module = a portal module key; configoption<N> and moduleoptions[<name>] "
             "are the module's options, checked by its option schema (errors name the option); only SmarterMail's options "
             "have WHMCS numbers, so the other modules' options are given as moduleoptions[<name>]. type: hostingaccount "
             "(= mail), other, or the portal's mail/voip; reselleraccount and server are not supported. paytype free, or no "
             "pricing at all = a one-time price of 0.00 in every currency (ordered with billingcycle Free Account or "
             "none); onetime = the monthly column; recurring = monthly to "
             "annually (biennially/triennially must be -1). Names may repeat within a group, as in WHMCS. autosetup: payment or empty; servergroupid, hidden, order "
             "and retired are read. WHMCS-only options (stock control, proration, welcome e-mail, …) are refused.")
def add_product(call):
    group = product_group(call.int("gid", error="You must supply a valid Product Group ID"))
    if group is None:
        raise WhmcsError("You must supply a valid Product Group ID")
    product_type = TYPES.get(call.str("type", "other").lower())
    if product_type is None:
        raise WhmcsError(f"Invalid product type {call.str('type')}: use hostingaccount, other, mail or voip")
    refused = [name for name in NOT_SUPPORTED if call.has(name) and call.str(name) not in ("0", "", "false")]
    if refused:
        raise WhmcsError(f"Not supported by the portal's products: {', '.join(refused)}")
    paytype = call.str("paytype", "recurring").lower()
    if paytype not in ("free", "onetime", "recurring"):
        raise WhmcsError("Invalid paytype: use free, onetime or recurring")
    autosetup = call.str("autosetup").lower()
    if autosetup not in AUTOSETUP:
        raise WhmcsError("Invalid autosetup: the portal sets up on payment (payment) or by staff acceptance (empty)")
    server_group = None
    if call.has("servergroupid") and call.str("servergroupid") != "0":
        server_group = find_server_group(call.int("servergroupid", error="Invalid servergroupid"))
        if server_group is None:
            raise WhmcsError("Invalid servergroupid: no such server group")
    prices = parse_pricing(call, paytype)
    options = module_options(call)
    if options and not call.has("module"):
        raise WhmcsError("Module options need a module")
    try:
        product = product_create(
            actor=call.actor, prices=prices, group=group, name=call.str("name"), type=product_type,
            description=call.data.get("description", ""), module=call.str("module"), server_group=server_group,
            module_options=options, auto_accept_on_payment=AUTOSETUP[autosetup], hidden=bool(call.bool("hidden")),
            retired=bool(call.bool("retired")), sort_order=call.int("order", 0))
    except ValidationError as exc:
        raise WhmcsError(form_errors(exc)) from None
    return {"pid": product.pk}
