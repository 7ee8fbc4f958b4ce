"""CreateSsoToken, in three modes chosen by its parameters (each with its own permission):

- service_id: the provisioning module's short-lived control-panel login URL
  (provisioning.services.service_sso_url). Scope services.sso.
- client_id (optional user_id, destination, service_id for the destinations that take one, sso_redirect_path
  with destination=sso:custom_redirect): as in WHMCS, a one-time passwordless login of the client's own user
  into the client area (api.client_sso): a signed token, stored hashed, valid 60 seconds and once, redeemed at
  /sso/<token>/ which signs that user in and lands on the destination (client-area pages only). Scope
  clients.sso, which only a key naming it has ("*" does not include it).
- client_id with login_as_client=1: the staff "log in as client" (portal.impersonation) for the key's owner, who
  must hold portal.login_as_client: a signed single-use 60-second link to open where they are signed in to the
  staff area. Scope services.sso. (Before the client login existed, client_id alone meant this; it now means
  what it means in WHMCS.)"""
from django.urls import reverse

from api import client_sso
from api.whmcs.clients import find_client
from api.whmcs.registry import WhmcsError, action, get_or_error
from billing import selectors
from portal import impersonation
from provisioning.services import service_sso_url

CLIENT_LOGIN_SCOPE = "clients.sso"


def _client_login(call):
    """Whether the call asks for the client's own login: client_id without login_as_client, and either no
    service_id or a destination (clientarea:product_details takes service_id as the page to land on). The
    permission check (scope_for) and the handler decide by this same function."""
    return (call.has("client_id") and not call.bool("login_as_client")
            and (not call.has("service_id") or call.has("destination")))


@action("CreateSsoToken", category="Authentication", scope="services.sso / clients.sso",
        scope_for=lambda call: CLIENT_LOGIN_SCOPE if _client_login(call) else "services.sso",
        note="service_id: the module's single sign-on URL (services.sso). client_id [user_id, destination "
             "clientarea:homepage/profile/services/product_details/upgrade/invoices or sso:custom_redirect with "
             "sso_redirect_path]: the client's own one-time login link, 60 s, single use, client-area pages only "
             "(clients.sso, granted only by name). client_id with login_as_client=1: the staff 'log in as client' "
             "link for the key's owner (services.sso and portal.login_as_client).")
def create_sso_token(call):
    if _client_login(call):
        return _client_login_link(call, find_client(call, "client_id"))
    if call.has("service_id"):
        service = get_or_error(selectors.services_with_product(), call.str("service_id"), "Service ID Not Found")
        if call.has("client_id") and call.int("client_id") != service.client_id:
            raise WhmcsError("Service ID Not Found")
        return {"access_token": "", "redirect_url": service_sso_url(service=service, actor=call.actor)}
    if not call.has("client_id"):
        raise WhmcsError("A client_id or service_id is required")
    return _login_as_client(call, find_client(call, "client_id"))


def _client_login_link(call, client):
    try:
        membership = client_sso.login_for(client, call.int("user_id") if call.has("user_id") else None)
        path = client_sso.destination_path(
            client, call.str("destination"), service_id=call.int("service_id") if call.has("service_id") else None,
            redirect_path=call.str("sso_redirect_path"),
        )
    except client_sso.SsoError as exc:
        raise WhmcsError(str(exc)) from None
    issued = client_sso.issue(client=client, membership=membership, destination=path, actor=call.actor,
                              key=call.caller.key)
    url = reverse("clientarea:sso_login", args=[issued.token])
    return {"access_token": issued.token, "redirect_url": call.absolute(url)}


def _login_as_client(call, client):
    staff = call.caller.user
    if not staff.has_perm(impersonation.PERMISSION):
        raise WhmcsError('Invalid Permissions: the key\'s owner may not log in as a client')
    if impersonation.login_user_for(client) is None:
        raise WhmcsError("The client has no login to use")
    token = impersonation.issue_token(staff=staff, client=client)
    path = reverse("admin:portal_client_login_as_enter", args=[token])
    return {"access_token": token, "redirect_url": call.absolute(path)}
