"""WHMCS "Client" actions, on portal.services (client_create, client_update_profile) and the Client model."""
from api.whmcs.registry import WhmcsError, action, get_or_error, paginate, unsupported
from api.whmcs.shapes import client_fields, client_row, currencies, currency_code, service_fields, when
from billing import selectors as billing_selectors
from billing.services.closing import client_close
from billing.services.deletion import client_delete
from portal import selectors
from portal.contacts import contact_create, contact_delete, contact_update
from portal.models import Client
from portal.services import EMAIL_TAKEN, EmailTaken, client_create, client_set_status, client_update_profile

C = "Client"
PROFILE_PARAMS = {  # WHMCS parameter → Client field
    "firstname": "first_name", "lastname": "last_name", "companyname": "company_name", "email": "email",
    "address1": "address1", "address2": "address2", "city": "city", "state": "state", "postcode": "postcode",
    "country": "country", "phonenumber": "phone", "tax_id": "vat_number", "language": "language",
}


CLIENT_STATUSES = {choice.label.lower(): choice.value for choice in Client.Status}


def find_client(call, param="clientid"):
    return get_or_error(selectors.clients(), call.str(param), "Client ID Not Found")


@action("AddClient", category=C, scope="clients.write", required=(
    ("firstname", "You did not enter your first name"),
    ("lastname", "You did not enter your last name"),
    ("email", "You did not enter your email address"),
), note="Profile fields, password2, currency (id or code), notes, taxexempt and language are kept; tax_id is the EU "
        "VAT number, checked for format and check digit (an invalid one is refused with the reason). groupid, "
        "securityqid, securityqans, marketingoptin, clientip, noemail, skipvalidation, owner_user_id and customfields "
        "are accepted and ignored (the portal has no client groups, security questions, marketing opt-in or custom "
        "fields; validation is never skipped).")
def add_client(call):
    fields = {field: call.str(param) for param, field in PROFILE_PARAMS.items() if call.has(param)}
    fields["country"] = fields.get("country", "US").upper()
    if call.has("currency"):
        code = currency_code(call.str("currency"))
        if code is None:
            raise WhmcsError("Invalid Currency")
        fields["currency"] = code
    if call.has("notes"):
        fields["notes"] = call.str("notes")
    if call.has("taxexempt"):
        fields["tax_exempt"] = call.bool("taxexempt")
    try:
        client = client_create(actor=call.actor, password=call.str("password2") or None, **fields)
    except EmailTaken:
        raise WhmcsError(EMAIL_TAKEN) from None
    owner = selectors.client_owner_user_id(client)
    return {"clientid": client.pk, "owner_id": owner}


@action("GetClients", category=C, scope="clients.read")
def get_clients(call):
    clients = selectors.clients_by_name(search=call.str("search"),
                                       status=call.str("status").lower() if call.has("status") else None)
    rows, page = paginate(call, clients)
    return {**page, "clients": {"client": [client_row(c) for c in rows]}}


@action("GetClientsDetails", category=C, scope="clients.read", note="`stats` is not returned.")
def get_clients_details(call):
    if call.has("clientid"):
        client = selectors.client_by_id(call.int("clientid", error="Client Not Found"))
    elif call.has("email"):
        client = selectors.client_by_email(call.str("email"))
    else:
        raise WhmcsError("Either clientid Or email Is Required")
    if client is None:
        raise WhmcsError("Client Not Found")
    fields = client_fields(client, currency_ids=currencies())
    return {**fields, "client": fields}


@action("UpdateClient", category=C, scope="clients.write", required=(("clientid", "Client ID Not Found"),),
        note="Profile fields (names, company, e-mail, address, phone), language, tax_id (the EU VAT number, checked "
             "for format and check digit: an invalid one is refused with the reason) and status: Active or Inactive "
             "(also reopens a Closed client); status=Closed closes the client as CloseClient does and needs the "
             "clients.close scope.")
