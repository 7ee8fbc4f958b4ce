"""The API's client-area page (merged into the `clientarea` namespace by config.urls_clientarea): a one-time
passwordless login issued through the API (CreateSsoToken with client_id; api.client_sso)."""
from django.urls import path

from api import sso_views

urlpatterns = [
    path("sso/<str:token>/", sso_views.sso_login, name="sso_login"),
]

PUBLIC_URL_NAMES = {"sso_login"}  # public: the visitor is not signed in yet; the token is the credential
