"""CreateSsoToken.

- With service_id: the provisioning module's short-lived control-panel login URL
  (provisioning.services.service_sso_url).
- With client_id only: the portal's "log in as client" (portal.impersonation): a signed, single-use token,
  valid 60 seconds and bound to the key's owner, who must hold portal.login_as_client; redirect_url is the
  staff area's login-as URL, which the owner opens in the browser where they are signed in to the staff area.
  WHMCS's other use, a client's own passwordless login into the client area, has no portal mechanism: the
  portal never signs a client in without their password."""
from django.urls import reverse

from api.whmcs.clients import find_client
from api.whmcs.registry import WhmcsError, action, get_or_error
from billing.models import Service
from portal import impersonation
from provisioning.services import service_sso_url


@action("CreateSsoToken", category="Authentication", scope="services.sso",
        note="service_id: the module's single sign-on URL. client_id alone: a 60-second single-use 'log in as client' "
             "link for the key's owner (needs portal.login_as_client). access_token is the token itself (or empty "
             "for a module URL). A client's own passwordless login is not supported.")
def create_sso_token(call):
    if call.has("service_id"):
        service = get_or_error(Service.objects.select_related("product"), call.str("service_id"), "Service ID Not Found")
        if call.has("client_id") and call.int("client_id") != service.client_id:
            raise WhmcsError("Service ID Not Found")
        return {"access_token": "", "redirect_url": service_sso_url(service=service, actor=call.actor)}
    if not call.has("client_id"):
        raise WhmcsError("A client_id or service_id is required")
    client = find_client(call, "client_id")
    staff = call.caller.user
    if not staff.has_perm(impersonation.PERMISSION):
        raise WhmcsError('Invalid Permissions: the key\'s owner may not log in as a client')
    if impersonation.login_user_for(client) is None:
        raise WhmcsError("The client has no login to use")
    token = impersonation.issue_token(staff=staff, client=client)
    path = reverse("admin:portal_client_login_as_enter", args=[token])
    return {"access_token": token, "redirect_url": call.absolute(path)}
