from django.conf import settings
from django.utils import timezone


def portal(request):
    # "today" is the business date (TIME_ZONE is the business time zone): what "overdue" is judged against.
    return {"PORTAL_NAME": settings.PORTAL_NAME, "today": timezone.localdate()}
