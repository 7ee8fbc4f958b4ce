"""Services (tblhosting): status, cycle, amounts, dates, suspension, login, password, disk, cancellation
requests, configurable option choices and custom field values (VoIP identifiers in seed 002's pipe formats
become the structured identifiers of provisioning.voip_services)."""
from decimal import Decimal

from django.db.models import Exists, OuterRef

from billing.models import BillingCycle, Product, Service, ServiceConfigOption
from portal.models import Client
from provisioning.voip_services import IdentifierError, parse_legacy_line, product_number_settings, voip_kinds
from whmcs_import.crypto import stored_secret
from whmcs_import.source import day, flag, moment, text
from whmcs_import.steps.catalogue import stand_in_products
from whmcs_import.writer import READ_BATCH, Keep, chunked, sync, sync_by_key

STATUS = {"Pending": Service.Status.PENDING, "Active": Service.Status.ACTIVE, "Suspended": Service.Status.SUSPENDED,
          "Terminated": Service.Status.TERMINATED, "Cancelled": Service.Status.CANCELLED,
          "Fraud": Service.Status.CANCELLED, "Completed": Service.Status.TERMINATED}
# WHMCS cycle → (portal cycle, what the recurring amount is divided by)
CYCLES = {"monthly": (BillingCycle.MONTHLY, 1), "quarterly": (BillingCycle.QUARTERLY, 1),
          "semi-annually": (BillingCycle.SEMIANNUALLY, 1), "annually": (BillingCycle.ANNUALLY, 1),
          "one time": (BillingCycle.ONETIME, 1), "onetime": (BillingCycle.ONETIME, 1),
          "free account": (BillingCycle.ONETIME, 1), "free": (BillingCycle.ONETIME, 1),
          "biennially": (BillingCycle.ANNUALLY, 2), "triennially": (BillingCycle.ANNUALLY, 3)}
CANCELLATION = {"immediate": Service.CancellationType.IMMEDIATE,
                "end of billing period": Service.CancellationType.END_OF_PERIOD}
CENT = Decimal("0.01")
SERVICE_FIELDS = ["client_id", "product_id", "domain", "status", "billing_cycle", "currency", "first_payment_amount",
                  "recurring_amount", "registration_date", "next_due_date", "next_invoice_date", "suspend_reason",
                  "suspend_reason_text", "terminated_at", "server_id", "username", "password", "module_data",
                  "disk_usage_mb", "disk_limit_mb", "cancellation_requested_at", "cancellation_type",
                  "cancellation_reason", "notes", "created_at"]


def import_services(run):
    cancellations = {row["relid"]: row for row in run.source.rows(
        "SELECT relid, date, reason, type FROM tblcancelrequests ORDER BY id")}  # the latest request wins
    custom = _custom_field_values(run)
    run.progress.start("services", run.source.count("tblhosting"))
    for rows in run.source.chunks("SELECT * FROM tblhosting ORDER BY id"):
        stand_in_products(run, [row["packageid"] for row in rows if row["userid"] in run.clients])
        number_settings = _number_settings(run)
        records = []
        for row in rows:
            if row["userid"] not in run.clients:
                run.report.skip("tblhosting", row["id"], "its client does not exist in WHMCS")
                continue
            run.service_product[row["id"]] = row["packageid"]
            records.append((str(row["id"]), _values(run, row, cancellations.get(row["id"]), custom.get(row["id"], {}),
                                                    number_settings)))
        run.services.update({int(k): v for k, v in sync(run, Service, "tblhosting", records, SERVICE_FIELDS,
                                                          merge=("module_data",)).items()})
        run.progress.advance(len(rows))
    run.progress.finish()
    _count_cancellations(run, cancellations)
    import_service_options(run)


HAS_VOIP_FIELD = "has voip service"


