"""WHMCS "Servers" actions: GetServers, from provisioning's servers (credentials are never part of the answer)."""
from api.whmcs.registry import action, get_or_error
from billing import selectors as billing_selectors
from provisioning.selectors import servers_with_load

SERVERS = "Servers"


def server_fields(server):
    """A server as WHMCS's GetServers lists it: activeServices / maxAllowedServices / percentUsed (capacity 0 =
    no limit, as WHMCS's 0 max accounts)."""
    used = round(server.live_services * 100 / server.capacity, 2) if server.capacity else 0
    return {
        "id": server.pk, "name": server.name, "hostname": server.hostname, "ipaddress": server.ip_address or "",
        "active": server.enabled, "activeServices": server.live_services, "maxAllowedServices": server.capacity,
        "percentUsed": used, "module": server.module, "status": {},
    }


@action("GetServers", category=SERVERS, scope="servers.read",
        note="serviceId: only servers of that service's product module (addonId: no addons here, ignored when 0). "
             "activeServices counts Active and Suspended services; maxAllowedServices is the server's capacity "
             "(0 = no limit). fetchStatus is not supported: status is always empty (the portal does not poll "
             "server load).")
def get_servers(call):
    module = None
    if call.has("serviceId"):
        service = get_or_error(billing_selectors.services_with_product(), call.str("serviceId"), "Service ID Not Found")
        module = service.product.module
        if not module:  # a product without a module has no servers
            return {"servers": [], "fetchStatus": False}
    servers = servers_with_load(module=module)
    return {"servers": [server_fields(s) for s in servers], "fetchStatus": False}
