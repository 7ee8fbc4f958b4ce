"""WHMCS System actions on the portal's data: GetAdminUsers, GetStats, GetAutomationLog and SendEmail's custom
messages and customvars; what stays unsupported says why."""
import base64
import json
from datetime import date, datetime, time, timedelta
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group, Permission
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from billing import emails
from billing.models import EmailLog, EmailTemplate, Payment, Service
from billing.selectors import dashboard_counts, staff_dashboard
from portal.models import ActivityLog, JobRun
from tests.api.conftest import Whmcs, make_key
from tests.factories import InvoiceFactory, ServiceFactory, StaffFactory, UserFactory

pytestmark = pytest.mark.django_db


def staff_with(*perms, **fields):
    user = StaffFactory(**fields)
    user.user_permissions.set(Permission.objects.filter(codename__in=[p.split(".")[1] for p in perms]))
    return user


# GetAdminUsers

def test_get_admin_users_lists_active_staff_with_roles_and_never_a_password(client, whmcs):
    billing = Group.objects.create(name="Billing")
    support = Group.objects.create(name="Support")
    alice = StaffFactory(username="alice", first_name="Alice", last_name="Archer", email="alice@portal.example")
    alice.groups.set([support, billing])
    StaffFactory(username="gone", is_active=False)
    UserFactory(username="client@example.com")  # a client login is not staff
    response = whmcs.raw("GetAdminUsers")
    body = response.json()
    assert "pbkdf2" not in response.content.decode() and "argon2" not in response.content.decode()
    usernames = [u["username"] for u in body["admin_users"]]
    assert body["count"] == len(usernames) == 2  # the key's owner and alice
    assert "gone" not in usernames and "client@example.com" not in usernames
    row = next(u for u in body["admin_users"] if u["username"] == "alice")
    assert row["roleId"] == billing.pk and row["roles"] == ["Billing", "Support"]
    assert (row["firstname"], row["lastname"], row["email"], row["fullName"]) == (
        "Alice", "Archer", "alice@portal.example", "Alice Archer")
    assert (row["isDisabled"], row["disabled"]) == (0, False)
    assert not any("password" in key.lower() for key in row)
    everyone = whmcs("GetAdminUsers", include_disabled="true")
    assert [u["disabled"] for u in everyone["admin_users"] if u["username"] == "gone"] == [True]
    assert [u["username"] for u in whmcs("GetAdminUsers", roleid=support.pk)["admin_users"]] == ["alice"]
    assert [u["username"] for u in whmcs("GetAdminUsers", email="ALICE@portal.example")["admin_users"]] == ["alice"]


def test_get_admin_users_runs_a_fixed_number_of_queries(whmcs):
    group = Group.objects.create(name="Ops")
    for n in range(3):
        StaffFactory().groups.add(group)
    whmcs("GetAdminUsers")  # the key's first call of the minute also records its use
    with CaptureQueriesContext(connection) as few:
        whmcs("GetAdminUsers")
    for n in range(5):
        StaffFactory().groups.add(group)
    with CaptureQueriesContext(connection) as many:
        assert whmcs("GetAdminUsers")["count"] == 9
    assert len(many) == len(few)


def test_get_admin_users_needs_staff_read_and_the_owners_view_user_permission(client):
    assert Whmcs(client, make_key(permissions=["system.read"]))("GetAdminUsers")["message"] == (
        'Invalid Permissions: API action "getadminusers" is not allowed')
    clerk = staff_with("billing.view_payment")
    assert Whmcs(client, make_key(owner=clerk, permissions=["staff.read"]))("GetAdminUsers")["result"] == "error"
    viewer = staff_with("auth.view_user")
    assert Whmcs(client, make_key(owner=viewer, permissions=["staff.read"]))("GetAdminUsers")["result"] == "success"


# GetStats

TODAY = date(2026, 6, 15)


