"""Product groups, servers and server groups, products (module and module options), their prices per currency
and cycle, and configurable options with their choices and prices."""
import ipaddress
from decimal import Decimal

from django.utils.text import slugify

from billing.models import (
    BillingCycle,
    ConfigurableOption,
    ConfigurableOptionChoice,
    ConfigurableOptionPrice,
    Product,
    ProductGroup,
    ProductPrice,
)
from provisioning.models import Server, ServerGroup
from provisioning.options import OptionsError
from provisioning.registry import installed_modules
from whmcs_import.crypto import stored_secret
from whmcs_import.source import flag, text
from whmcs_import.writer import sync, sync_by_key

# tblpricing's columns per portal cycle: (price, setup fee). WHMCS marks a cycle not offered with a price of -1.
CYCLE_COLUMNS = {
    BillingCycle.MONTHLY: ("monthly", "msetupfee"),
    BillingCycle.QUARTERLY: ("quarterly", "qsetupfee"),
    BillingCycle.SEMIANNUALLY: ("semiannually", "ssetupfee"),
    BillingCycle.ANNUALLY: ("annually", "asetupfee"),
}
UNSUPPORTED_CYCLES = ("biennially", "triennially")
ZERO = Decimal("0.00")
DELETED_GROUP = "Deleted WHMCS products"


def module_key(run, servertype):
    """The portal module for a WHMCS server module name, or "" when the portal has none of that name."""
    name = text(servertype).lower()
    return name if name in installed_modules() else ""


def product_type(key):
    module = installed_modules().get(key)
    if module is None:
        return Product.Type.OTHER
    if module.identifier_keys:
        return Product.Type.VOIP
    return Product.Type.MAIL if module.supports_mailboxes or "mail" in key else Product.Type.OTHER


def unique_name(name, taken, whmcs_id, limit):
    """`name`, or `name (WHMCS #id)` when another row already has it (the portal's names are unique)."""
    name = name[:limit] or f"WHMCS #{whmcs_id}"
    if name.lower() in taken:
        suffix = f" (WHMCS #{whmcs_id})"
        name = name[:limit - len(suffix)] + suffix
    taken.add(name.lower())
    return name


def _names_taken(model, mapped_pks, **filters):
    return {name.lower() for pk, name in model.objects.filter(**filters).values_list("pk", "name") if pk not in mapped_pks}


def import_product_groups(run):
    rows = run.source.rows("SELECT id, name, headline, hidden, `order` FROM tblproductgroups ORDER BY id")
    taken = _names_taken(ProductGroup, set(run.mapping.of("tblproductgroups").values()))
    records = []
    for row in rows:
        name = unique_name(text(row["name"]), taken, row["id"], 120)
        if name != text(row["name"]):
            run.report.change("tblproductgroups", row["id"], "name taken or empty: renamed with its WHMCS id")
        records.append((str(row["id"]), {"name": name, "description": text(row["headline"]),
                                         "hidden": flag(row["hidden"]), "sort_order": max(row["order"] or 0, 0)}))
    run.product_groups = {int(k): v for k, v in sync(run, ProductGroup, "tblproductgroups", records,
                                                      ["name", "description", "hidden", "sort_order"]).items()}


SERVER_FIELDS = ["name", "module", "hostname", "ip_address", "port", "use_tls", "username", "password", "api_token",
                 "capacity", "enabled"]


