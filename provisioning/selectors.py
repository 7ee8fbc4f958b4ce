"""Reads of the provisioning app."""
from provisioning.models import ServerGroup


def server_group(group_id):
    """The server group, or None."""
    return ServerGroup.objects.filter(pk=group_id).first()