@pytest.fixture
def frozen_today(monkeypatch):
    """GetStats's "today" is 2026-06-15 (so that month and year boundaries are fixed); other calls are unchanged."""
    real = timezone.localdate
    monkeypatch.setattr(timezone, "localdate", lambda *args, **kwargs: TODAY if not args and not kwargs else real(*args, **kwargs))


def at(day, hour=12):
    return timezone.make_aware(datetime.combine(day, time(hour)))


def pay(client, amount, day, *, fees="0", currency="USD"):
    return Payment.objects.create(client=client, amount=Decimal(amount), fees=Decimal(fees), currency=currency,
                                  transaction_id=f"t{Payment.objects.count()}", received_at=at(day))


def test_get_stats_maps_income_orders_and_the_dashboard_counts(whmcs, owner, frozen_today):
    pay(owner, "10.00", TODAY, fees="0.50")
    pay(owner, "20.00", TODAY - timedelta(days=3))  # this month
    pay(owner, "40.00", date(2026, 2, 1))  # this year
    pay(owner, "80.00", date(2025, 12, 31))  # last year
    pay(owner, "999.00", TODAY, currency="EUR")  # no exchange rates: not counted
    pay(owner, "5.00", TODAY + timedelta(days=1))  # tomorrow (dated ahead): not today, but all time
    ServiceFactory(client=owner, status=Service.Status.PENDING, created_at=at(TODAY))
    ServiceFactory(client=owner, status=Service.Status.ACTIVE, created_at=at(TODAY))
    ServiceFactory(client=owner, status=Service.Status.CANCELLED, created_at=at(TODAY - timedelta(days=1)))
    ServiceFactory(client=owner, status=Service.Status.SUSPENDED, created_at=at(date(2026, 1, 5)),
                   cancellation_type=Service.CancellationType.END_OF_PERIOD)
    ServiceFactory(client=owner, status=Service.Status.PENDING, created_at=at(date(2025, 5, 5)))
    InvoiceFactory(client=owner, due_date=TODAY - timedelta(days=2), total=Decimal("12.50"))
    stats = whmcs("GetStats")
    assert stats == {
        "result": "success",
        "income_today": "9.50", "income_thismonth": "29.50", "income_thisyear": "69.50", "income_alltime": "154.50",
        "orders_pending": 2,
        "orders_today_total": 2, "orders_today_pending": 1, "orders_today_active": 1, "orders_today_cancelled": 0,
        "orders_today_fraud": 0,
        "orders_yesterday_total": 1, "orders_yesterday_pending": 0, "orders_yesterday_active": 0,
        "orders_yesterday_cancelled": 1, "orders_yesterday_fraud": 0,
        "orders_thismonth_total": 3, "orders_thisyear_total": 4,
        "cancellations_pending": 1,
        "clients_active": 1,
        "services_pending": 2, "services_active": 1, "services_suspended": 1, "services_terminated": 0,
        "services_cancelled": 1,
        "invoices_overdue": 1, "invoices_overdue_amount": "12.50",
    }


def test_get_stats_and_the_staff_dashboard_share_their_counts(owner):
    ServiceFactory(client=owner, status=Service.Status.ACTIVE)
    counts = dashboard_counts()
    dashboard = staff_dashboard()
    assert dashboard["active_clients"] == counts["active_clients"] == 1
    assert dict(dashboard["services_by_status"])["Active"] == counts["services_by_status"]["active"] == 1


def test_get_stats_refuses_timeline_days_and_needs_stats_read(client, whmcs):
    assert whmcs("GetStats", timeline_days=7) == {
        "result": "error", "message": "timeline_days is not supported: the portal keeps no daily timeline"}
    system_only = Whmcs(client, make_key(permissions=["system.read"]))
    response = system_only.raw("GetStats")
    assert response.status_code == 403
    assert response.json()["message"] == 'Invalid Permissions: API action "getstats" is not allowed'


# GetAutomationLog

def run(name, started, **fields):
    return JobRun.objects.create(name=name, status=fields.pop("status", JobRun.Status.SUCCESS), last_started_at=started,
                                 **fields)


