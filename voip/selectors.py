"""Reads of the VoIP app. Client-area reads start from the signed-in client (`client_voip_service`), so another
client's service id answers 404."""
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.db.models import Count, Q, Sum
from django.db.models.functions import TruncDate
from django.http import Http404
from django.utils import timezone

from billing.models import Product, Service
from provisioning.telephony.calls import INBOUND, OUTBOUND
from voip.models import BillingMode, Cdr, VoipProduct
from voip.money import exact_sum
from voip.services.unbilled import unbilled_calls

DEFAULT_DAYS = 30
MAX_CHART_DAYS = 366


def period_bounds(start, end):
    """[start 00:00, the day after end 00:00) in the business time zone, as aware datetimes (index-friendly
    bounds for answer_time, instead of a date() of every row)."""
    zone = timezone.get_current_timezone()
    return (
        datetime.combine(start, time.min, tzinfo=zone),
        datetime.combine(end + timedelta(days=1), time.min, tzinfo=zone),
    )


def client_voip_services(client):
    """The client's VoIP services; through its related manager, so each service's `client` is `client` (no query)."""
    return client.services.filter(product__type=Product.Type.VOIP).select_related("product")


def client_voip_service(client, service_id):
    try:
        return client_voip_services(client).get(pk=service_id)
    except Service.DoesNotExist:
        raise Http404("No such VoIP service.") from None


#: The directions of calls (what the call records count and bill): local calls are listed on their own filter.
CALL_DIRECTIONS = (OUTBOUND, INBOUND)


@dataclass(frozen=True)
class CallFilter:
    start: date
    end: date
    direction: str = ""  # "" (outbound and inbound), outbound, inbound or local
    number: str = ""  # part of the caller, callee or E.164 number

    @classmethod
    def default(cls, today=None):
        today = today or timezone.localdate()
        return cls(start=today - timedelta(days=DEFAULT_DAYS - 1), end=today)


def service_calls(service, call_filter):
    """The service's calls answered in the filter's period, newest first: one row per call (internal legs of a
    call are never listed); outbound and inbound calls unless the filter asks for one direction, local
    (extension-to-extension) calls only when it asks for them — they are not billed and not counted as calls."""
    first, after = period_bounds(call_filter.start, call_filter.end)
    calls = Cdr.objects.filter(service=service, answer_time__gte=first, answer_time__lt=after, internal_leg=False)
    if call_filter.direction:
        calls = calls.filter(direction=call_filter.direction)
    else:
        calls = calls.filter(direction__in=CALL_DIRECTIONS)
    if call_filter.number:
        text = call_filter.number
        digits = "".join(ch for ch in text if ch.isdigit())
        match = Q(caller__icontains=text) | Q(callee__icontains=text)
        if digits:
            match |= Q(e164__contains=digits) | Q(caller__contains=digits) | Q(callee__contains=digits)
        calls = calls.filter(match)
    return calls.order_by("-answer_time", "-id")


@dataclass(frozen=True)
class CallTotals:
    calls: int
    billed_seconds: int
    cost: Decimal

    @property
    def minutes(self):
        return Decimal(self.billed_seconds) / 60


def call_totals(calls):
    row = calls.aggregate(
        calls=Count("id"), billed=Sum("billed_seconds"), cost=Sum("cost", filter=Q(status=Cdr.Status.RATED))
    )
    return CallTotals(row["calls"], row["billed"] or 0, exact_sum(row["cost"]))


def daily_spend(calls, call_filter):
    """[(date, cost)] for every day of the filter's period (0 on days without charges), oldest first; the
    period is cut to its last MAX_CHART_DAYS days."""
    start = max(call_filter.start, call_filter.end - timedelta(days=MAX_CHART_DAYS - 1))
    rows = (
        calls.filter(status=Cdr.Status.RATED)
        .annotate(day=TruncDate("answer_time", tzinfo=timezone.get_current_timezone()))
        .values("day").annotate(total=Sum("cost")).order_by()
    )
    spent = {row["day"]: exact_sum(row["total"]) for row in rows}
    days = (call_filter.end - start).days + 1
    return [(start + timedelta(days=n), spent.get(start + timedelta(days=n), Decimal(0))) for n in range(days)]


def recent_calls(service, limit=5):
    """The service's latest outbound and inbound calls (as the call records list them)."""
    calls = Cdr.objects.filter(service=service, answer_time__isnull=False, internal_leg=False,
                               direction__in=CALL_DIRECTIONS)
    return list(calls.order_by("-answer_time", "-id")[:limit])


def month_to_date(service, today=None):
    today = today or timezone.localdate()
    return call_totals(service_calls(service, CallFilter(start=today.replace(day=1), end=today)))


@dataclass(frozen=True)
class PostpaidUsage:
    """What a postpaid service's pages show: its calls not yet invoiced (billed on the next monthly invoice),
    of which those answered this month, and the client's VoIP credit limit."""

    unbilled: CallTotals
    this_month: CallTotals
    credit_limit: Decimal


def postpaid_usage(service, today=None):
    """PostpaidUsage of a postpaid service, None for a prepaid one (two queries)."""
    if not VoipProduct.objects.filter(product_id=service.product_id, billing_mode=BillingMode.POSTPAID).exists():
        return None
    today = today or timezone.localdate()
    first, _ = period_bounds(today.replace(day=1), today)
    row = unbilled_calls().filter(service=service).aggregate(
        n=Count("id"), billed=Sum("billed_seconds"), total=Sum("cost"),
        month_calls=Count("id", filter=Q(answer_time__gte=first)),
        month_billed=Sum("billed_seconds", filter=Q(answer_time__gte=first)),
        month_cost=Sum("cost", filter=Q(answer_time__gte=first)),
    )
    return PostpaidUsage(
        CallTotals(row["n"], row["billed"] or 0, exact_sum(row["total"])),
        CallTotals(row["month_calls"], row["month_billed"] or 0, exact_sum(row["month_cost"])),
        service.client.voip_credit_limit,
    )


def cdrs_newest_first():
    """Every call record, newest first (staff-side: the REST API)."""
    return Cdr.objects.order_by("-pk")
