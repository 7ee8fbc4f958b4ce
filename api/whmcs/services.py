"""WHMCS "Service" actions, on provisioning.lifecycle (ModuleCreate/Suspend/Unsuspend/Terminate/ChangePw/
ChangePackage) and billing.services.changes (UpgradeProduct with proration, which then changes the package on
the provider)."""
from api.whmcs.orders import option_values
from api.whmcs.registry import WhmcsError, action, get_or_error, unsupported
from api.whmcs.shapes import CYCLES, SERVICE_STATUS_FROM_WHMCS, cycle_from_whmcs, local_midnight, money
from billing import selectors
from billing.models import Service
from billing.services.changes import change_apply, change_quote
from billing.services.service_record import RecordChange, service_record_update
from provisioning import lifecycle
from provisioning import selectors as provisioning_selectors

V = "Service"
NEED_SERVICE = (("serviceid", "Service ID is required"),)
S = Service.Status


def find_service(call):
    return get_or_error(selectors.services_with_product(), call.str("serviceid"), "Service ID Not Found")


def _lifecycle_action(name, scope, transition, note=""):
    def handler(call):
        transition(find_service(call), call)
        return {}

    handler.__name__ = name.lower()
    return action(name, category=V, scope=scope, required=NEED_SERVICE, note=note)(handler)


_lifecycle_action("ModuleCreate", "services.write",
                  lambda svc, call: lifecycle.service_create(service=svc, actor=call.actor))
_lifecycle_action("ModuleSuspend", "services.write", lambda svc, call: lifecycle.service_suspend(
    service=svc, actor=call.actor, reason=Service.SuspendReason.MANUAL, reason_text=call.str("suspendreason")[:255]),
    note="Suspended as 'manual' with suspendreason as the text.")
_lifecycle_action("ModuleUnsuspend", "services.write",
                  lambda svc, call: lifecycle.service_unsuspend(service=svc, actor=call.actor))
_lifecycle_action("ModuleTerminate", "services.terminate",
                  lambda svc, call: lifecycle.service_terminate(service=svc, actor=call.actor),
                  note="Data deletion follows the product's delete-data option.")


_lifecycle_action("ModuleChangePackage", "services.change_package",
                  lambda svc, call: lifecycle.service_change_package(service=svc, actor=call.actor),
                  note="Applies the service's current product and configurable options on the provider (limits such "
                       "as the number of mailboxes). UpgradeProduct does this by itself.")


@action("ModuleChangePw", category=V, scope="services.write", required=NEED_SERVICE,
        note="servicepassword sets a new password; without it the stored password is sent to the provider again "
             "(as WHMCS does, e.g. after the password was changed on the server).")
def module_change_pw(call):
    service = find_service(call)
    password = call.str("servicepassword") or service.password
    if not password:
        raise WhmcsError("The service has no stored password: give the new one as servicepassword")
    lifecycle.service_change_password(service=service, actor=call.actor, new_password=password)
    return {}


def _change_target(call, service):
    kind = call.str("type", "product").lower()
    if kind == "product":
        if not call.has("newproductid"):
            raise WhmcsError("newproductid is required for a product upgrade")
        product = get_or_error(selectors.products(), call.str("newproductid"), "Invalid New Product ID")
        cycle = call.str("newproductbillingcycle")
        if cycle and cycle.lower().replace("-", "") != CYCLES.get(service.billing_cycle, "").lower().replace("-", ""):
            raise WhmcsError("Changing the billing cycle in an upgrade is not supported")
        return product, None
    if kind == "configoptions":
        return None, option_values(service.product, call.mapping("configoptions"))
    raise WhmcsError("Invalid upgrade type: use product or configoptions")


@action("UpgradeProduct", category=V, scope="services.write", required=NEED_SERVICE,
        note="Prorated by billing.services.changes: a charge is invoiced at once and, as in WHMCS, the change "
             "takes effect when that invoice is paid (at once where the product says so); a downgrade is credited "
             "and takes effect at once, on the provider too (ModuleChangePackage). A second upgrade while one "
             "waits for payment is refused. promocode and a change of billing cycle are not supported.")
def upgrade_product(call):
    service = find_service(call)
    product, values = _change_target(call, service)
    if call.bool("calconly"):
        quote = change_quote(service=service, product=product, option_values=values)
        return {
            "oldproductid": service.product_id, "oldproductname": service.product.name,
            "newproductid": quote.product.pk, "newproductname": quote.product.name,
            "daysuntilrenewal": quote.days_left, "totaldays": quote.days_in_period,
            "newproductbillingcycle": CYCLES.get(service.billing_cycle), "price": money(quote.amount, service.currency),
            "recurringamount": money(quote.new_recurring, service.currency), "upgradeinprogress": False,
        }
    result = change_apply(service=service, actor=call.actor, product=product, option_values=values)
    return {
        "orderid": service.pk, "invoiceid": result.invoice.pk if result.invoice else 0,
        "newproductid": result.quote.product.pk, "price": money(result.quote.amount, service.currency),
        "recurringamount": money(result.quote.new_recurring, service.currency),
    }