def test_get_automation_log_groups_each_jobs_latest_run_by_date(whmcs):
    today = timezone.localdate()
    now = timezone.now()
    daily = run("automation_daily", now - timedelta(minutes=5), last_finished_at=now - timedelta(minutes=4),
                last_success_at=now - timedelta(minutes=4), last_duration_ms=61000, last_summary="2 suspended",
                run_count=30)
    run("invoice_generation", now - timedelta(days=2), status=JobRun.Status.FAILED, last_error="OperationalError: x",
        run_count=4)
    body = whmcs("GetAutomationLog")
    assert body["startdate"] == f"{today} 00:00:00" and body["enddate"] == f"{today} 23:59:59"
    local = timezone.localtime(daily.last_started_at)
    assert body["lastDailyCronInvocationTime"] == local.strftime("%Y-%m-%d %H:%M:%S")
    assert body["statistics"] == {local.date().isoformat(): {"automation_daily": {
        "status": "Succeeded", "started": local.strftime("%Y-%m-%d %H:%M:%S"),
        "finished": timezone.localtime(daily.last_finished_at).strftime("%Y-%m-%d %H:%M:%S"),
        "lastsuccess": timezone.localtime(daily.last_success_at).strftime("%Y-%m-%d %H:%M:%S"),
        "durationms": 61000, "summary": "2 suspended", "error": "", "runcount": 30}}}
    week = whmcs("GetAutomationLog", startdate=str(today - timedelta(days=7)), enddate=str(today))
    failed_day = timezone.localtime(now - timedelta(days=2)).date().isoformat()
    assert week["statistics"][failed_day]["invoice_generation"]["status"] == "Failed"
    assert week["statistics"][failed_day]["invoice_generation"]["error"] == "OperationalError: x"
    only = whmcs("GetAutomationLog", startdate=str(today - timedelta(days=7)), namespace="invoice_generation")
    assert list(only["statistics"]) == [failed_day]


def test_get_automation_log_in_xml_has_valid_element_names(whmcs):
    from xml.etree import ElementTree

    started = timezone.now() - timedelta(minutes=1)
    run("email_queue", started, last_summary="3 sent")
    response = whmcs.raw("GetAutomationLog", responsetype="xml")
    root = ElementTree.fromstring(response.content)
    day = root.find("statistics/day")
    assert day.findtext("date") == timezone.localtime(started).date().isoformat()
    assert (day.findtext("job/name"), day.findtext("job/summary")) == ("email_queue", "3 sent")


def test_get_automation_log_rejects_bad_dates_and_needs_automation_read(client, whmcs):
    assert whmcs("GetAutomationLog", startdate="2026-02-30")["message"] == "Invalid startdate: use the format YYYY-MM-DD"
    assert whmcs("GetAutomationLog", startdate="2026-03-02", enddate="2026-03-01")["message"] == (
        "Invalid date range: startdate is after enddate")
    assert whmcs("GetAutomationLog", startdate="2020-01-01", enddate="2020-01-02")["statistics"] == {}
    assert Whmcs(client, make_key(permissions=["system.read"]))("GetAutomationLog")["message"] == (
        'Invalid Permissions: API action "getautomationlog" is not allowed')


# SendEmail: custom messages and customvars

@pytest.fixture
def sender(client):
    return Whmcs(client, make_key(name="mailer", permissions=["emails.send", "emails.custom"]))


def deliver_all():
    ids = list(EmailLog.objects.filter(status=EmailLog.Status.QUEUED).values_list("pk", flat=True))
    emails.deliver(log_ids=ids)
    return EmailLog.objects.filter(pk__in=ids).order_by("pk")


