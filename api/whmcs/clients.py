"""WHMCS "Client" actions, on portal.services (client_create, client_update_profile) and the Client model."""
from django.contrib.auth import get_user_model
from django.db.models import Q

from api.whmcs.registry import WhmcsError, action, get_or_error, paginate, unsupported
from api.whmcs.shapes import client_fields, client_row, currencies, currency_code, service_fields, when
from billing.models import EmailLog, Service
from portal.models import Client, ClientUser
from portal.services import client_create, client_update_profile

C = "Client"
PROFILE_PARAMS = {  # WHMCS parameter → Client field
    "firstname": "first_name", "lastname": "last_name", "companyname": "company_name", "email": "email",
    "address1": "address1", "address2": "address2", "city": "city", "state": "state", "postcode": "postcode",
    "country": "country", "phonenumber": "phone",
}


def find_client(call, param="clientid"):
    return get_or_error(Client.objects.all(), call.str(param), "Client ID Not Found")


@action("AddClient", category=C, scope="clients.write", required=(
    ("firstname", "You did not enter your first name"),
    ("lastname", "You did not enter your last name"),
    ("email", "You did not enter your email address"),
))
def add_client(call):
    email = call.str("email")
    if get_user_model().objects.filter(username__iexact=email).exists() or Client.objects.filter(email__iexact=email).exists():
        raise WhmcsError("A user already exists with that email address")
    fields = {field: call.str(param) for param, field in PROFILE_PARAMS.items() if call.has(param)}
    fields["country"] = fields.get("country", "US").upper()
    if call.has("currency"):
        code = currency_code(call.str("currency"))
        if code is None:
            raise WhmcsError("Invalid Currency")
        fields["currency"] = code
    if call.has("notes"):
        fields["notes"] = call.str("notes")
    client = client_create(actor=call.actor, password=call.str("password2") or None, **fields)
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
        note="Profile fields only (names, company, e-mail, address, phone); status changes are not supported.")
def update_client(call):
    client = find_client(call)
    changes = {field: call.str(param) for param, field in PROFILE_PARAMS.items() if param in call.data}
    if "country" in changes:
        changes["country"] = changes["country"].upper()
    if call.has("status"):
        raise WhmcsError("Changing a client's status through the API is not supported")
    client_update_profile(client=client, actor=call.actor, changes=changes)
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


@action("GetContacts", category=C, scope="clients.read",
        note="Contacts are the client's logins other than its owner (ClientUser).")
def get_contacts(call):
    users = ClientUser.objects.filter(is_owner=False).select_related("user").order_by("pk")
    if call.has("userid"):
        users = users.filter(client_id=call.int("userid"))
    rows, page = paginate(call, users)
    contacts = [
        {"id": cu.pk, "userid": cu.client_id, "firstname": cu.user.first_name, "lastname": cu.user.last_name,
         "email": cu.user.email}
        for cu in rows
    ]
    return {**page, "contacts": {"contact": contacts}}


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
unsupported(C, "closing a client (cancelling all services and invoices) has no portal service yet; use the staff area",
            "CloseClient")
unsupported(C, "contacts are client logins managed in the client area and staff area", "AddContact", "UpdateContact",
            "DeleteContact")
unsupported(C, "passwords are stored as one-way hashes and cannot be returned", "GetClientPassword")
unsupported(C, "the portal has no product addons", "GetClientsAddons")
unsupported(C, "the portal does not register domains", "GetClientsDomains")
