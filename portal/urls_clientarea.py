"""Client-area URLs: the shell's, plus each app's `<app>/urls_clientarea.py` (same namespace, so templates
say {% url 'clientarea:…' %} everywhere). tests/portal/test_isolation.py walks every one of them as owner,
other client and anonymous visitor, and fails when one takes an object id it has no fixture for."""
from importlib import import_module

from django.contrib.auth import views as auth_views
from django.urls import path

from portal import sso_views, views, views_contacts

app_name = "clientarea"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("services/", views.service_list, name="services"),
    path("services/<int:service_id>/", views.service_detail, name="service"),
    path("invoices/", views.invoice_list, name="invoices"),
    path("invoices/<int:invoice_id>/", views.invoice_detail, name="invoice"),
    path("profile/", views.profile, name="profile"),
    path("profile/password/", views.PasswordChangeView.as_view(), name="password_change"),
    path("contacts/", views_contacts.contact_list, name="contacts"),
    path("contacts/add/", views_contacts.contact_add, name="contact_add"),
    path("contacts/<int:contact_id>/", views_contacts.contact_edit, name="contact_edit"),
    path("contacts/<int:contact_id>/delete/", views_contacts.contact_delete_view, name="contact_delete"),
    # Public pages: signing in and out, and resetting a forgotten password by e-mail.
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("password-reset/", views.PasswordResetView.as_view(), name="password_reset"),
    path(
        "password-reset/sent/",
        auth_views.PasswordResetDoneView.as_view(template_name="portal/password_reset_done.html"),
        name="password_reset_done",
    ),
    path("password-reset/<uidb64>/<token>/", views.PasswordResetConfirmView.as_view(), name="password_reset_confirm"),
    path(
        "password-reset/complete/",
        auth_views.PasswordResetCompleteView.as_view(template_name="portal/password_reset_complete.html"),
        name="password_reset_complete",
    ),
    # A one-time passwordless login issued through the API (CreateSsoToken with client_id; api.client_sso).
    path("sso/<str:token>/", sso_views.sso_login, name="sso_login"),
]

# Pages anyone may open; every other client-area URL requires a signed-in client.
PUBLIC_URL_NAMES = {"login", "logout", "password_reset", "password_reset_done", "password_reset_confirm", "password_reset_complete",
                    "sso_login"}

for _app in ("billing", "provisioning", "voip"):
    try:
        _module = import_module(f"{_app}.urls_clientarea")
    except ModuleNotFoundError as exc:
        if exc.name != f"{_app}.urls_clientarea":
            raise
        continue
    urlpatterns += _module.urlpatterns
    PUBLIC_URL_NAMES |= set(getattr(_module, "PUBLIC_URL_NAMES", ()))
