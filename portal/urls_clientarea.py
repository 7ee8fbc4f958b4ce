"""The client-area shell's pages (merged into the `clientarea` namespace by config.urls_clientarea): profile,
contacts, two-factor sign-in, signing in and out, and resetting a forgotten password by e-mail."""
from django.contrib.auth import views as auth_views
from django.urls import path

from portal import views, views_contacts, views_two_factor

urlpatterns = [
    path("profile/", views.profile, name="profile"),
    path("profile/password/", views.PasswordChangeView.as_view(), name="password_change"),
    path("profile/two-factor/", views_two_factor.client_manage, name="two_factor"),
    path("contacts/", views_contacts.contact_list, name="contacts"),
    path("contacts/add/", views_contacts.contact_add, name="contact_add"),
    path("contacts/<int:contact_id>/", views_contacts.contact_edit, name="contact_edit"),
    path("contacts/<int:contact_id>/delete/", views_contacts.contact_delete_view, name="contact_delete"),
    # Public pages: signing in and out, and resetting a forgotten password by e-mail.
    path("login/", views.LoginView.as_view(), name="login"),
    path("login/code/", views_two_factor.client_verify, name="login_verify"),
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
]

PUBLIC_URL_NAMES = {"login", "login_verify", "logout", "password_reset", "password_reset_done", "password_reset_confirm",
                    "password_reset_complete"}
