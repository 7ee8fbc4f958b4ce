"""WHMCS "System" actions: payment methods, currencies, e-mail templates and SendEmail (billing.emails),
the activity log (portal.activity), and the API's own details."""
import uuid

from django.conf import settings

from api.whmcs.clients import find_client
from api.whmcs.registry import WhmcsError, action, filter_by, paginate, unsupported
from api.whmcs.shapes import currencies, when
from billing import emails
from billing.models import EmailTemplate, Invoice, Payment, Service
from portal.activity import log_activity
from portal.models import ActivityLog, Client

Y = "System"


@action("GetPaymentMethods", category=Y, scope="system.read",
        note="The portal has no gateway modules: the methods are 'manual' and every gateway payments were recorded with.")
def get_payment_methods(call):
    gateways = {"manual"} | set(Payment.objects.values_list("gateway", flat=True).distinct())
    methods = [{"module": g, "displayname": g.replace("_", " ").title()} for g in sorted(gateways)]
    return {"totalresults": len(methods), "paymentmethods": {"paymentmethod": methods}}


@action("GetCurrencies", category=Y, scope="system.read",
        note="Ids are assigned in a fixed order (the default currency is 1); rates are not kept (1.00000).")
def get_currencies(call):
    rows = [
        {"id": pk, "code": code, "prefix": "", "suffix": f" {code}", "format": 1, "rate": "1.00000",
         "default": code == settings.DEFAULT_CURRENCY}
        for code, pk in currencies().items()
    ]
    return {"totalresults": len(rows), "currencies": {"currency": rows}}


TEMPLATE_TYPES = {"general": EmailTemplate.Category.GENERAL, "invoice": EmailTemplate.Category.INVOICE,
                  "product": EmailTemplate.Category.SERVICE}
TYPE_NAMES = {value: name for name, value in TEMPLATE_TYPES.items()}


@action("GetEmailTemplates", category=Y, scope="emails.send")
def get_email_templates(call):
    templates = EmailTemplate.objects.order_by("category", "name")
    if call.has("type"):
        templates = templates.filter(category=TEMPLATE_TYPES.get(call.str("type").lower(), call.str("type")))
    rows = [
        {"id": t.pk, "name": t.name, "subject": t.subject, "custom": True, "type": TYPE_NAMES.get(t.category, t.category),
         "disabled": t.disabled}
        for t in templates
    ]
    return {"totalresults": len(rows), "emailtemplates": {"emailtemplate": rows}}


@action("SendEmail", category=Y, scope="emails.send", required=(("id", "A related ID is required"),),
        note="messagename = a stored template; id is the client, invoice or service id by the template's category. "
             "Custom messages (customtype/customsubject/custommessage) are not supported; customvars is not read.")
def send_email(call):
    if call.has("custommessage") or call.has("customtype"):
        raise WhmcsError("Custom messages are not supported: send a stored template by messagename")
    template = EmailTemplate.objects.filter(name=call.str("messagename")).first()
    if template is None:
        raise WhmcsError("Email Template not found")
    if template.disabled:
        raise WhmcsError("Email Template is disabled")
    invoice = service = None
    if template.category == EmailTemplate.Category.INVOICE:
        invoice = Invoice.objects.filter(pk=call.int("id")).select_related("client").first()
        if invoice is None:
            raise WhmcsError("Invoice ID Not Found")
        client = invoice.client
    elif template.category == EmailTemplate.Category.SERVICE:
        service = Service.objects.filter(pk=call.int("id")).select_related("client").first()
        if service is None:
            raise WhmcsError("Service ID Not Found")
        client = service.client
    else:
        client = find_client(call, "id")
    emails.queue_email(template_name=template.name, client=client, invoice=invoice, service=service,
                       event_key=f"api.sendemail:{uuid.uuid4().hex}")
    log_activity(actor=call.actor, action="email.send", target=client,
                 message=f"E-mail '{template.name}' queued for {client}", data={"template": template.name})
    return {}


@action("GetActivityLog", category=Y, scope="activity.read")
def get_activity_log(call):
    entries = filter_by(
        call, ActivityLog.objects.order_by("-created_at", "-pk"), userid=("client_id", "int"),
        date=("created_at__date", "date"), user=("actor_label", "str"), description=("message__icontains", "str"),
        ipaddress=("ip_address", "str"),
    )
    rows, page = paginate(call, entries)
    items = [
        {"id": e.pk, "userid": e.client_id or 0, "clientid": e.client_id or 0, "date": when(e.created_at),
         "description": e.message, "user": e.actor_label, "username": e.actor_label, "ipaddress": e.ip_address or "",
         "action": e.action}
        for e in rows
    ]
    return {**page, "activity": {"entry": items}}


@action("LogActivity", category=Y, scope="activity.write", required=(("description", "Description is required"),))
def log_activity_action(call):
    client = find_client(call) if call.has("clientid") else None
    log_activity(actor=call.actor, action="api.log", message=call.str("description"), client=client,
                 target=client)
    return {}


@action("WhmcsDetails", category=Y, scope="system.read",
        note="Answers with the WHMCS API version this compatibility layer follows.")
def whmcs_details(call):
    return {"whmcs": {"version": "8.0.0", "canonicalversion": "8.0.0-release.1", "portal": "hosting billing portal"}}


@action("GetAdminDetails", category=Y, scope="system.read",
        note="The key's owner; allowedpermissions lists the key's scopes.")
def get_admin_details(call):
    user = call.caller.user
    scopes = call.caller.key.permissions if call.caller.key else ["*"]
    return {"adminid": user.pk, "name": user.get_full_name() or user.get_username(), "notes": "", "signature": "",
            "allowedpermissions": ",".join(scopes), "departments": "", "requesttime": ""}


unsupported(Y, "the portal keeps its configuration in settings and the staff area", "GetConfigurationValue",
            "SetConfigurationValue")
unsupported(Y, "passwords and secrets are never decrypted or encrypted through the API", "DecryptPassword", "EncryptPassword")
unsupported(Y, "the portal has no to-do list, announcements, banned IPs or admin notifications",
            "GetToDoItems", "GetToDoItemStatuses", "UpdateToDoItem", "UpdateAnnouncement", "AddBannedIp",
            "SendAdminNotification", "TriggerNotificationEvent", "UpdateAdminNotes", "GetStaffOnline", "GetAdminUsers")
unsupported(Y, "the automation run's record is on the staff dashboard (JobRun), not exposed as WHMCS's automation log",
            "GetAutomationLog", "GetStats")
