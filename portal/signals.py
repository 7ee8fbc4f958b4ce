"""Bookkeeping on login: a client's last login feeds the client-status rule of seed 004."""
from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver

from portal.services import record_client_login


@receiver(user_logged_in)
def on_user_logged_in(sender, request, user, **kwargs):
    record_client_login(user=user, request=request)