def import_servers(run):
    rows = run.source.rows("SELECT * FROM tblservers ORDER BY id")
    taken = _names_taken(Server, set(run.mapping.of("tblservers").values()))
    records = []
    for row in rows:
        key = module_key(run, row["type"])
        if not key:
            run.report.change("tblservers", row["id"], f"module {text(row['type'])!r} is not in the portal: "
                              "imported with the module name kept, for reference")
        try:
            ip = str(ipaddress.ip_address(text(row["ipaddress"]))) if text(row["ipaddress"]) else None
        except ValueError:
            ip = None
        records.append((str(row["id"]), {
            "name": unique_name(text(row["name"]), taken, row["id"], 120), "module": key or text(row["type"], 40),
            "hostname": text(row["hostname"], 253) or text(row["ipaddress"], 253), "ip_address": ip,
            "port": row["port"] or None, "use_tls": flag(row["secure"]), "username": text(row["username"], 120),
            "password": stored_secret(run, "tblservers", row), "api_token": text(row["accesshash"]),
            "capacity": max(row["maxaccounts"] or 0, 0), "enabled": not flag(row["disabled"]),
        }))
    run.servers = {int(k): v for k, v in sync(run, Server, "tblservers", records, SERVER_FIELDS).items()}


def import_server_groups(run):
    rows = run.source.rows("SELECT id, name FROM tblservergroups ORDER BY id")
    taken = _names_taken(ServerGroup, set(run.mapping.of("tblservergroups").values()))
    records = [(str(r["id"]), {"name": unique_name(text(r["name"]), taken, r["id"], 120)}) for r in rows]
    run.server_groups = {int(k): v for k, v in sync(run, ServerGroup, "tblservergroups", records, ["name"]).items()}
    wanted = {(run.server_groups[r["groupid"]], run.servers[r["serverid"]])
              for r in run.source.rows("SELECT groupid, serverid FROM tblservergroupsrel")
              if r["groupid"] in run.server_groups and r["serverid"] in run.servers}
    through = ServerGroup.servers.through
    current = set(through.objects.filter(servergroup_id__in=list(run.server_groups.values()))
                  .values_list("servergroup_id", "server_id"))
    through.objects.bulk_create([through(servergroup_id=g, server_id=s) for g, s in wanted - current])
    for group_id, server_id in current - wanted:  # a server taken out of a group in WHMCS (rare, a handful)
        through.objects.filter(servergroup_id=group_id, server_id=server_id).delete()


def module_options(run, row, key):
    """The product's configoption1…N as the module's option schema stores them (by option number); values the
    schema refuses are left out and reported."""
    module = installed_modules().get(key)
    if module is None:
        return {}
    numbers = {option.number for option in module.product_options_schema if option.number}
    raw = {f"configoption{n}": text(row.get(f"configoption{n}")) for n in sorted(numbers)
           if text(row.get(f"configoption{n}"))}
    while True:
        try:
            return module.product_options_schema.clean(raw)
        except OptionsError as exc:
            for name in exc.errors:
                option = module.product_options_schema[name]
                raw.pop(f"configoption{option.number}", None)
                run.report.change("tblproducts", row["id"], f"module option {option.number} ({name}) refused: "
                                  f"{exc.errors[name]} — the default is used")


PRODUCT_FIELDS = ["group_id", "name", "type", "description", "module", "server_group_id", "module_options",
                  "auto_accept_on_payment", "hidden", "retired", "sort_order"]


def import_products(run):
    rows = run.source.rows("SELECT * FROM tblproducts ORDER BY id")
    mapped = set(run.mapping.of("tblproducts").values())
    taken = {}
    for pk, group_id, name in Product.objects.values_list("pk", "group_id", "name"):
        if pk not in mapped:
            taken.setdefault(group_id, set()).add(name.lower())
    records = []
    run.product_paytype = {}
    for row in rows:
        group_id = run.product_groups.get(row["gid"]) or deleted_products_group(run)
        key = module_key(run, row["servertype"])
        if text(row["servertype"]) and not key:
            run.report.change("tblproducts", row["id"], f"module {text(row['servertype'])!r} is not in the portal: "
                              "imported without a module (state changes only)")
        name = unique_name(text(row["name"]), taken.setdefault(group_id, set()), row["id"], 120)
        autosetup = text(row["autosetup"]).lower()
        run.product_paytype[row["id"]] = text(row["paytype"]).lower()
        records.append((str(row["id"]), {
            "group_id": group_id, "name": name, "type": product_type(key), "description": text(row["description"]),
            "module": key, "server_group_id": run.server_groups.get(row["servergroup"]),
            "module_options": module_options(run, row, key),
            # WHMCS: "order" and "payment" set up automatically; "on" (manual accept) and "" (never) do not.
            "auto_accept_on_payment": autosetup in ("order", "payment"),
            "hidden": flag(row["hidden"]), "retired": flag(row["retired"]), "sort_order": max(row["order"] or 0, 0),
        }))
    run.products.update({int(k): v for k, v in sync(run, Product, "tblproducts", records, PRODUCT_FIELDS).items()})