def update_client(call):
    client = find_client(call)
    changes = {field: call.str(param) for param, field in PROFILE_PARAMS.items() if param in call.data}
    if "country" in changes:
        changes["country"] = changes["country"].upper()
    status = CLIENT_STATUSES.get(call.str("status").lower()) if call.has("status") else None
    if call.has("status") and status is None:
        raise WhmcsError("Invalid status: use Active, Inactive or Closed")
    if status == Client.Status.CLOSED and not call.caller.allows("clients.close"):
        raise WhmcsError('Invalid Permissions: API action "updateclient" is not allowed')
    client_update_profile(client=client, actor=call.actor, changes=changes)
    if status == Client.Status.CLOSED:
        client_close(client=client, actor=call.actor, reason="")
    elif status is not None:
        client_set_status(client=client, actor=call.actor, status=status)
    return {"clientid": client.pk}


@action("GetClientsProducts", category=C, scope="services.read")
def get_clients_products(call):
    wanted = {param: call.int(param) for param in ("clientid", "serviceid", "pid") if call.has(param)}
    services = billing_selectors.services_with_details(
        client_id=wanted.get("clientid"), service_id=wanted.get("serviceid"), product_id=wanted.get("pid"),
        domain=call.str("domain") or None, username=call.str("username2") if call.has("username2") else None,
    )
    rows, page = paginate(call, services)
    products = [service_fields(s, options=s.config_options.all()) for s in rows]
    # The filters are echoed as WHMCS does: as sent (strings), null when not given.
    echo = {param: call.str(param) or None for param in ("clientid", "serviceid", "pid", "domain")}
    return {**echo, **page, "products": {"product": products}}


@action("GetCancelledPackages", category=C, scope="services.read",
        note="Services with a cancellation request; `id` is the service id (the portal has no separate request rows).")
def get_cancelled_packages(call):
    services = billing_selectors.services_with_cancellation_request()
    rows, page = paginate(call, services)
    packages = [
        {"id": s.pk, "relid": s.pk, "reason": s.cancellation_reason, "type": s.get_cancellation_type_display(),
         "date": when(s.cancellation_requested_at)}
        for s in rows
    ]
    return {**page, "packages": {"package": packages}}


@action("GetClientGroups", category=C, scope="clients.read", note="The portal has no client groups: always empty.")
def get_client_groups(call):
    return {"totalresults": 0, "groups": {"group": []}}


CONTACT_PARAMS = {  # WHMCS parameter → Contact field
    "firstname": "first_name", "lastname": "last_name", "companyname": "company_name", "email": "email",
    "address1": "address1", "address2": "address2", "city": "city", "state": "state", "postcode": "postcode",
    "country": "country", "phonenumber": "phone",
}
CONTACT_FLAGS = {  # WHMCS e-mail preference → Contact field
    "generalemails": "general_emails", "invoiceemails": "invoice_emails", "productemails": "product_emails",
    "domainemails": "domain_emails", "supportemails": "support_emails",
}


def contact_changes(call):
    """The contact fields given in the call (absent parameters are left out)."""
    if call.has("password2") or call.has("permissions"):
        raise WhmcsError("Contacts with a login (sub-accounts) are not supported: a contact here receives e-mails only")
    changes = {field: call.str(param) for param, field in CONTACT_PARAMS.items() if param in call.data}
    changes |= {field: call.bool(param) for param, field in CONTACT_FLAGS.items() if param in call.data}
    return changes


def find_contact(call):
    return get_or_error(selectors.contacts_with_client(), call.str("contactid"), "Contact ID Not Found")


@action("AddContact", category=C, scope="clients.write", required=(
    ("clientid", "Client ID Not Found"), ("email", "You did not enter your email address"),
), note="A contact receives the e-mails it opts in to (generalemails, invoiceemails, productemails; domainemails and "
        "supportemails are kept); password2 and permissions (sub-account logins) are not supported.")
def add_contact(call):
    client = find_client(call)
    contact = contact_create(client=client, actor=call.actor, **contact_changes(call))
    return {"contactid": contact.pk}


