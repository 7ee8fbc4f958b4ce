"""The per-account ceiling on failed sign-ins across addresses (docs/security.md, *Sign-in lockout*).

django-axes locks a username from one address after LOGIN_FAILURE_LIMIT failures. A guesser who spreads the
attempts over many addresses is stopped here: once one username has LOGIN_ACCOUNT_FAILURE_LIMIT failures within
the cool-off, counted from axes' own records (every address together), it is refused everywhere — on the staff and
client sign-in pages and in api.php's legacy username + password, which all sign in through authenticate() — until
the cool-off after the last failure ends. The ceiling is higher than the per-address limit, so one person's typos
lock only their own address, and locking a staff member out from everywhere takes many attempts."""
from datetime import timedelta

from axes.models import AccessAttempt
from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db.models import Sum
from django.utils import timezone


def account_failures(username):
    """Failed sign-ins of `username` from every address within the cool-off."""
    since = timezone.now() - timedelta(hours=settings.AXES_COOLOFF_TIME)
    total = AccessAttempt.objects.filter(username=username, attempt_time__gte=since).aggregate(
        failures=Sum("failures_since_start"))["failures"]
    return total or 0


class AccountLockoutBackend:
    """Listed after axes' backend and before the model backend: refuses a username at its ceiling before its
    password is checked. Marking the request as locked out makes axes' middleware answer with the lockout page
    (and api.php with its 429), as for a per-address lockout. It has no get_user (it never signs anyone in), so
    sessions and force_login keep using the model backend."""

    def authenticate(self, request, username=None, **credentials):
        if username and account_failures(username) >= settings.LOGIN_ACCOUNT_FAILURE_LIMIT:
            if request is not None:
                request.axes_locked_out = True
            raise PermissionDenied(f"Too many failed sign-ins for {username} from all addresses")
        return None
