"""WHMCS "Client" actions, on portal.services (client_create, client_update_profile) and the Client model."""
from django.db.models import Q

from api.whmcs.registry import WhmcsError, action, get_or_error, paginate, unsupported
from api.whmcs.shapes import client_fields, client_row, currencies, currency_code, service_fields, when
from billing.models import EmailLog, Service
from billing.services.closing import client_close
from portal.contacts import contact_create, contact_delete, contact_update
from portal.models import Client, ClientUser, Contact
from portal.services import EMAIL_TAKEN, EmailTaken, client_create, client_set_status, client_update_profile

C = "Client"
PROFILE_PARAMS = {  # WHMCS parameter → Client field
    "firstname": "first_name", "lastname": "last_name", "companyname": "company_name", "email": "email",
    "address1": "address1", "address2": "address2", "city": "city", "state": "state", "postcode": "postcode",
    "country": "country", "phonenumber": "phone",
}


CLIENT_STATUSES = {choice.label.lower(): choice.value for choice in Client.Status}


def find_client(call, param="clientid"):
    return get_or_error(Client.objects.all(), call.str(param), "Client ID Not Found")


@action("AddClient", category=C, scope="clients.write", required=(
    ("firstname", "You did not enter your first name"),
    ("lastname", "You did not enter your last name"),
    ("email", "You did not enter your email address"),
))
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
    try:
        client = client_create(actor=call.actor, password=call.str("password2") or None, **fields)
    except EmailTaken:
        raise WhmcsError(EMAIL_TAKEN) from None
    owner = ClientUser.objects.filter(client=client, is_owner=True).values_list("user_id", flat=True).first()
    return {"clientid": client.pk, "owner_id": owner}


@action("GetClients", category=C, scope="clients.read")
def get_clients(call):
    clients = Client.objects.order_by("last_name", "first_name", "pk")
    search = call.str("search")
    if search:
        clients = clients.filter(
            Q(email__istartswith=search) | Q(first_name__istartswith=search) | Q(last_name__istartswith=search)
            | Q(company_name__istartswith=search)
        )
    if call.has("status"):
        clients = clients.filter(status=call.str("status").lower())
    rows, page = paginate(call, clients)
    return {**page, "clients": {"client": [client_row(c) for c in rows]}}


@action("GetClientsDetails", category=C, scope="clients.read", note="`stats` is not returned.")
def get_clients_details(call):
    if call.has("clientid"):
        client = Client.objects.filter(pk=call.int("clientid", error="Client Not Found")).first()
    elif call.has("email"):
        client = Client.objects.filter(email__iexact=call.str("email")).first()
    else:
        raise WhmcsError("Either clientid Or email Is Required")
    if client is None:
        raise WhmcsError("Client Not Found")
    fields = client_fields(client, currency_ids=currencies())
    return {**fields, "client": fields}


@action("UpdateClient", category=C, scope="clients.write", required=(("clientid", "Client ID Not Found"),),
        note="Profile fields (names, company, e-mail, address, phone) and status: Active or Inactive (also reopens a "
             "Closed client); status=Closed closes the client as CloseClient does and needs the clients.close scope.")
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
    services = Service.objects.select_related("product__group", "server").prefetch_related(
        "config_options__option", "config_options__choice"
    ).order_by("pk")
    echo = {}
    for param, lookup in (("clientid", "client_id"), ("serviceid", "pk"), ("pid", "product_id")):
        if call.has(param):
            services = services.filter(**{lookup: call.int(param)})
            echo[param] = call.int(param)
    if call.has("domain"):
        services = services.filter(domain__iexact=call.str("domain"))
        echo["domain"] = call.str("domain")
    if call.has("username2"):
        services = services.filter(username=call.str("username2"))
    rows, page = paginate(call, services)
    products = [service_fields(s, options=s.config_options.all()) for s in rows]
    return {**echo, **page, "products": {"product": products}}


@action("GetCancelledPackages", category=C, scope="services.read",
        note="Services with a cancellation request; `id` is the service id (the portal has no separate request rows).")
def get_cancelled_packages(call):
    services = Service.objects.exclude(cancellation_type="").order_by("cancellation_requested_at", "pk")
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
    return get_or_error(Contact.objects.select_related("client"), call.str("contactid"), "Contact ID Not Found")


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
    contacts = Contact.objects.order_by("pk")
    if call.has("userid"):
        contacts = contacts.filter(client_id=call.int("userid"))
    for param, field in CONTACT_PARAMS.items():
        if call.has(param):
            contacts = contacts.filter(**{f"{field}__iexact": call.str(param)})
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
    emails = EmailLog.objects.filter(client=client).order_by("-created_at", "-pk")
    if call.has("subject"):
        emails = emails.filter(subject__icontains=call.str("subject"))
    rows, page = paginate(call, emails)
    items = [
        {"id": e.pk, "userid": e.client_id, "subject": e.subject or e.template_name, "message": e.body,
         "date": when(e.sent_at or e.created_at), "to": e.to, "cc": "", "bcc": "", "status": e.get_status_display()}
        for e in rows
    ]
    return {**page, "emails": {"email": items}}


unsupported(C, "clients are never deleted (their invoices and audit trail are kept); set them Inactive in the staff area",
            "DeleteClient")
unsupported(C, "passwords are stored as one-way hashes and cannot be returned", "GetClientPassword")
unsupported(C, "the portal has no product addons", "GetClientsAddons")
unsupported(C, "the portal does not register domains", "GetClientsDomains")
