"""The usage update (seed 000's UsageUpdate): per server, one bulk call for every domain's disk usage, written
to each live mail service (Service.disk_usage_mb, the figure disk billing reads) and kept as one history row
per business day for the charts. Servers are independent: provisioning.tasks runs one task per server."""
from dataclasses import dataclass
from datetime import timedelta

from django.db import connection, transaction
from django.db.models import OuterRef, Subquery
from django.utils import timezone

from billing.models import Product, Service
from provisioning import lifecycle
from provisioning.calls import call_module
from provisioning.models import Server, UsageSample
from provisioning.registry import installed_modules

BATCH = 1000


@dataclass(frozen=True)
class UsageSummary:
    server: str
    updated: int
    missing: tuple  # live services whose domain the provider did not report

    def __str__(self):
        text = f"{self.server}: {self.updated} service(s) updated"
        if self.missing:
            text += f", {len(self.missing)} not found on the server ({', '.join(self.missing[:5])}…)"
        return text


def servers_for_usage_update():
    """Ids of the enabled servers whose module reads usage and that hold live mail services."""
    keys = [key for key, module in installed_modules().items() if module.supports_usage]
    return list(
        Server.objects.filter(
            enabled=True, module__in=keys, services__status__in=lifecycle.LIVE, services__product__type=Product.Type.MAIL
        ).distinct().order_by("id").values_list("id", flat=True)
    )


def update_server_usage(*, server_id, run_date=None):
    """Read one server's usage in one provider call and write it in bulk. Returns a UsageSummary; raises
    ModuleError when the provider call fails (recorded on the server and as a ModuleCall). Safe to run twice
    (the day's history row is replaced) and beside lifecycle actions (only the usage columns are written)."""
    run_date = run_date or timezone.localdate()
    server = Server.objects.get(pk=server_id)
    module = installed_modules()[server.module]
    call, usage, error = call_module(
        module_key=module.key, action="usage", server=server, fn=lambda: module.usage(lifecycle.server_ref(server))
    )
    call.save()
    if error is not None:
        Server.objects.filter(pk=server.pk).update(usage_error=error.message[:2000])
        raise error
    now = timezone.now()
    samples, missing = [], []
    live = Service.objects.filter(server=server, status__in=lifecycle.LIVE, product__type=Product.Type.MAIL)
    for service_id, domain in live.order_by("id").values_list("id", "domain").iterator(chunk_size=BATCH):
        reading = usage.get(domain.lower())
        if reading is None:
            missing.append(domain)
            continue
        samples.append(UsageSample(service_id=service_id, date=run_date, disk_mb=reading.disk_mb,
                                   disk_limit_mb=reading.disk_limit_mb, taken_at=now))
    with transaction.atomic():
        _upsert_samples(samples)
        # The services take this run's readings in one set-based UPDATE (a correlated subquery on the rows
        # just written), not row by row: see docs/provisioning.md for why not bulk_update's CASE per row.
        reading = UsageSample.objects.filter(service=OuterRef("pk"), date=run_date)
        Service.objects.filter(server=server, usage_samples__date=run_date, usage_samples__taken_at=now).update(
            disk_usage_mb=Subquery(reading.values("disk_mb")[:1]),
            disk_limit_mb=Subquery(reading.values("disk_limit_mb")[:1]),
            usage_updated_at=now,
        )
        note = f"{len(missing)} live service(s) not found on the server" if missing else ""
        Server.objects.filter(pk=server.pk).update(usage_updated_at=now, usage_error=note)
    return UsageSummary(server.name, len(samples), tuple(missing))


def _upsert_samples(samples):
    """Insert the day's rows, replacing a row of the same service and day (a second run the same day)."""
    target = ["service", "date"] if connection.features.supports_update_conflicts_with_target else None
    UsageSample.objects.bulk_create(
        samples, batch_size=BATCH, update_conflicts=True, unique_fields=target,
        update_fields=["disk_mb", "disk_limit_mb", "taken_at"],
    )


def usage_history(service, *, days=90):
    """The service's readings of the last `days` days, oldest first: [(date, disk_mb, disk_limit_mb)]."""
    since = timezone.localdate() - timedelta(days=days)
    return list(
        UsageSample.objects.filter(service=service, date__gte=since).order_by("date")
        .values_list("date", "disk_mb", "disk_limit_mb")
    )
