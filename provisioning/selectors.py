"""Reads of the provisioning app."""
from django.db.models import Count, Q

from billing.models import Service
from provisioning.models import Server, ServerGroup


def server_group(group_id):
    """The server group, or None."""
    return ServerGroup.objects.filter(pk=group_id).first()


def servers_with_load(*, module=None):
    """Servers by name with `live_services` (Active and Suspended services on them), in one query; those of
    provisioning module `module` when given."""
    live = Q(services__status__in=[Service.Status.ACTIVE, Service.Status.SUSPENDED])
    servers = Server.objects.annotate(live_services=Count("services", filter=live)).order_by("name", "pk")
    return servers.filter(module=module) if module else servers