def test_a_custom_product_message_is_queued_audited_and_rendered_with_the_merge_fields(sender, owner):
    service = ServiceFactory(client=owner, domain="shop.example")
    result = sender("SendEmail", customtype="product", id=service.pk, customsubject="About {$service_domain}",
                    custommessage="Hello {{ client_first_name }}, {$service_domain} moves on {{ move_day }}.",
                    **{"customvars[move_day]": "Monday"})
    assert result == {"result": "success"}
    (log,) = EmailLog.objects.all()
    assert (log.template_name, log.client_id, log.service_id, log.invoice_id) == (
        "Custom: About {{ service_domain }}", owner.pk, service.pk, None)
    entry = ActivityLog.objects.get(action="email.send")
    assert (entry.actor_label, entry.client_id) == ("api:mailer", owner.pk)
    assert entry.data == {"custom": True, "type": "product", "subject": "About {{ service_domain }}",
                          "customvars": ["move_day"]}
    (sent,) = deliver_all()
    assert sent.status == EmailLog.Status.SENT
    assert (mail.outbox[0].subject, mail.outbox[0].body, mail.outbox[0].to) == (
        "About shop.example", "Hello Pat, shop.example moves on Monday.", [owner.email])


def test_custom_general_and_invoice_messages_find_their_record_by_id(sender, owner):
    invoice = InvoiceFactory(client=owner)
    assert sender("SendEmail", customtype="general", id=owner.pk, customsubject="Hi", custommessage="x")["result"] == "success"
    assert sender("SendEmail", customtype="invoice", id=invoice.pk, customsubject="Inv {{ invoice_num }}",
                  custommessage="Due {{ invoice_balance }}")["result"] == "success"
    assert sender("SendEmail", customtype="invoice", id=99999, customsubject="x", custommessage="x")["message"] == (
        "Invoice ID Not Found")
    assert sender("SendEmail", customtype="product", id=99999, customsubject="x", custommessage="x")["message"] == (
        "Service ID Not Found")
    deliver_all()
    assert [m.subject for m in mail.outbox] == ["Hi", f"Inv {invoice.number}"]


@pytest.mark.parametrize("params, message", [
    ({"customtype": "domain"}, "Invalid customtype: use general, product or invoice"),
    ({"customsubject": ""}, "A custom message needs customsubject and custommessage"),
    ({"custommessage": "{% if %}"}, "Invalid custommessage: Template error:"),
    ({"custommessage": "{if $x}a{/if}"}, "Invalid custommessage: Smarty blocks are not converted: {/if}, {if $x}."),
    ({"custommessage": "{% load static %}{% static 'x' %}"}, "Invalid custommessage: These template tags are not available in e-mails: {% load %}."),
    ({"custommessage": "{% if client_id == 5 %}{% include 'x.html' %}{% endif %}"}, "Invalid custommessage: These template tags are not available in e-mails: {% include %}."),
    ({"customsubject": "{% debug %}"}, "Invalid customsubject: These template tags are not available in e-mails: {% debug %}."),
    ({"customvars": base64.b64encode(b'a:1:{s:1:"x";s:1:"y";}').decode()},
     "customvars in PHP serialize() form is not supported"),
    ({"customvars": "not base64!"}, "Invalid customvars: send customvars[name]=value or base64-encoded JSON"),
    ({"customvars": base64.b64encode(b"[1, 2]").decode()}, "Invalid customvars: the JSON must be an object"),
    ({"customvars[_custom]": "x"}, "Invalid customvars name '_custom'"),
])
def test_bad_custom_messages_are_refused_and_nothing_is_queued(sender, owner, params, message):
    base = {"customtype": "general", "id": owner.pk, "customsubject": "Subject", "custommessage": "Body"}
    result = sender("SendEmail", **{**base, **params})
    assert result["result"] == "error" and result["message"].startswith(message), result
    assert not EmailLog.objects.exists()
    assert not ActivityLog.objects.filter(action="email.send").exists()


