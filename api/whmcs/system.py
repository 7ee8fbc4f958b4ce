"""WHMCS "System" actions: payment methods, currencies, e-mail templates and SendEmail (billing.emails),
the activity log (portal.activity), staff users, statistics (the staff dashboard's counts), the automation
log (JobRun) and the API's own details."""
import base64
import binascii
import json
import re
import uuid
from datetime import timedelta

from django.conf import settings
from django.db.models import Count, DecimalField, ExpressionWrapper, F, Q, Sum
from django.utils import timezone

from api.whmcs.clients import find_client
from api.whmcs.orders import ORDER_STATUS
from api.whmcs.registry import WhmcsError, action, filter_by, paginate, unsupported
from api.whmcs.shapes import currencies, local_midnight, money, when
from billing import selectors
from billing.admin_emails import EmailTemplateForm
from billing.models import EmailTemplate, Service
from billing.selectors import dashboard_counts
from billing.services.emails import custom_email_send, email_send
from portal import selectors as portal_selectors
from portal.services import activity_note

Y = "System"


@action("GetPaymentMethods", category=Y, scope="system.read",
        note="The portal has no gateway modules: the methods are 'manual' and every gateway payments were recorded with.")
def get_payment_methods(call):
    gateways = {"manual"} | selectors.payment_gateways_used()
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
    category = TEMPLATE_TYPES.get(call.str("type").lower(), call.str("type")) if call.has("type") else None
    templates = selectors.email_templates(category=category)
    rows = [
        {"id": t.pk, "name": t.name, "subject": t.subject, "custom": True, "type": TYPE_NAMES.get(t.category, t.category),
         "disabled": t.disabled}
        for t in templates
    ]
    return {"totalresults": len(rows), "emailtemplates": {"emailtemplate": rows}}


VARIABLE_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
MAX_CUSTOM_VARS = 100


def custom_vars(call):
    """SendEmail's customvars as extra merge fields: customvars[name]=value pairs, or one customvars value
    holding base64-encoded JSON (an object of names and values). WHMCS's base64 PHP serialize() form is not
    read: decoding PHP serialized data is refused rather than guessed at."""
    pairs = call.mapping("customvars")
    if not pairs and call.has("customvars"):
        try:
            decoded = base64.b64decode(call.str("customvars"), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError, ValueError):
            raise WhmcsError("Invalid customvars: send customvars[name]=value or base64-encoded JSON") from None
        if re.match(r"^[aOsibdN][:;]", decoded):
            raise WhmcsError("customvars in PHP serialize() form is not supported: send customvars[name]=value "
                             "or base64-encoded JSON")
        try:
            pairs = json.loads(decoded)
        except ValueError:
            raise WhmcsError("Invalid customvars: the base64 value is not JSON") from None
        if not isinstance(pairs, dict):
            raise WhmcsError("Invalid customvars: the JSON must be an object of names and values")
    if len(pairs) > MAX_CUSTOM_VARS:
        raise WhmcsError(f"Invalid customvars: at most {MAX_CUSTOM_VARS} variables")
    values = {}
    for name, value in pairs.items():
        if not VARIABLE_NAME.match(str(name)):
            raise WhmcsError(f"Invalid customvars name {name!r}: letters, digits and _ only, starting with a letter")
        if isinstance(value, (dict, list)) or value is None:
            raise WhmcsError(f"Invalid customvars value for {name}: a text or a number is expected")
        values[str(name)] = str(value)
    return values


def related_records(call, category):
    """(client, invoice, service) that the id names, by the template's (or custom message's) category."""
    if category == EmailTemplate.Category.INVOICE:
        invoice = selectors.invoice_with_client(call.int("id"))
        if invoice is None:
            raise WhmcsError("Invoice ID Not Found")
        return invoice.client, invoice, None
    if category == EmailTemplate.Category.SERVICE:
        service = selectors.service_with_client(call.int("id"))
        if service is None:
            raise WhmcsError("Service ID Not Found")
        return service.client, None, service
    return find_client(call, "id"), None, None


