"""WHMCS "Service" actions, on provisioning.lifecycle (ModuleCreate/Suspend/Unsuspend/Terminate/ChangePw/
ChangePackage) and billing.services.changes (UpgradeProduct with proration, which then changes the package on
the provider)."""
from api.whmcs.orders import option_values
from api.whmcs.registry import WhmcsError, action, get_or_error, unsupported
from api.whmcs.shapes import CYCLES, SERVICE_STATUS_FROM_WHMCS, money
from billing import selectors
from billing.models import Service
from billing.services.changes import change_apply, change_quote
from provisioning import lifecycle

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
        note="servicepassword is required (the portal does not generate one here).")
def module_change_pw(call):
    password = call.str("servicepassword")
    if not password:
        raise WhmcsError("A new password (servicepassword) is required")
    lifecycle.service_change_password(service=find_service(call), actor=call.actor, new_password=password)
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


@action("UpdateClientProduct", category=V, scope="services.write", required=NEED_SERVICE,
        note="status (through the lifecycle functions, with the module call) and servicepassword (ModuleChangePw). "
             "Other fields (dates, amounts, product, server, domain) need a billing service the portal does not "
             "offer through the API and answer an error naming them. pid/configoptions: use UpgradeProduct (as in "
             "WHMCS, UpdateClientProduct calls no module; UpgradeProduct prorates and changes the package).")
def update_client_product(call):
    service = find_service(call)
    handled = {"serviceid", "status", "suspendreason", "servicepassword", "action", "identifier", "secret",
               "username", "password", "responsetype", "accesskey"}
    others = sorted(k for k in call.data if k not in handled and call.str(k))
    if others:
        raise WhmcsError(f"Updating {', '.join(others)} is not supported by this portal")
    if call.has("status"):
        status = SERVICE_STATUS_FROM_WHMCS.get(call.str("status").lower())
        if status is None:
            raise WhmcsError(f"Invalid status: {call.str('status')}")
        if status == S.TERMINATED and not call.caller.allows("services.terminate"):
            raise WhmcsError('Invalid Permissions: API action "moduleterminate" is not allowed')
        if status != service.status:
            if status not in TRANSITIONS:
                raise WhmcsError(f"A service cannot be set to {call.str('status')}")
            TRANSITIONS[status](service, call)
    if call.has("servicepassword"):
        lifecycle.service_change_password(service=service, actor=call.actor, new_password=call.str("servicepassword"))
    return {"serviceid": service.pk}


unsupported(V, "the portal's modules expose no custom functions through the API", "ModuleCustom")
