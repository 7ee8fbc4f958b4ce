"""What an API key may do: scopes, each backed by a Django permission its owner must also hold.

A key allows a scope when the scope (or "*") is in the key's permissions AND its owner (an active staff
user) holds the Django permission behind it. So a key never does more than the staff member who owns it.
WHMCS-style per-action roles are also possible: "whmcs:<actionname>" (lower case) allows that one action.

EXPLICIT_SCOPES are granted only by naming them on the key: neither "*" nor a "whmcs:<action>" role includes
them, so that adding one never widens an existing key.
"""
SCOPES = {
    "clients.read": ("Read clients and contacts", "portal.view_client"),
    "clients.write": ("Create and update clients and their contacts", "portal.change_client"),
    # Closing cancels every service (the modules remove them from the servers): the power to terminate.
    "clients.close": ("Close clients (cancels their services and unpaid invoices)", "provisioning.terminate_service"),
    # Deleting removes the client's record (only one without invoices or transactions: billing.services.deletion).
    "clients.delete": ("Delete clients that have no invoices or transactions", "portal.delete_client"),
    "products.read": ("Read products and prices", "billing.view_product"),
    "products.write": ("Create products", "billing.add_product"),
    "orders.write": ("Place, accept and cancel orders", "billing.add_service"),
    "services.read": ("Read services", "billing.view_service"),
    "servers.read": ("Read servers (names, hostnames, modules, load; never credentials)", "provisioning.view_server"),
    "services.write": ("Lifecycle actions, upgrades and changes of services", "billing.change_service"),
    "services.terminate": ("Terminate services", "provisioning.terminate_service"),
    "services.sso": ("Single sign-on to control panels", "provisioning.control_panel_login"),
    "services.change_package": ("Apply a service's product and options on the provider (change package)",
                                "provisioning.change_package_service"),
    "invoices.read": ("Read invoices", "billing.view_invoice"),
    "invoices.write": ("Create, cancel and generate invoices", "billing.change_invoice"),
    "payments.read": ("Read payments (transactions)", "billing.view_payment"),
    "payments.write": ("Record payments and refunds", "billing.add_payment"),
    "payments.update": ("Correct a transaction's description, reference, gateway, date and fees", "billing.change_payment"),
    "credit.read": ("Read credit ledger and balance", "billing.view_creditledgerentry"),
    "credit.write": ("Add, remove and apply credit", "billing.add_creditledgerentry"),
    "activity.read": ("Read the activity log", "portal.view_activitylog"),
    "activity.write": ("Write activity log entries", "portal.add_activitylog"),
    "emails.send": ("Read e-mail templates and send e-mails", "billing.view_emailtemplate"),
    "cdrs.read": ("Read call detail records", "voip.view_cdr"),
    "system.read": ("Read system information (currencies, payment methods, API details)", None),
    # WHMCS System, Users and Products actions (docs/whmcs-api.md). New scopes: a key holds them only when
    # they are ticked on it (or it has "*"); no existing scope was widened.
    "staff.read": ("Read staff users (names, e-mail, roles; never passwords)", "auth.view_user"),
    "stats.read": ("Read business statistics (income, orders, services, clients)", "billing.view_payment"),
    "automation.read": ("Read the automation log (the periodic jobs' last runs)", "portal.view_jobrun"),
    "emails.custom": ("Send custom e-mails (own subject and text) with SendEmail", "billing.change_emailtemplate"),
    "users.read": ("Read client logins (WHMCS users) and their clients", "portal.view_clientuser"),
    "users.write": ("Create client logins and send invitations to set a password", "portal.add_clientuser"),
    "clients.sso": ("One-time passwordless client-area login links for clients (CreateSsoToken with client_id)",
                    "api.issue_client_sso"),
}

# Signing a client in without their password is granted only by name (never by "*" or a whmcs: role).
EXPLICIT_SCOPES = frozenset({"clients.sso"})

ALL = "*"


def scope_choices():
    return [(ALL, "Everything the owner may do (except the scopes granted only by name: "
                  + ", ".join(sorted(EXPLICIT_SCOPES)) + ")"), *((name, f"{name}: {label}") for name, (label, _) in SCOPES.items())]


def owner_may(user, scope):
    if user is None or not user.is_active or not user.is_staff:
        return False
    if scope not in SCOPES:
        return False  # a scope nobody can hold (e.g. the write scope of a read-only resource)
    perm = SCOPES[scope][1]
    return perm is None or user.has_perm(perm)
