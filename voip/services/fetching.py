"""Scheduled imports: a source's provider module fetches its call records (`fetch_cdrs`), the pipeline imports
them. One import per source at a time (claimed with a conditional UPDATE); each fetch asks for records from the
last import's start less an overlap, since re-fetched records are skipped (unique source + external id)."""
import logging
from datetime import timedelta

from django.db.models import Q
from django.utils import timezone

from billing.models import Product, Service
from provisioning.calls import call_module
from provisioning.lifecycle import LIVE, server_ref
from provisioning.modules.base import CdrSourceRef, ModuleError
from provisioning.registry import get_module
from voip.models import CdrImport, CdrSource
from voip.services.imports import fail_import, run_import, start_import

logger = logging.getLogger(__name__)

DEFAULT_OVERLAP_MINUTES = 120
CLAIM_LEASE = timedelta(hours=1)


def _fusionpbx_extension(record):
    """The FusionPBX module's records carry the call's extension third in `fields` (docs/voip-providers.md §5.1)."""
    return record.fields[2] if len(record.fields) > 2 else ""


EXTENSION_OF = {CdrSource.Kind.FUSIONPBX: _fusionpbx_extension}


def source_ref(source):
    """The dataclass a module sees (provisioning.modules.base.CdrSourceRef), never the model."""
    services = []
    if source.server_id is not None:
        services = [
            {"id": pk, "domain": domain, "module_data": data}
            for pk, domain, data in Service.objects.filter(
                server_id=source.server_id, product__type=Product.Type.VOIP, status__in=LIVE
            ).order_by("id").values_list("id", "domain", "module_data")
        ]
    return CdrSourceRef(
        id=source.pk, kind=source.kind, server=server_ref(source.server) if source.server_id else None,
        url=source.url, username=source.username, password=source.password, token=source.token,
        column_mapping=dict(source.column_mapping or {}), time_zone=source.time_zone or "UTC",
        options={**(source.options or {}), "services": services},
    )


def fetching_module(source):
    """The module that fetches the source's records; ModuleError (permanent) when there is none."""
    if source.server_id is None:
        raise ModuleError("The source has no server to fetch from: choose its PBX or carrier server.", permanent=True)
    module = get_module(source.server.module)
    if module is None or not module.supports_cdrs:
        label = module.label if module is not None else "no"
        raise ModuleError(f"The server's module ({label}) cannot fetch call records.", permanent=True)
    return module


def import_source(*, source_id, actor_user=None):
    """Fetch and import one source's new records. Returns the CdrImport, or None when another import of the
    source is running (or it is disabled)."""
    now = timezone.now()
    free = Q(import_claimed_at__isnull=True) | Q(import_claimed_at__lt=now - CLAIM_LEASE)
    if not CdrSource.objects.filter(free, pk=source_id, enabled=True).update(import_claimed_at=now):
        return None
    try:
        return _import(CdrSource.objects.select_related("server").get(pk=source_id), now, actor_user)
    finally:
        CdrSource.objects.filter(pk=source_id, import_claimed_at=now).update(import_claimed_at=None)


def _import(source, now, actor_user):
    cdr_import = start_import(source=source, kind=CdrImport.Kind.SCHEDULED, actor_user=actor_user)
    overlap = timedelta(minutes=int((source.options or {}).get("overlap_minutes", DEFAULT_OVERLAP_MINUTES)))
    since = source.last_imported_up_to - overlap if source.last_imported_up_to else None
    try:
        module = fetching_module(source)
        ref = source_ref(source)
        call, items, error = call_module(
            module_key=module.key, action="fetch_cdrs", server=source.server,
            fn=lambda: list(module.fetch_cdrs(ref, since)),
            args={"source": source.pk, "since": since.isoformat() if since else None},
        )
        call.save()
        if error is not None:
            raise error
    except ModuleError as exc:
        CdrSource.objects.filter(pk=source.pk).update(last_error=exc.message[:2000])
        return fail_import(cdr_import, f"Fetching failed: {exc.message}")
    except Exception as exc:  # a module bug must not leave the import running: report it and go on
        logger.exception("Fetching the call records of source %s failed", source.pk)
        message = f"{type(exc).__name__}: {exc}"
        CdrSource.objects.filter(pk=source.pk).update(last_error=message[:2000])
        return fail_import(cdr_import, f"Fetching failed: {message}")
    cdr_import = run_import(cdr_import, items, extension_of=EXTENSION_OF.get(source.kind))
    CdrSource.objects.filter(pk=source.pk).update(last_imported_up_to=now, last_error="")
    return cdr_import
