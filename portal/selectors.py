"""Reads. Everything the client area shows is fetched here, scoped to the logged-in client, so that another
client's id answers 404 rather than leaking."""
from django.db.models import Count, Q, Sum
from django.http import Http404
from django.utils import timezone

from billing.automation.report import next_run_preview
from billing.models import Invoice, Service
from portal.jobs import job_statuses
from portal.models import Client, ClientUser


def client_for_user(user):
    """The client a logged-in user belongs to, or None (staff, or a user without a client)."""
    if not user.is_authenticated:
        return None
    membership = ClientUser.objects.filter(user=user).select_related("client").first()
    return membership.client if membership else None


def client_services(client):
    return Service.objects.filter(client=client).select_related("product").order_by("status", "domain")


def client_service(client, service_id):
    try:
        return client_services(client).get(pk=service_id)
    except Service.DoesNotExist:
        raise Http404("No such service.") from None


def client_invoices(client):
    return Invoice.objects.filter(client=client).exclude(status=Invoice.Status.DRAFT).order_by("-date", "-id")


def client_invoice(client, invoice_id):
    try:
        return client_invoices(client).prefetch_related("items__service", "payments").get(pk=invoice_id)
    except Invoice.DoesNotExist:
        raise Http404("No such invoice.") from None


def client_dashboard(client):
    """Counts and amounts for the client's dashboard, in two queries."""
    today = timezone.localdate()
    services = Service.objects.filter(client=client).aggregate(
        active=Count("id", filter=Q(status=Service.Status.ACTIVE)),
        suspended=Count("id", filter=Q(status=Service.Status.SUSPENDED)),
    )
    invoices = Invoice.objects.filter(client=client, status=Invoice.Status.UNPAID).aggregate(
        unpaid=Count("id"),
        overdue=Count("id", filter=Q(due_date__lt=today)),
        total_due=Sum("total", default=0),
    )
    return {**services, **invoices}


def dashboard_counts(today=None):
    """The staff dashboard's counts, in three queries: active clients, services per status (every status, 0
    when none) and overdue invoices (count and amount). The WHMCS API's GetStats answers with the same."""
    today = today or timezone.localdate()
    by_status = dict(Service.objects.values_list("status").annotate(n=Count("id")).order_by())
    overdue = Invoice.objects.filter(status=Invoice.Status.UNPAID, due_date__lt=today).aggregate(
        count=Count("id"), amount=Sum("total", default=0)
    )
    return {
        "active_clients": Client.objects.filter(status=Client.Status.ACTIVE).count(),
        "services_by_status": {value: by_status.get(value, 0) for value, _ in Service.Status.choices},
        "overdue_invoices": overdue,
    }


def staff_dashboard():
    """The staff dashboard's figures with a fixed number of queries, whatever the number of rows."""
    counts = dashboard_counts()
    return {
        "active_clients": counts["active_clients"],
        "services_by_status": [(label, counts["services_by_status"][value]) for value, label in Service.Status.choices],
        "overdue_invoices": counts["overdue_invoices"],
        "jobs": job_statuses(),
        "automation_preview": next_run_preview(),
    }
