"""CDR files staff upload in the admin (Asterisk Master.csv, FreeSWITCH cdr_csv, FusionPBX export, the portal's
own CSV). The file is stored under VAR_DIR/voip-uploads and a task imports it after the request, updating the
import's progress every chunk; the admin page polls it. The file is removed once imported.

The task is voip.tasks.import_upload, which calls process_upload. Tasks sit above the services (voip.tasks
imports them), so this module queues it through a hook (voip.hooks.import_upload_later, answered at start-up)."""
import logging
import uuid
from itertools import batched
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from provisioning.telephony.cdrs import CdrFileError, CdrRecord
from provisioning.telephony.text import TextFileError, text_encoding
from voip import hooks
from voip.cdr_formats import FORMATS
from voip.models import Cdr, CdrImport
from voip.services.imports import abandon_import, fail_import, run_import, set_message, source_time_zone

logger = logging.getLogger(__name__)

UPLOAD_FORMATS = {
    "asterisk": "Asterisk Master.csv (cdr_csv)",
    "freeswitch": "FreeSWITCH cdr_csv (template 'example')",
    "fusionpbx": "FusionPBX CDR export (CSV)",
    "portal": "Portal CSV (id,direction,caller,callee,answer_time,billsec)",
}

def upload_dir():
    """Where uploads wait for their import: VOIP_UPLOAD_DIR, which must be a directory every web and worker
    host sees (a shared filesystem) when they are separate machines (docs/scaling.md)."""
    path = Path(settings.VOIP_UPLOAD_DIR)
    path.mkdir(parents=True, exist_ok=True)
    return path


def upload_cdr_file(*, source, uploaded_file, file_format, actor_user=None):
    """Store the upload and queue its import (after the transaction commits). Returns the queued CdrImport."""
    if file_format not in UPLOAD_FORMATS:
        raise ValueError(f"Unknown CDR file format {file_format!r}.")
    path = upload_dir() / f"{uuid.uuid4().hex}.cdr"
    with open(path, "wb") as out:
        for chunk in uploaded_file.chunks():
            out.write(chunk)
    cdr_import = CdrImport.objects.create(
        source=source, kind=CdrImport.Kind.UPLOAD, status=CdrImport.Status.QUEUED, file_name=uploaded_file.name[:255],
        file_path=str(path), file_format=file_format, bytes_total=path.stat().st_size, created_by=actor_user,
    )
    transaction.on_commit(lambda: hooks.import_upload_later(cdr_import.pk))
    return cdr_import


class _CountedLines:
    """The file's lines, counting the bytes read (the import's progress) in the file's encoding."""

    def __init__(self, handle, encoding):
        self.handle = handle
        self.byte_length = encoding.byte_length
        self.done = 0

    def __iter__(self):
        for line in self.handle:
            self.done += self.byte_length(line)
            yield line


def extension_reader(parser):
    """A function giving a record's extension from the file's `extension` column (FusionPBX's export), or None."""
    columns = [name.strip().lower() for name in parser.columns]
    if "extension" not in columns:
        return None
    position = columns.index("extension")
    return lambda record: record.fields[position] if len(record.fields) > position else ""


def parser_for(source, file_format, lines):
    """A cdr_formats parser for `lines` with the source's settings (time zone, inbound contexts,
    billable dispositions). Raises CdrFileError or ValueError (a bad time zone)."""
    options = source.options or {}
    return FORMATS[file_format](
        lines, time_zone=source_time_zone(source), inbound_contexts=source.inbound_context_names(),
        billable_dispositions=options.get("billable_dispositions") or None,
    )


LEGACY_CHUNK = 500  # Asterisk lines per lookup of calls stored under a bare uniqueid


def with_legacy_asterisk_keys(source, items):
    """`items` with the Asterisk keys of calls stored before a channel's CDRs were told apart. Lines without
    `sequence` were keyed by their bare `uniqueid`; they are now `uniqueid/<hash of the leg>`. A line whose call
    is stored under the bare uniqueid — same callee, answer time, billsec and disposition — keeps that key, so
    importing an old file again stores and charges nothing twice (one query per LEGACY_CHUNK lines)."""
    for chunk in batched(items, LEGACY_CHUNK):
        keyed = [item for item in chunk if type(item) is CdrRecord and "/" in item.external_id]
        bare = {item.external_id.partition("/")[0] for item in keyed}
        stored = {
            key: tuple(leg) for key, *leg in Cdr.objects.filter(source=source, external_id__in=bare)
            .values_list("external_id", "callee", "answer_time", "billsec", "disposition")
        } if bare else {}
        for item in keyed:
            uniqueid = item.external_id.partition("/")[0]
            if stored.get(uniqueid) == (item.callee[:64], item.answer_time, item.billsec, item.disposition[:40]):
                item.external_id = uniqueid
        yield from chunk


def process_upload(*, import_id):
    """Import a queued upload (claimed with a conditional UPDATE, so it runs once). Returns the CdrImport, or
    None when another worker has it. It always ends finished or failed: a file that is not text, or not in an
    encoding the portal can tell (provisioning.telephony.text.text_encoding), fails with the reason and imports
    nothing; an unexpected error fails it with the calls stored so far charged (abandon_import). Only a worker
    that dies outright leaves it running, for the sweeper (settle_stale_imports)."""
    now = timezone.now()
    claimed = CdrImport.objects.filter(pk=import_id, status=CdrImport.Status.QUEUED).update(
        status=CdrImport.Status.RUNNING, started_at=now, heartbeat_at=now
    )
    if not claimed:
        return None
    cdr_import = CdrImport.objects.select_related("source").get(pk=import_id)
    try:
        return _import_file(cdr_import)
    except Exception as exc:  # whatever broke, the import must not stay running
        logger.exception("CDR upload import %s stopped", cdr_import.pk)
        return abandon_import(cdr_import, f"an unexpected error: {type(exc).__name__}: {exc}")


def _import_file(cdr_import):
    path = Path(cdr_import.file_path)
    unreadable = f"The file cannot be read as {cdr_import.file_format}"
    try:
        encoding = text_encoding(path)
        handle = open(path, encoding=encoding.codec, newline="")
    except OSError as exc:
        return fail_import(cdr_import, f"The uploaded file cannot be read: {exc.strerror or exc}")
    except TextFileError as exc:
        return fail_import(cdr_import, f"{unreadable}: {exc}. Nothing was imported.")
    with handle:
        lines = _CountedLines(handle, encoding)
        try:
            parser = parser_for(cdr_import.source, cdr_import.file_format, lines)
        except (CdrFileError, ValueError) as exc:
            return fail_import(cdr_import, f"{unreadable}: {exc}. Nothing was imported.")
        items = parser
        if cdr_import.file_format == "asterisk":
            items = with_legacy_asterisk_keys(cdr_import.source, parser)
        cdr_import = run_import(
            cdr_import, items, progress=lambda: lines.done, extension_of=extension_reader(parser)
        )
    if encoding.note:
        cdr_import = set_message(cdr_import, encoding.note)
    path.unlink(missing_ok=True)
    return cdr_import