def mark_voip_clients(run):
    """"Has VoIP Service" (Client.has_voip_service, seed 002: what lets autosuspend act on the custom API modules'
    services). Where WHMCS has it as a client custom field (as seed 002 sets WHMCS up), its Yes/No per client is
    carried over; else it is turned on for the imported clients with a pending, active or suspended VoIP service.
    Set-based: one UPDATE per batch. Never turned off without WHMCS saying No: staff set the flag by hand on the
    client page, and a re-run keeps their choice."""
    fields = [row["id"] for row in run.source.rows("SELECT id, fieldname FROM tblcustomfields WHERE type = 'client'")
              if text(row["fieldname"]).split("|")[0].strip().lower() == HAS_VOIP_FIELD]
    if fields:
        _copy_voip_field(run, fields[0])
        return
    voip = Service.objects.filter(client=OuterRef("pk"), status__in=Service.LIVE_STATUSES,
                                  product__type=Product.Type.VOIP)
    marked = 0
    for batch in chunked(sorted(run.clients.values()), READ_BATCH):
        marked += Client.objects.filter(pk__in=batch, has_voip_service=False).filter(Exists(voip)).update(
            has_voip_service=True)
    run.report.count("tblclients (Has VoIP Service)", "updated", marked)


def _copy_voip_field(run, field_id):
    rows = run.source.rows("SELECT relid, value FROM tblcustomfieldsvalues WHERE fieldid = %s", (field_id,))
    values = {row["relid"]: flag(row["value"]) for row in rows if row["relid"] in run.clients}
    changed = 0
    for wanted in (True, False):
        pks = [run.clients[whmcs_id] for whmcs_id, value in values.items() if value is wanted]
        for batch in chunked(pks, READ_BATCH):
            changed += Client.objects.filter(pk__in=batch).exclude(has_voip_service=wanted).update(
                has_voip_service=wanted)
    run.report.count("tblclients (Has VoIP Service)", "updated", changed)
    run.report.count("tblclients (Has VoIP Service)", "unchanged", len(values) - changed)


def _count_cancellations(run, cancellations):
    for relid in cancellations:
        if relid in run.services:
            run.report.count("tblcancelrequests", "unchanged")  # carried on its service's row
        else:
            run.report.skip("tblcancelrequests", relid, "its service was not imported")


def _values(run, row, cancellation, custom, number_settings):
    whmcs_id = row["id"]
    status = STATUS.get(text(row["domainstatus"]), Service.Status.PENDING)
    if text(row["domainstatus"]) in ("Fraud", "Completed"):
        run.report.change("tblhosting", whmcs_id, f"status {row['domainstatus']} imported as {status}")
    cycle, divisor = CYCLES.get(text(row["billingcycle"]).lower(), (None, 1))
    if cycle is None:
        run.report.change("tblhosting", whmcs_id, f"billing cycle {row['billingcycle']!r} unknown: imported as monthly")
        cycle = BillingCycle.MONTHLY
    elif divisor > 1:
        run.report.change("tblhosting", whmcs_id, f"{row['billingcycle']} is not a portal cycle: imported as "
                          f"annually at 1/{divisor} of the amount")
    recurring = (row["amount"] / divisor).quantize(CENT)
    registered = day(row["regdate"]) or day(row["created_at"])
    if day(row["regdate"]) is None:
        run.report.change("tblhosting", whmcs_id, "registration date 0000-00-00: the creation date (else the day "
                          "of the first import) is used")
    created = moment(row["created_at"]) or moment(registered) or Keep(run.started_at)
    registered = registered or Keep(run.started_at.date())
    suspended = status == Service.Status.SUSPENDED
    reason_text = text(row["suspendreason"], 255)
    product_id = run.products[row["packageid"]]
    return {
        "client_id": run.clients[row["userid"]], "product_id": product_id, "domain": text(row["domain"], 253),
        "status": status, "billing_cycle": cycle, "currency": run.client_currency[row["userid"]],
        "first_payment_amount": row["firstpaymentamount"], "recurring_amount": recurring,
        "registration_date": registered, "next_due_date": day(row["nextduedate"]),
        "next_invoice_date": day(row["nextinvoicedate"]),
        "suspend_reason": (Service.SuspendReason.OVERDUE if "overdue" in reason_text.lower() or not reason_text
                           else Service.SuspendReason.MANUAL) if suspended else "",
        "suspend_reason_text": reason_text if suspended else "",
        "terminated_at": moment(row["termination_date"]) if status == Service.Status.TERMINATED else None,
        "server_id": run.servers.get(row["server"]), "username": text(row["username"], 120),
        "password": stored_secret(run, "tblhosting", row), "module_data": _module_data(run, row, product_id, custom, number_settings),
        "disk_usage_mb": Decimal(row["diskusage"] or 0), "disk_limit_mb": Decimal(row["disklimit"]) if row["disklimit"] else None,
        "cancellation_requested_at": moment(cancellation["date"]) if cancellation else None,
        "cancellation_type": CANCELLATION.get(text(cancellation["type"]).lower(), Service.CancellationType.END_OF_PERIOD)
        if cancellation else "",
        "cancellation_reason": text(cancellation["reason"]) if cancellation else "",
        "notes": text(row["notes"]), "created_at": created,
    }


