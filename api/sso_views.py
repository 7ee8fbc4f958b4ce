"""The client area's end of a one-time passwordless login (api.client_sso): /sso/<token>/ signs the token's
login in and lands on its destination. Public (the visitor is not signed in yet); the token is the credential."""
from django.contrib.auth import login, logout
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from api import client_sso
from portal.network import client_ip

BACKEND = "django.contrib.auth.backends.ModelBackend"


@never_cache
@require_GET
def sso_login(request, token):
    try:
        record = client_sso.redeem(token, ip=client_ip(request))
    except client_sso.RedeemError as exc:
        response = render(request, "portal/sso_refused.html", {"message": str(exc)}, status=410 if exc.token else 404)
    else:
        # A clean session for the client: whoever was signed in here (staff, another client, an impersonation)
        # is signed out first. login() counts as the client's own sign-in (last login, seed 004).
        logout(request)
        login(request, record.user, backend=BACKEND)
        response = redirect(record.destination)
    response["Referrer-Policy"] = "no-referrer"  # the token is in this page's URL
    return response
