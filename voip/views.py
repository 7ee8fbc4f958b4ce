"""VoIP pages: the client area's call records (list, CSV export, daily spend chart) and the endpoint Vodia
pushes its CDRs to. Views only read through voip.selectors and write through voip.services."""
import base64
import binascii
from itertools import chain

from django.core.exceptions import RequestDataTooBig
from django.core.paginator import Paginator
from django.http import JsonResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from portal.csv_output import csv_writer
from portal.network import client_ip
from portal.querysets import seek_rows
from portal.views import client_required
from voip import selectors
from voip.charts import spend_chart_svg
from voip.forms import CallFilterForm
from voip.models import Cdr
from voip.services.push import PushError, PushRefused, admit_push, max_body_bytes, receive_push, too_large

PAGE_SIZE = 50
CSV_COLUMNS = (
    "answer_time", "direction", "caller", "callee", "number_e164", "destination", "billsec", "billed_seconds",
    "cost", "status",
)


def _filtered(request, voip_service_id):
    service = selectors.client_voip_service(request.client, voip_service_id)
    form = CallFilterForm(request.GET or None)
    call_filter = form.call_filter() if form.is_bound else selectors.CallFilter.default()
    if not form.is_bound:
        form = CallFilterForm(initial={"start": call_filter.start, "end": call_filter.end})
    return service, form, call_filter, selectors.service_calls(service, call_filter)


@client_required
def calls(request, voip_service_id):
    """A VoIP service's call records with filters, totals, pages and the daily spend chart."""
    service, form, call_filter, service_calls = _filtered(request, voip_service_id)
    totals = selectors.call_totals(service_calls)
    paginator = Paginator(service_calls, PAGE_SIZE)
    paginator.count = totals.calls  # the totals counted these calls already: no second COUNT(*) of the period
    page = paginator.get_page(request.GET.get("page"))
    currency = request.client.currency
    # Local calls are never billed: no spend to chart (and no query for it).
    local = call_filter.direction == Cdr.Direction.LOCAL
    chart = "" if local else spend_chart_svg(selectors.daily_spend(service_calls, call_filter), currency=currency)
    context = {
        "service": service,
        "form": form,
        "call_filter": call_filter,
        "page": page,
        "totals": totals,
        "chart": chart,
        "chart_note": CallFilterForm.chart_note(call_filter),
        "query": request.GET.urlencode(),
        "postpaid": selectors.postpaid_usage(service),
    }
    return render(request, "voip/calls.html", context)


class _Echo:
    """csv.writer target that hands each formatted row back (for streaming)."""

    def write(self, value):
        return value


@client_required
def calls_csv(request, voip_service_id):
    """The filtered call records as CSV, streamed row by row (any period, no memory growth); formula-like cells
    are neutralised (portal.csv_output)."""
    service, _form, call_filter, service_calls = _filtered(request, voip_service_id)
    zone = timezone.get_current_timezone()
    rows = seek_rows(service_calls, order=("-answer_time", "-id"), columns=(
        "answer_time", "direction", "caller", "callee", "e164", "destination", "billsec", "billed_seconds", "cost",
        "status",
    ))  # a batch in memory at a time: iterator() would not bound it on MariaDB (portal.querysets)
    writer = csv_writer(_Echo(), lineterminator="\r\n")  # a caller id like =HYPERLINK(…) stays text

    def lines():
        for answered, *middle, cost, status in rows:
            yield writer.writerow([answered.astimezone(zone).isoformat(), *middle, f"{cost:.4f}", status])

    response = StreamingHttpResponse(chain([writer.writerow(CSV_COLUMNS)], lines()), content_type="text/csv")
    name = f"calls-{service.domain}-{call_filter.start}-{call_filter.end}.csv".replace('"', "")
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


def _basic_credentials(request):
    header = request.META.get("HTTP_AUTHORIZATION", "")
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic" or not encoded:
        return None
    try:
        user, _, password = base64.b64decode(encoded.strip(), validate=True).decode("utf-8").partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return user, password


def _content_length(request):
    try:
        return int(request.META.get("CONTENT_LENGTH") or "")
    except ValueError:
        return None


def _refused(refusal):
    response = JsonResponse({"error": refusal.message}, status=refusal.status)
    if refusal.status == 401:
        response["WWW-Authenticate"] = 'Basic realm="CDR push", charset="UTF-8"'
    if refusal.retry_after is not None:
        response["Retry-After"] = str(refusal.retry_after)
    return response


@csrf_exempt
@require_POST
def vodia_push(request, source_id):
    """Vodia's CDR URL: one call (webcdr) or leg (json), or a list of them, per POST. Admission (credentials,
    allow-list, rate, size) is voip.services.push.admit_push: 401/403/413/429 with a JSON error. A repeated
    record is skipped, so a repeated push charges nothing."""
    ip = client_ip(request)
    try:
        source = admit_push(source_id=source_id, credentials=_basic_credentials(request), ip=ip,
                            content_length=_content_length(request))
        try:
            body = request.body
        except RequestDataTooBig:  # Django's own limit (DATA_UPLOAD_MAX_MEMORY_SIZE) is lower than ours
            raise too_large(source, ip) from None
        if len(body) > max_body_bytes():
            raise too_large(source, ip)
        cdr_import = receive_push(source=source, body=body, account=request.GET.get("domain", "")[:100])
    except PushRefused as refusal:
        return _refused(refusal)
    except PushError as exc:
        return JsonResponse({"error": str(exc)}, status=400)
    return JsonResponse({
        "import": cdr_import.pk, "received": cdr_import.lines_read, "inserted": cdr_import.inserted,
        "duplicates": cdr_import.duplicates, "errors": cdr_import.errors,
    })
