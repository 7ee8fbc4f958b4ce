"""What an API key may do: scopes, each backed by a Django permission its owner must also hold.

A key allows a scope when the scope (or "*") is in the key's permissions AND its owner (an active staff
user) holds the Django permission behind it. So a key never does more than the staff member who owns it.
WHMCS-style per-action roles are also possible: "whmcs:<actionname>" (lower case) allows that one action.
"""
SCOPES = {
    "clients.read": ("Read clients and contacts", "portal.view_client"),
    "clients.write": ("Create, update and close clients", "portal.change_client"),
    "products.read": ("Read products and prices", "billing.view_product"),
    "products.write": ("Create products", "billing.add_product"),
    "orders.write": ("Place, accept and cancel orders", "billing.add_service"),
    "services.read": ("Read services", "billing.view_service"),
    "services.write": ("Lifecycle actions, upgrades and changes of services", "billing.change_service"),
    "services.terminate": ("Terminate services", "provisioning.terminate_service"),
    "services.sso": ("Single sign-on to control panels", "provisioning.control_panel_login"),
    "invoices.read": ("Read invoices", "billing.view_invoice"),
    "invoices.write": ("Create, cancel and generate invoices", "billing.change_invoice"),
    "payments.read": ("Read payments (transactions)", "billing.view_payment"),
    "payments.write": ("Record payments", "billing.add_payment"),
    "credit.read": ("Read credit ledger and balance", "billing.view_creditledgerentry"),
    "credit.write": ("Add, remove and apply credit", "billing.add_creditledgerentry"),
    "activity.read": ("Read the activity log", "portal.view_activitylog"),
    "activity.write": ("Write activity log entries", "portal.add_activitylog"),
    "emails.send": ("Read e-mail templates and send e-mails", "billing.view_emailtemplate"),
    "cdrs.read": ("Read call detail records", "voip.view_cdr"),
    "system.read": ("Read system information (currencies, payment methods, API details)", None),
}

ALL = "*"


def scope_choices():
    return [(ALL, "Everything the owner may do"), *((name, f"{name}: {label}") for name, (label, _) in SCOPES.items())]


def owner_may(user, scope):
    if user is None or not user.is_active or not user.is_staff:
        return False
    perm = SCOPES[scope][1]
    return perm is None or user.has_perm(perm)