def _custom_field_values(run):
    """{service id: {field name: value}} of the product custom fields that have a value."""
    fields = {row["id"]: text(row["fieldname"]).split("|")[0].strip() for row in run.source.rows(
        "SELECT id, fieldname FROM tblcustomfields WHERE type = 'product'")}
    values = {}
    for rows in run.source.chunks("SELECT fieldid, relid, value FROM tblcustomfieldsvalues ORDER BY id"):
        for row in rows:
            if row["fieldid"] in fields and text(row["value"]):
                values.setdefault(row["relid"], {})[fields[row["fieldid"]]] = text(row["value"])
    return values


def _number_settings(run):
    """{product pk: (VoIP kind, region, local NPAs)} of the VoIP products, read once."""
    if run.voip_products is None:
        run.voip_products = {}
        for product in Product.objects.filter(pk__in=list(run.products.values()), module__in=voip_kinds()):
            try:
                run.voip_products[product.pk] = (product.module, *product_number_settings(product))
            except IdentifierError:
                run.voip_products[product.pk] = (product.module, "US", ())
    return run.voip_products


def _module_data(run, row, product_id, custom, number_settings):
    """Custom field values as they were, and for a VoIP service the identifiers read from its legacy pipe line
    (a custom field or the domain, seed 002: `tenant | DID | DID | ext`, `peer | DID`)."""
    data = {"whmcs_custom_fields": custom} if custom else {}
    if product_id not in number_settings:
        return data
    kind, region, local_npa = number_settings[product_id]
    lines = [value for value in custom.values() if "|" in value] + ([text(row["domain"])] if "|" in text(row["domain"]) else [])
    if not lines:
        return data
    try:
        identifiers = parse_legacy_line(kind, lines[0], region=region, local_npa=local_npa)
    except IdentifierError as exc:
        run.report.change("tblhosting", row["id"], f"VoIP line not understood ({exc}): kept in whmcs_custom_fields only")
        return data
    data.update({key: value for key, value in identifiers.as_module_data().items() if value})
    return data


def import_service_options(run):
    rows = []
    for batch in run.source.chunks("SELECT relid, configid, optionid, qty FROM tblhostingconfigoptions ORDER BY id"):
        for row in batch:
            service_id = run.services.get(row["relid"])
            if service_id is None:
                run.report.skip("tblhostingconfigoptions", f"{row['relid']}/{row['configid']}", "its service was not imported")
                continue
            pid = run.service_product.get(row["relid"])
            option = run.options.get(f"{row['configid']}:{pid}")
            choice = run.choices.get(f"{row['optionid']}:{pid}")
            if option is None or choice is None:
                run.report.skip("tblhostingconfigoptions", f"{row['relid']}/{row['configid']}",
                                "the option or its choice is not (or no longer) linked to the service's product")
                continue
            rows.append({"service_id": service_id, "option_id": option, "choice_id": choice,
                         "quantity": max(row["qty"] or 1, 1)})
    service_ids = list(run.services.values())
    totals = [0, 0, 0]
    for batch in chunked(service_ids, 20000):
        wanted = set(batch)
        result = sync_by_key(ServiceConfigOption, [r for r in rows if r["service_id"] in wanted],
                             ("service_id", "option_id"), ("choice_id", "quantity"),
                             existing_filter={"service_id__in": batch})
        totals = [a + b for a, b in zip(totals, result)]
    run.report.count("tblhostingconfigoptions", "created", totals[0])
    run.report.count("tblhostingconfigoptions", "updated", totals[1])
    run.report.count("tblhostingconfigoptions", "unchanged", len(rows) - totals[0] - totals[1])