def deleted_products_group(run):
    """The group that holds stand-ins for products deleted in WHMCS that services or options still name."""
    if run.deleted_group_id is None:
        run.deleted_group_id = ProductGroup.objects.get_or_create(
            name=DELETED_GROUP, defaults={"hidden": True, "description": "Products deleted in WHMCS that imported "
                                          "services still belong to; retired, never offered."})[0].pk
    return run.deleted_group_id


def stand_in_products(run, product_ids):
    """Retired stand-ins for WHMCS products that were deleted while services still reference them."""
    missing = sorted({pid for pid in product_ids if pid not in run.products})
    if not missing:
        return
    group_id = deleted_products_group(run)
    records = [(f"deleted:{pid}", {"group_id": group_id, "name": f"Deleted WHMCS product #{pid}", "retired": True,
                                   "hidden": True}) for pid in missing]
    result = sync(run, Product, "tblproducts (deleted)", records, ["group_id", "name", "retired", "hidden"])
    for pid in missing:
        run.products[pid] = result[f"deleted:{pid}"]
        run.report.change("tblhosting", f"product {pid}", "its product was deleted in WHMCS: linked to a retired "
                          f"stand-in product in the group {DELETED_GROUP!r}")


def _prices(run, row, whmcs_id, paytype):
    """[(cycle, price, setup fee)] of one tblpricing row for a pay type: free has none, one-time the monthly
    column, recurring every cycle not marked -1."""
    if paytype == "free":
        return []
    if paytype == "onetime":
        price = row["monthly"]
        return [] if price < 0 else [(BillingCycle.ONETIME, price, max(row["msetupfee"], ZERO))]
    found = []
    for cycle, (price_column, setup_column) in CYCLE_COLUMNS.items():
        if row[price_column] >= 0:
            found.append((cycle, row[price_column], max(row[setup_column], ZERO)))
    for column in UNSUPPORTED_CYCLES:
        if row[column] >= 0:
            run.report.change("tblpricing", row["id"], f"{column} price not imported: the portal bills monthly "
                              "to annually (and one time)")
    return found


def import_prices(run):
    rows = run.source.rows("SELECT * FROM tblpricing WHERE type IN ('product', 'configoptions') ORDER BY id")
    product_rows, option_rows = [], []
    for row in rows:
        currency = run.currencies.get(row["currency"])
        if currency is None:
            run.report.skip("tblpricing", row["id"], "its currency does not exist in WHMCS")
            continue
        if row["type"] == "product":
            product_id = run.products.get(row["relid"])
            if product_id is None:
                run.report.skip("tblpricing", row["id"], "its product was deleted in WHMCS")
                continue
            for cycle, price, setup in _prices(run, row, row["id"], run.product_paytype.get(row["relid"], "recurring")):
                product_rows.append({"product_id": product_id, "currency": currency, "cycle": cycle, "price": price,
                                     "setup_fee": setup})
        else:
            for choice_id, paytype in run.choices_by_sub.get(row["relid"], []):
                for cycle, price, setup in _prices(run, row, row["id"], paytype):
                    option_rows.append({"choice_id": choice_id, "currency": currency, "cycle": cycle,
                                        "price": price, "setup_fee": setup})
    created, updated, deleted = sync_by_key(
        ProductPrice, product_rows, ("product_id", "currency", "cycle"), ("price", "setup_fee"),
        existing_filter={"product_id__in": list(run.products.values())})
    _count(run, "tblpricing (products)", created, updated, len(product_rows), deleted)
    created, updated, deleted = sync_by_key(
        ConfigurableOptionPrice, option_rows, ("choice_id", "currency", "cycle"), ("price", "setup_fee"),
        existing_filter={"choice_id__in": [c for choices in run.choices_by_sub.values() for c, _ in choices]})
    _count(run, "tblpricing (options)", created, updated, len(option_rows), deleted)


