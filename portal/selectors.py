"""Reads. Everything the client area shows is fetched here, scoped to the logged-in client, so that another
client's id answers 404 rather than leaking."""
from portal.models import ClientUser


def client_for_user(user):
    """The client a logged-in user belongs to, or None (staff, or a user without a client)."""
    if not user.is_authenticated:
        return None
    membership = ClientUser.objects.filter(user=user).select_related("client").first()
    return membership.client if membership else None