def checked_custom_texts(call):
    """customsubject and custommessage checked exactly as a stored template's subject and body are when staff
    save one (billing.admin_emails): WHMCS's {$field} converted, Smarty blocks and template errors refused."""
    form = EmailTemplateForm(data={"name": "SendEmail custom message", "category": EmailTemplate.Category.GENERAL,
                                   "subject": call.str("customsubject"), "body": call.data.get("custommessage", "")})
    form.is_valid()
    for field, parameter in (("subject", "customsubject"), ("body", "custommessage")):
        if field in form.errors:
            raise WhmcsError(f"Invalid {parameter}: {' '.join(form.errors[field])}")
    return form.cleaned_data["subject"], form.cleaned_data["body"]


@action("SendEmail", category=Y, scope="emails.send", required=(("id", "A related ID is required"),),
        note="messagename = a stored template; id is the client, invoice or service id by the template's category "
             "(customtype general/invoice/product for a custom message). A custom message (customtype, customsubject, "
             "custommessage) also needs the emails.custom scope (whmcs:sendemail alone does not allow it); it is "
             "checked and rendered like a stored template (Django syntax or WHMCS {$field}, no Smarty blocks). "
             "customvars: customvars[name]=value or base64-encoded JSON; WHMCS's base64 PHP serialize() form is not "
             "supported. customtype=domain is not supported.")
def send_email(call):
    custom = call.has("customtype") or call.has("custommessage") or call.has("customsubject")
    extra = custom_vars(call)
    if custom:
        if not call.caller.allows("emails.custom"):
            raise WhmcsError('Invalid Permissions: API action "sendemail" is not allowed')
        category = TEMPLATE_TYPES.get(call.str("customtype").lower())
        if category is None:
            raise WhmcsError("Invalid customtype: use general, product or invoice")
        if not call.has("customsubject") or not call.has("custommessage"):
            raise WhmcsError("A custom message needs customsubject and custommessage")
        subject, message = checked_custom_texts(call)
        client, invoice, service = related_records(call, category)
        name = f"Custom: {' '.join(subject.split())}"[:120]
        custom_email_send(actor=call.actor, client=client, invoice=invoice, service=service, subject=subject,
                          message=message, name=name, custom_type=call.str("customtype").lower(), extra=extra,
                          event_key=f"api.sendemail:{uuid.uuid4().hex}")
        return {}
    template = selectors.email_template_named(call.str("messagename"))
    if template is None:
        raise WhmcsError("Email Template not found")
    if template.disabled:
        raise WhmcsError("Email Template is disabled")
    client, invoice, service = related_records(call, template.category)
    email_send(actor=call.actor, template=template, client=client, invoice=invoice, service=service, extra=extra,
               event_key=f"api.sendemail:{uuid.uuid4().hex}")
    return {}


@action("GetActivityLog", category=Y, scope="activity.read",
        note="Newest first. Filters: clientid (WHMCS's name; userid is accepted too), date, user, description, "
             "ipaddress.")