TRANSITIONS = {
    S.ACTIVE: lambda svc, call: (
        lifecycle.service_unsuspend(service=svc, actor=call.actor) if svc.status == S.SUSPENDED
        else lifecycle.service_create(service=svc, actor=call.actor)
    ),
    S.SUSPENDED: lambda svc, call: lifecycle.service_suspend(
        service=svc, actor=call.actor, reason=Service.SuspendReason.MANUAL, reason_text=call.str("suspendreason")[:255]
    ),
    S.TERMINATED: lambda svc, call: lifecycle.service_terminate(service=svc, actor=call.actor),
    S.CANCELLED: lambda svc, call: lifecycle.service_cancel(service=svc, actor=call.actor),
}


# UpdateClientProduct parameter → (Service field, how to read it). Record fields only: no module call (as in WHMCS).
RECORD_PARAMS = {
    "regdate": ("registration_date", "date"), "nextduedate": ("next_due_date", "date"),
    "domain": ("domain", "str"), "firstpaymentamount": ("first_payment_amount", "decimal"),
    "recurringamount": ("recurring_amount", "decimal"), "notes": ("notes", "str"),
    "serviceusername": ("username", "str"), "diskusage": ("disk_usage_mb", "decimal"),
    "disklimit": ("disk_limit_mb", "decimal"),
}
# WHMCS fields the portal keeps nothing for: accepted when empty or zero (what GetClientsProducts answers for them),
# refused otherwise so that nothing is silently lost.
NO_FIELD = ("subscriptionid", "overideautosuspend", "overidesuspenduntil", "ns1", "ns2", "dedicatedip", "assignedips",
            "bwusage", "bwlimit", "customfields", "unset", "addonid")
EMPTY_VALUES = ("", "0", "0000-00-00", "false", "off")
IGNORED = ("paymentmethod",)  # one payment method for all services here (GetClientsProducts: manual)


def record_change(call, service):
    """The record fields of an UpdateClientProduct call as a billing RecordChange."""
    refused = sorted(name for name in call.data if name.split("[")[0] in NO_FIELD and call.str(name).lower() not in EMPTY_VALUES)
    if refused:
        raise WhmcsError(f"Updating {', '.join(refused)} is not supported by this portal: it keeps no such field")
    fields = {field: getattr(call, kind)(param) for param, (field, kind) in RECORD_PARAMS.items() if param in call.data}
    if call.has("billingcycle"):
        cycle = cycle_from_whmcs(call.str("billingcycle"))
        if cycle is None:
            raise WhmcsError(f"Invalid Billing Cycle: {call.str('billingcycle')}")
        fields["billing_cycle"] = cycle
    if "terminationdate" in call.data:
        ended = call.date("terminationdate") if call.str("terminationdate") not in ("", "0000-00-00") else None
        fields["terminated_at"] = local_midnight(ended) if ended else None
    if call.has("serverid"):
        fields["server_id"] = get_or_error(provisioning_selectors.servers_with_load(), call.str("serverid"),
                                           "Server ID Not Found").pk if call.str("serverid") != "0" else None
    if call.has("promoid"):
        fields["promotion_id"] = get_or_error(selectors.promotions_by_code(), call.str("promoid"),
                                              "Promotion ID Not Found").pk if call.str("promoid") != "0" else None
    product = get_or_error(selectors.products(), call.str("pid"), "Product ID Not Found") if call.has("pid") else None
    raw_options = call.mapping("configoptions")
    values = option_values(product or service.product, raw_options) if raw_options else None
    return RecordChange(fields=fields, product=product, option_values=values, recalculate=call.bool("autorecalc"))


@action("UpdateClientProduct", category=V, scope="services.write", required=NEED_SERVICE,
        note="Every documented field: regdate, nextduedate (the next invoice date moves with it), terminationdate, "
             "domain, firstpaymentamount, recurringamount, billingcycle, notes, serviceusername, serverid, promoid, "
             "diskusage, disklimit, pid and configoptions change the record only (billing.services.service_record; "
             "no module call and nothing invoiced, as in WHMCS: ModuleChangePackage applies a new product on the "
             "provider, UpgradeProduct prorates); autorecalc reprices the recurring amount from the catalogue. "
             "status goes through the lifecycle (with the module call) and servicepassword through ModuleChangePw. "
             "paymentmethod is accepted and ignored (one method for all services); subscriptionid, overideautosuspend, "
             "ns1/ns2, dedicatedip, assignedips, bwusage/bwlimit and customfields have no portal field and are "
             "refused unless empty.")
def update_client_product(call):
    service = find_service(call)
    change = record_change(call, service)
    status = None
    if call.has("status"):
        status = SERVICE_STATUS_FROM_WHMCS.get(call.str("status").lower())
        if status is None:
            raise WhmcsError(f"Invalid status: {call.str('status')}")
        if status == S.TERMINATED and not call.caller.allows("services.terminate"):
            raise WhmcsError('Invalid Permissions: API action "moduleterminate" is not allowed')
        if status != service.status and status not in TRANSITIONS:
            raise WhmcsError(f"A service cannot be set to {call.str('status')}")
    if change.fields or change.product or change.option_values is not None or change.recalculate:
        service_record_update(service=service, actor=call.actor, change=change)
        service = find_service(call)
    if status is not None and status != service.status:
        TRANSITIONS[status](service, call)
    if call.has("servicepassword"):
        lifecycle.service_change_password(service=service, actor=call.actor, new_password=call.str("servicepassword"))
    return {"serviceid": call.str("serviceid")}


unsupported(V, "the portal's modules expose no custom functions through the API", "ModuleCustom")