def test_custom_messages_need_the_emails_custom_scope_even_with_the_sendemail_role(client, owner):
    for permissions in (["emails.send"], ["whmcs:sendemail"]):
        key = Whmcs(client, make_key(permissions=permissions))
        result = key("SendEmail", customtype="general", id=owner.pk, customsubject="x", custommessage="y")
        assert result == {"result": "error", "message": 'Invalid Permissions: API action "sendemail" is not allowed'}
    assert not EmailLog.objects.exists() and not ActivityLog.objects.filter(action="email.send").exists()
    clerk = staff_with("billing.view_emailtemplate")  # may send stored templates, may not write e-mail texts
    key = Whmcs(client, make_key(owner=clerk, permissions=["emails.send", "emails.custom"]))
    assert key("SendEmail", customtype="general", id=owner.pk, customsubject="x", custommessage="y")["result"] == "error"


def test_stored_templates_take_customvars_as_array_or_base64_json(sender, owner):
    EmailTemplate.objects.create(name="Maintenance", category=EmailTemplate.Category.GENERAL,
                                 subject="Maintenance {{ window }}", body="{{ client_name }}: {{ window }} ({{ zone }})")
    assert sender("SendEmail", messagename="Maintenance", id=owner.pk, **{"customvars[window]": "Sat 02:00",
                                                                          "customvars[zone]": "UTC"})["result"] == "success"
    encoded = base64.b64encode(json.dumps({"window": "Sun 03:00", "zone": 5}).encode()).decode()
    assert sender("SendEmail", messagename="Maintenance", id=owner.pk, customvars=encoded)["result"] == "success"
    deliver_all()
    assert [(m.subject, m.body) for m in mail.outbox] == [
        ("Maintenance Sat 02:00", f"{owner.full_name}: Sat 02:00 (UTC)"),
        ("Maintenance Sun 03:00", f"{owner.full_name}: Sun 03:00 (5)"),
    ]


# What stays unsupported says why

@pytest.mark.parametrize("action, reason", [
    ("GetStaffOnline", "who is online cannot be told truthfully"),
    ("PendingOrder", "once accepted the module has created the account"),
    ("DeleteOrder", "deleting the order would delete a numbered invoice"),
    ("GetUserPermissions", "the portal has no per-user permissions"),
    ("UpdateUserPermissions", "the portal has no per-user permissions"),
    ("GetPermissionsList", "the portal has no per-user permissions"),
])
def test_unsupported_actions_answer_with_their_reason(whmcs, action, reason):
    result = whmcs(action)
    assert result["result"] == "error"
    assert result["message"].startswith(f"{action} is not supported by this portal:") and reason in result["message"]


# GetConfigurationValue ----------------------------------------------------------------------------------------

def test_get_configuration_value_reads_the_settings_the_portal_has(whmcs, settings):
    settings.PORTAL_NAME, settings.PORTAL_BASE_URL = "Acme Hosting", "https://portal.example.com"
    settings.DEFAULT_FROM_EMAIL = "billing@example.com"
    assert whmcs("GetConfigurationValue", setting="SystemURL") == {
        "result": "success", "setting": "SystemURL", "value": "https://portal.example.com/"}
    assert whmcs("GetConfigurationValue", setting="companyname")["value"] == "Acme Hosting"
    assert whmcs("GetConfigurationValue", setting="Email")["value"] == "billing@example.com"


def test_get_configuration_value_errors(client, whmcs):
    assert whmcs("GetConfigurationValue") == {"result": "error", "message": "Setting is required"}
    assert whmcs("GetConfigurationValue", setting="PremiumDomains") == {
        "result": "error", "message": "Unknown or unsupported setting 'PremiumDomains': readable settings are "
        "CompanyName, SystemURL, Email, SystemEmailsFromEmail, SystemEmailsFromName"}
    stats_only = Whmcs(client, make_key(name="stats", permissions=["stats.read"]))
    assert stats_only("GetConfigurationValue", setting="SystemURL") == {
        "result": "error", "message": 'Invalid Permissions: API action "getconfigurationvalue" is not allowed'}
    changed = whmcs("SetConfigurationValue", setting="CompanyName", value="x")
    assert changed["result"] == "error" and changed["message"].startswith("SetConfigurationValue is not supported")