def _count(run, table, created, updated, total, deleted):
    run.report.count(table, "created", created)
    run.report.count(table, "updated", updated)
    run.report.count(table, "unchanged", total - created - updated)
    if deleted:
        run.report.notes.append(f"{table}: {deleted} price(s) no longer offered in WHMCS were removed.")


QUANTITY, YES_NO = "4", "3"  # tblproductconfigoptions.optiontype: 1 dropdown, 2 radio, 3 yes/no, 4 quantity


def import_config_options(run):
    """WHMCS options belong to option groups linked to products; the portal's belong to one product, so each
    (option, product) link becomes an option of that product, and each choice a choice of it."""
    links = {}
    for link in run.source.rows("SELECT gid, pid FROM tblproductconfiglinks ORDER BY id"):
        if link["pid"] in run.products:
            links.setdefault(link["gid"], []).append(link["pid"])
    options = run.source.rows("SELECT * FROM tblproductconfigoptions ORDER BY `order`, id")
    subs = {}
    for sub in run.source.rows("SELECT * FROM tblproductconfigoptionssub ORDER BY sortorder, id"):
        subs.setdefault(sub["configid"], []).append(sub)
    option_records, codes = [], {}
    for option in options:
        if not links.get(option["gid"]):
            run.report.skip("tblproductconfigoptions", option["id"], "its option group is linked to no product")
            continue
        kind = ConfigurableOption.Kind.QUANTITY if text(option["optiontype"]) in (QUANTITY, YES_NO) else \
            ConfigurableOption.Kind.SELECT
        name = text(option["optionname"]).split("|")[-1].strip() or f"Option {option['id']}"
        for pid in links[option["gid"]]:
            code = _unique_code(text(option["optionname"]).split("|")[0], option["id"], codes.setdefault(pid, set()))
            maximum = 1 if text(option["optiontype"]) == YES_NO else (option["qtymaximum"] or None)
            option_records.append((f"{option['id']}:{pid}", {
                "product_id": run.products[pid], "code": code, "name": name[:120], "kind": kind,
                "min_quantity": max(option["qtyminimum"] or 0, 0), "max_quantity": maximum,
                "sort_order": max(option["order"] or 0, 0)}))
    run.options = sync(run, ConfigurableOption, "tblproductconfigoptions", option_records,
                       ["product_id", "code", "name", "kind", "min_quantity", "max_quantity", "sort_order"])
    choice_records = []
    for option in options:
        for pid in links.get(option["gid"], []):
            option_pk, taken = run.options[f"{option['id']}:{pid}"], set()
            for sub in subs.get(option["id"], []):
                label = text(sub["optionname"]).split("|")[-1].strip() or f"Choice {sub['id']}"
                choice_records.append((f"{sub['id']}:{pid}", {
                    "option_id": option_pk, "code": _unique_code(text(sub["optionname"]).split("|")[0], sub["id"], taken),
                    "label": label[:120], "sort_order": max(sub["sortorder"] or 0, 0)}))
    run.choices = sync(run, ConfigurableOptionChoice, "tblproductconfigoptionssub", choice_records,
                       ["option_id", "code", "label", "sort_order"])
    for whmcs_key, pk in run.choices.items():
        sub_id, pid = (int(part) for part in whmcs_key.split(":"))
        run.choices_by_sub.setdefault(sub_id, []).append((pk, run.product_paytype.get(pid, "recurring")))


def _unique_code(label, whmcs_id, taken):
    code = slugify(label)[:50] or f"option-{whmcs_id}"
    if code in taken:
        code = f"{code[:45]}-{whmcs_id}"
    taken.add(code)
    return code
