"""Client-area pages of provisioning, merged into the `clientarea` namespace by config.urls_clientarea: the mail
client area (seed 003). Every page takes `mail_service_id`, the client's own e-mail hosting service (another
client's answers 404); mailboxes, aliases and lists are named by their local part in the service's domain."""
from django.urls import path

from provisioning.mail import views

MAIL = "mail/<int:mail_service_id>/"
ACCOUNT = MAIL + "accounts/<str:mailbox>/"

urlpatterns = [
    path(MAIL, views.dashboard, name="mail_dashboard"),
    path(MAIL + "dns/", views.dns_guide, name="mail_dns"),
    path(MAIL + "accounts/", views.accounts, name="mail_accounts"),
    path(MAIL + "add-mailbox/", views.account_add, name="mail_account_add"),
    path(ACCOUNT, views.account_edit, name="mail_account_edit"),
    path(ACCOUNT + "password/", views.account_password, name="mail_account_password"),
    path(ACCOUNT + "delete/", views.account_delete, name="mail_account_delete"),
    path(ACCOUNT + "manage/", views.account_manage, name="mail_account_manage"),
    path(ACCOUNT + "webmail/", views.account_sso, {"target_key": "webmail"}, name="mail_account_webmail"),
    path(ACCOUNT + "control-panel/", views.account_sso, {"target_key": "control_panel"},
         name="mail_account_control_panel"),
    path(MAIL + "aliases/", views.aliases, name="mail_aliases"),
    path(MAIL + "aliases/<str:alias>/", views.alias_edit, name="mail_alias_edit"),
    path(MAIL + "aliases/<str:alias>/delete/", views.alias_delete, name="mail_alias_delete"),
    path(MAIL + "forwarding/", views.forwarding, name="mail_forwarding"),
    path(MAIL + "forwarding/<str:mailbox>/", views.forward_edit, name="mail_forward_edit"),
    path(MAIL + "lists/", views.lists, name="mail_lists"),
    path(MAIL + "lists/<str:mail_list>/", views.list_detail, name="mail_list"),
    path(MAIL + "lists/<str:mail_list>/delete/", views.list_delete, name="mail_list_delete"),
    path(MAIL + "dkim/", views.dkim, name="mail_dkim"),
    path(MAIL + "branding/", views.branding, name="mail_branding"),
    path(MAIL + "domain-aliases/", views.domain_aliases, name="mail_domain_aliases"),
]
