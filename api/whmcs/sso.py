"""CreateSsoToken: a control-panel login URL for a service (provisioning.services.service_sso_url, the
module's short-lived provider URL). Client-area SSO (a login-as-client token for the portal itself) waits for
portal/impersonation.py and answers "not supported" until then."""
from api.whmcs.registry import WhmcsError, action, get_or_error
from billing.models import Service
from provisioning.services import service_sso_url


@action("CreateSsoToken", category="Authentication", scope="services.sso",
        note="With service_id: the module's single sign-on URL (redirect_url; access_token is empty). "
             "Client-area destinations without a service are not supported yet.")
def create_sso_token(call):
    if not call.has("service_id"):
        raise WhmcsError("Client area single sign-on is not supported: give service_id for a control panel login")
    service = get_or_error(Service.objects.select_related("product"), call.str("service_id"), "Service ID Not Found")
    if call.has("client_id") and call.int("client_id") != service.client_id:
        raise WhmcsError("Service ID Not Found")
    url = service_sso_url(service=service, actor=call.actor)
    return {"access_token": "", "redirect_url": url}
