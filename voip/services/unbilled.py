"""Unbilled postpaid usage: the rated calls of postpaid services not yet on a usage invoice.

`UnbilledUsage.amount` caches each client's total so that the five-minute autosuspend sweep reads one column
instead of summing a month of calls. It is always RECOMPUTED from the calls (one aggregate and one upsert for
any number of clients), never incremented, so running a refresh twice — or after a crash half-way — gives the
same figure. Whatever changes which calls are unbilled or what they cost refreshes the clients it touched:
imports (voip.services.imports.post_charges), re-rating and usage invoicing.

Refreshes lock the clients' rows first (in id order), so two imports of the same client's calls cannot write
their totals out of order: the later one waits and sums what the earlier committed.
"""
from decimal import Decimal

from django.db import connection, transaction
from django.db.models import Count, Q, Sum

from portal.models import Client
from voip.models import Cdr, UnbilledUsage
from voip.money import exact_sum
from voip.rating.engine import RATED

#: Postpaid calls of a service not on a usage invoice yet, whatever their rating.
UNINVOICED = Q(postpaid=True, usage_invoice__isnull=True, service__isnull=False)
#: The calls billed by the next usage invoice (the job adds its period end).
UNBILLED = UNINVOICED & Q(status=RATED)


def unbilled_calls():
    return Cdr.objects.filter(UNBILLED)


def unbilled_totals(client_ids):
    """{client id: (calls, total cost)} of the clients' unbilled postpaid calls; clients without any are absent."""
    rows = (
        unbilled_calls().filter(service__client_id__in=client_ids).values("service__client_id")
        .annotate(total=Sum("cost"), calls=Count("id")).order_by()
    )
    return {row["service__client_id"]: (row["calls"], exact_sum(row["total"])) for row in rows}


@transaction.atomic
def refresh_unbilled(client_ids):
    """Recompute the cached unbilled usage of `client_ids` from their calls. Returns {client id: amount}."""
    ids = sorted(set(client_ids))
    if not ids:
        return {}
    list(Client.objects.select_for_update().filter(pk__in=ids).order_by("pk").values_list("pk", flat=True))
    totals = unbilled_totals(ids)
    amounts = {pk: totals.get(pk, (0, Decimal(0)))[1] for pk in ids}
    # MariaDB's upsert (ON DUPLICATE KEY UPDATE) takes no conflict target; the others need one.
    target = {} if connection.vendor == "mysql" else {"unique_fields": ["client"]}
    UnbilledUsage.objects.bulk_create(
        [UnbilledUsage(client_id=pk, amount=amount) for pk, amount in amounts.items()],
        update_conflicts=True, update_fields=["amount", "updated_at"], batch_size=1000, **target,
    )
    return amounts
