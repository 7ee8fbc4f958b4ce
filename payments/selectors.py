"""Reads of the payments app for its pages (the services keep the reads they lock or write with)."""
from django.http import Http404

from payments.models import PaymentMethod


def client_methods(client):
    """The client's saved cards, the default first, then the newest."""
    return PaymentMethod.objects.filter(client=client).order_by("-is_default", "-created_at", "-pk")


def client_method(client, method_id):
    """One of the client's saved cards (404 for anyone else's)."""
    method = client_methods(client).filter(pk=method_id).first()
    if method is None:
        raise Http404("No such saved card.")
    return method