@action("UpdateContact", category=C, scope="clients.write", required=(("contactid", "Contact ID Not Found"),))
def update_contact(call):
    contact = find_contact(call)
    contact_update(contact=contact, actor=call.actor, changes=contact_changes(call))
    return {"contactid": contact.pk}


@action("DeleteContact", category=C, scope="clients.write", required=(("contactid", "Contact ID Not Found"),))
def delete_contact(call):
    contact_delete(contact=find_contact(call), actor=call.actor)
    return {}


def contact_fields(contact):
    return {
        "id": contact.pk, "userid": contact.client_id, "firstname": contact.first_name, "lastname": contact.last_name,
        "companyname": contact.company_name, "email": contact.email, "address1": contact.address1,
        "address2": contact.address2, "city": contact.city, "state": contact.state, "postcode": contact.postcode,
        "country": contact.country, "phonenumber": contact.phone, "subaccount": 0, "permissions": "",
        **{param: int(getattr(contact, field)) for param, field in CONTACT_FLAGS.items()},
    }


@action("GetContacts", category=C, scope="clients.read",
        note="Contacts (portal.Contact), filtered by userid and any contact field; sub-accounts do not exist here "
             "(subaccount is always 0; logins are ClientUsers).")
def get_contacts(call):
    contacts = selectors.contacts_matching(
        client_id=call.int("userid") if call.has("userid") else None,
        fields={field: call.str(param) for param, field in CONTACT_PARAMS.items() if call.has(param)},
    )
    if call.bool("subaccount"):
        contacts = contacts.none()
    rows, page = paginate(call, contacts)
    return {**page, "contacts": {"contact": [contact_fields(c) for c in rows]}}


@action("CloseClient", category=C, scope="clients.close", required=(("clientid", "Client ID Not Found"),),
        note="billing.services.closing.client_close: the client becomes Closed, unpaid invoices are cancelled (money "
             "received goes to credit) and every pending/active/suspended service is cancelled through the lifecycle "
             "(its module removes it from the server). A service whose module fails is listed in `failed` and retried "
             "by the daily automation run.")
def close_client(call):
    result = client_close(client=find_client(call), actor=call.actor, reason=call.str("reason"))
    response = {"clientid": result.client.pk}
    if result.services_failed:
        response["failed"] = {"service": [{"id": s.pk, "domain": s.domain, "message": m} for s, m in result.services_failed]}
    return response


@action("GetEmails", category=C, scope="clients.read", required=(("clientid", "Client ID Not Found"),))
def get_emails(call):
    client = find_client(call)
    emails = billing_selectors.client_emails(client, subject=call.str("subject") if call.has("subject") else None)
    rows, page = paginate(call, emails)
    items = [
        {"id": e.pk, "userid": e.client_id, "subject": e.subject or e.template_name, "message": e.body,
         "date": when(e.sent_at or e.created_at), "to": e.to, "cc": "", "bcc": "", "status": e.get_status_display()}
        for e in rows
    ]
    return {**page, "emails": {"email": items}}


@action("DeleteClient", category=C, scope="clients.delete", required=(("clientid", "Client ID Not Found"),),
        note="billing.services.deletion.client_delete: deletes a client the accounts do not need (no invoices, "
             "transactions, credit history or orders; no service that is not cancelled) with its contacts and "
             "logins. deleteusers=true deletes the logins' users too (a portal login belongs to one client), else "
             "they are kept, disabled. A client with invoices or transactions is refused (invoice numbers have no "
             "gaps; payments are the books): close it with CloseClient. deletetransactions cannot delete "
             "transactions for that reason.")
def delete_client(call):
    client = find_client(call)
    client_delete(client=client, actor=call.actor, delete_users=call.bool("deleteusers"))
    return {"clientid": call.str("clientid")}


unsupported(C, "passwords are stored as one-way hashes and cannot be returned", "GetClientPassword")
unsupported(C, "the portal has no product addons", "GetClientsAddons")
unsupported(C, "the portal does not register domains", "GetClientsDomains")