def get_activity_log(call):
    entries = filter_by(
        call, portal_selectors.activity_newest_first(), clientid=("client_id", "int"),
        userid=("client_id", "int"),
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
    activity_note(actor=call.actor, message=call.str("description"), client=client)
    return {}


@action("WhmcsDetails", category=Y, scope="system.read",
        note="Answers with the WHMCS API version this compatibility layer follows.")
def whmcs_details(call):
    return {"whmcs": {"version": "8.0.0", "canonicalversion": "8.0.0-release.1", "portal": "hosting billing portal"}}


def readable_settings():
    """WHMCS configuration names the portal has an equivalent for, with the portal's value (read-only)."""
    return {
        "CompanyName": settings.PORTAL_NAME,
        "SystemURL": settings.PORTAL_BASE_URL.rstrip("/") + "/",
        "Email": settings.DEFAULT_FROM_EMAIL,
        "SystemEmailsFromEmail": settings.DEFAULT_FROM_EMAIL,
        "SystemEmailsFromName": settings.PORTAL_NAME,
    }


@action("GetConfigurationValue", category=Y, scope="system.read", required=(("setting", "Setting is required"),),
        note="Read-only, from the portal's settings: CompanyName and SystemEmailsFromName (PORTAL_NAME), SystemURL "
             "(PORTAL_BASE_URL), Email and SystemEmailsFromEmail (DEFAULT_FROM_EMAIL). Other WHMCS settings have no "
             "portal equivalent and answer an error naming the readable ones.")
def get_configuration_value(call):
    name = call.str("setting")
    values = readable_settings()
    matched = next((key for key in values if key.lower() == name.lower()), None)
    if matched is None:
        raise WhmcsError(f"Unknown or unsupported setting '{name}': readable settings are {', '.join(values)}")
    return {"setting": matched, "value": values[matched]}


@action("GetAdminDetails", category=Y, scope="system.read",
        note="The key's owner; allowedpermissions lists the key's scopes.")
def get_admin_details(call):
    user = call.caller.user
    scopes = call.caller.key.permissions if call.caller.key else ["*"]
    return {"adminid": user.pk, "name": user.get_full_name() or user.get_username(), "notes": "", "signature": "",
            "allowedpermissions": ",".join(scopes), "departments": "", "requesttime": ""}


@action("GetAdminUsers", category=Y, scope="staff.read",
        note="Staff users (Django users with is_staff). roleId is the first group's id and roles lists every group "
             "(the portal's roles are Django groups); isDisabled = not active. Password hashes are never returned. "
             "roleid filters by group, email by address; include_disabled=true adds inactive staff.")
def get_admin_users(call):
    staff = portal_selectors.staff_users(
        include_disabled=bool(call.bool("include_disabled")), group_id=call.int("roleid") if call.has("roleid") else None,
        email=call.str("email") if call.has("email") else None,
    )
    users = []
    for user in staff:
        groups = sorted(user.groups.all(), key=lambda g: g.pk)
        users.append({
            "id": user.pk, "uuid": "", "roleId": groups[0].pk if groups else 0, "username": user.get_username(),
            "twoFactorAuthModule": "", "firstname": user.first_name, "lastname": user.last_name, "email": user.email,
            "signature": "", "notes": "", "template": "", "language": "", "isDisabled": 0 if user.is_active else 1,
            "loginAttempts": 0, "supportDepartmentIds": "", "receivesTicketNotifications": "",
            "created_at": when(user.date_joined), "updated_at": when(None),  # not recorded
            "fullName": user.get_full_name() or user.get_username(), "lastLogin": when(user.last_login),
            "isSuperuser": user.is_superuser, "roles": [g.name for g in groups], "disabled": not user.is_active,
        })
    return {"count": len(users), "admin_users": users}


def income_figures(today):
    """Net income (amount - gateway fees) of the payments received today, this month, this year and ever, in
    the default currency: the portal keeps no exchange rates, so other currencies are not converted."""
    starts = {"today": local_midnight(today), "thismonth": local_midnight(today.replace(day=1)),
              "thisyear": local_midnight(today.replace(month=1, day=1))}
    end = local_midnight(today + timedelta(days=1))
    net = ExpressionWrapper(F("amount") - F("fees"), output_field=DecimalField(max_digits=14, decimal_places=2))
    sums = selectors.payment_sums(currency=settings.DEFAULT_CURRENCY, aggregates={
        **{name: Sum(net, filter=Q(received_at__gte=start, received_at__lt=end), default=0) for name, start in starts.items()},
        "alltime": Sum(net, default=0),
    })
    return {f"income_{name}": money(value, settings.DEFAULT_CURRENCY) for name, value in sums.items()}


def order_figures(today):
    """WHMCS's order counts (an order is the service it created): pending now, and by the day it was placed."""
    spans = {"today": (local_midnight(today), local_midnight(today + timedelta(days=1))),
             "yesterday": (local_midnight(today - timedelta(days=1)), local_midnight(today))}
    by_title = {}
    for status, title in ORDER_STATUS.items():
        by_title.setdefault(title.lower(), []).append(status)
    counts = {}
    for day, (start, end) in spans.items():
        placed = Q(created_at__gte=start, created_at__lt=end)
        counts[f"orders_{day}_total"] = Count("id", filter=placed)
        for title in ("cancelled", "pending", "active"):
            counts[f"orders_{day}_{title}"] = Count("id", filter=placed & Q(status__in=by_title[title]))
    end = spans["today"][1]
    for name, first in (("thismonth", today.replace(day=1)), ("thisyear", today.replace(month=1, day=1))):
        counts[f"orders_{name}_total"] = Count("id", filter=Q(created_at__gte=local_midnight(first), created_at__lt=end))
    counts["cancellations_pending"] = Count("id", filter=~Q(cancellation_type="") & ~Q(
        status__in=[Service.Status.CANCELLED, Service.Status.TERMINATED]))
    figures = selectors.service_figures(counts)
    figures["orders_today_fraud"] = figures["orders_yesterday_fraud"] = 0  # the portal has no Fraud status
    return figures


@action("GetStats", category=Y, scope="stats.read",
        note="income_* = payments received less gateway fees, in the default currency only (no exchange rates); "
             "orders_* count services by the day they were ordered (Active includes suspended and terminated; Fraud "
             "is always 0); cancellations_pending = open cancellation requests. The staff dashboard's counts are "
             "added as clients_active, services_<status> and invoices_overdue(_amount). Tickets, to-do items, network "
             "issues, quotes, uninvoiced billable items and staff online are not returned (the portal has none); "
             "timeline_days is not supported.")
def get_stats(call):
    if call.has("timeline_days"):
        raise WhmcsError("timeline_days is not supported: the portal keeps no daily timeline")
    today = timezone.localdate()
    counts = dashboard_counts(today)
    stats = {**income_figures(today), "orders_pending": counts["services_by_status"][Service.Status.PENDING],
             **order_figures(today)}
    stats["clients_active"] = counts["active_clients"]
    stats.update({f"services_{status}": n for status, n in counts["services_by_status"].items()})
    stats["invoices_overdue"] = counts["overdue_invoices"]["count"]
    stats["invoices_overdue_amount"] = money(counts["overdue_invoices"]["amount"], settings.DEFAULT_CURRENCY)
    return stats


DAILY_AUTOMATION_JOB = "automation_daily"


def job_entry(run):
    return {"status": run.get_status_display(), "started": when(run.last_started_at),
            "finished": when(run.last_finished_at), "lastsuccess": when(run.last_success_at),
            "durationms": run.last_duration_ms or 0, "summary": run.last_summary, "error": run.last_error,
            "runcount": run.run_count}


@action("GetAutomationLog", category=Y, scope="automation.read",
        note="From JobRun, which keeps each periodic job's latest run only: statistics[<date>][<job name>] lists the "
             "jobs whose latest run started on that date (business time zone), with status, times, duration, summary "
             "and error, not WHMCS's per-task counters. Earlier runs are not kept, so a past date shows only jobs that "
             "have not run since. namespace = a job name (e.g. automation_daily, invoice_generation). In XML (dates "
             "are not element names) each date is a <day> with <date> and its <job> elements.")
def get_automation_log(call):
    today = timezone.localdate()
    start, end = call.date("startdate", today), call.date("enddate", today)
    if start > end:
        raise WhmcsError("Invalid date range: startdate is after enddate")
    runs = portal_selectors.job_runs_started(start=local_midnight(start), end=local_midnight(end + timedelta(days=1)),
                                             name=call.str("namespace") if call.has("namespace") else None)
    statistics = {}
    for run in runs:
        day = timezone.localtime(run.last_started_at).date().isoformat()
        statistics.setdefault(day, {})[run.name] = job_entry(run)
    if call.str("responsetype").lower() == "xml":
        # Dates are not valid XML element names: in XML each day is a <day> with its date and its <job>s.
        statistics = {"day": [{"date": day, "job": [{"name": name, **entry} for name, entry in jobs.items()]}
                              for day, jobs in statistics.items()]}
    daily = portal_selectors.job_last_started(DAILY_AUTOMATION_JOB)
    return {"currentDatetime": when(timezone.now()), "lastDailyCronInvocationTime": when(daily) if daily else "",
            "startdate": f"{start.isoformat()} 00:00:00", "enddate": f"{end.isoformat()} 23:59:59",
            "statistics": statistics}


unsupported(Y, "the portal's configuration comes from its environment (settings) and the staff area, never from "
            "an API call (WHMCS too allows this action only through its local API)", "SetConfigurationValue")
unsupported(Y, "passwords and secrets are never decrypted or encrypted through the API", "DecryptPassword", "EncryptPassword")
unsupported(Y, "the portal has no to-do list, announcements, banned IPs or admin notifications",
            "GetToDoItems", "GetToDoItemStatuses", "UpdateToDoItem", "UpdateAnnouncement", "AddBannedIp",
            "SendAdminNotification", "TriggerNotificationEvent", "UpdateAdminNotes")
unsupported(Y, "the portal does not record staff activity per request (sessions keep neither the last page view nor "
               "the address), so who is online cannot be told truthfully", "GetStaffOnline")
