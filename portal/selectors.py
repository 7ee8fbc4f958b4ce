"""Reads. Everything the client area shows is fetched here, scoped to the logged-in client, so that another
client's id answers 404 rather than leaking. Below the client area's: the staff-side reads the APIs make
(clients, logins, contacts, the activity log, job runs, staff users)."""
from django.contrib.auth import get_user_model
from django.db.models import Q

from portal.models import ActivityLog, Client, ClientUser, Contact, JobRun


def client_for_user(user):
    """The client a logged-in user belongs to, or None (staff, or a user without a client)."""
    if not user.is_authenticated:
        return None
    membership = ClientUser.objects.filter(user=user).select_related("client").first()
    return membership.client if membership else None


def clients():
    """Every client, unordered (for a lookup by id)."""
    return Client.objects.all()


def clients_by_id():
    return Client.objects.order_by("pk")


def clients_by_name(*, search="", status=None):
    """Clients by last and first name; `search` matches the start of the e-mail, a name or the company."""
    found = Client.objects.order_by("last_name", "first_name", "pk")
    if search:
        found = found.filter(
            Q(email__istartswith=search) | Q(first_name__istartswith=search) | Q(last_name__istartswith=search)
            | Q(company_name__istartswith=search)
        )
    if status is not None:
        found = found.filter(status=status)
    return found


def client_by_id(client_id):
    """The client, or None."""
    return Client.objects.filter(pk=client_id).first()


def client_by_email(email):
    """The client with that e-mail address (any case), or None."""
    return Client.objects.filter(email__iexact=email).first()


def client_owner_user_id(client):
    """The id of the client's owner login (Django user), or None."""
    return ClientUser.objects.filter(client=client, is_owner=True).values_list("user_id", flat=True).first()


def client_logins():
    """Every client login (ClientUser) with its user and client, by user id."""
    return ClientUser.objects.select_related("user", "client").order_by("user_id")


def client_logins_matching(*, search=None, newest_first=False):
    """Client logins by user id (the highest first when `newest_first`), whose e-mail or a name contains `search`
    when given."""
    logins = client_logins()
    if newest_first:
        logins = logins.order_by("-user_id")
    if search is not None:
        logins = logins.filter(Q(user__email__icontains=search) | Q(user__first_name__icontains=search)
                               | Q(user__last_name__icontains=search))
    return logins


def client_login_of_user(user_id):
    """The client login (with its user and client) of the Django user, or None."""
    return client_logins().filter(user_id=user_id).first()


def client_login_by_email(email):
    """The client login (with its user and client) whose user has that e-mail address (any case), or None."""
    return client_logins().filter(user__email__iexact=email).first()


def client_login(*, client, client_user_id):
    """The client's login with that id (and its user), or None."""
    return ClientUser.objects.filter(client=client, pk=client_user_id).select_related("user").first()


def is_client_login(*, client, user):
    """Whether the user is one of the client's logins."""
    return ClientUser.objects.filter(user=user, client=client).exists()


def contacts_by_id():
    return Contact.objects.order_by("pk")


def contacts_with_client():
    """Every contact with its client (for a lookup by id)."""
    return Contact.objects.select_related("client")


def contacts_matching(*, client_id=None, fields=None):
    """Contacts by id, of one client when `client_id` is given, whose fields equal (any case) `fields`."""
    found = contacts_by_id()
    if client_id is not None:
        found = found.filter(client_id=client_id)
    for field, value in (fields or {}).items():
        found = found.filter(**{f"{field}__iexact": value})
    return found


def activity_newest_first():
    return ActivityLog.objects.order_by("-created_at", "-pk")


def job_runs_started(*, start, end, name=None):
    """The periodic jobs whose latest run started in [start, end), oldest first, of the one job `name` if given."""
    runs = JobRun.objects.filter(last_started_at__gte=start, last_started_at__lt=end).order_by("last_started_at", "name")
    if name is not None:
        runs = runs.filter(name=name)
    return runs


def job_last_started(name):
    """When the job's latest run started, or None."""
    return JobRun.objects.filter(name=name).values_list("last_started_at", flat=True).first()


def staff_users(*, include_disabled=False, group_id=None, email=None):
    """Staff users by id with their groups; active ones only unless `include_disabled`, in the group and with
    the e-mail address (any case) when given."""
    staff = get_user_model().objects.filter(is_staff=True).prefetch_related("groups").order_by("pk")
    if not include_disabled:
        staff = staff.filter(is_active=True)
    if group_id is not None:
        staff = staff.filter(groups__pk=group_id).distinct()
    if email is not None:
        staff = staff.filter(email__iexact=email)
    return staff

