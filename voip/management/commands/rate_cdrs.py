"""`manage.py rate_cdrs`: rate a CDR file against a rate deck file, without touching the database (issue 7
item 5), so staff can check a deck before loading it. docs/voip-rating.md describes the files and options."""
import os
from contextlib import contextmanager
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from provisioning.telephony.cdrs import DEFAULT_INBOUND_CONTEXTS, CdrFileError
from provisioning.telephony.numbers import DEFAULT_EXTENSION_DIGITS, Normaliser
from provisioning.telephony.text import OPEN_INPUT, OPEN_OUTPUT
from voip.cdr_formats import FORMATS
from voip.rating.deck_file import DeckFileError, read_deck
from voip.rating.engine import AFTER_MINIMUM, INCREMENT_MODES, Rater
from voip.rating.offline import rate_file


def _listed(values):
    """Repeatable options that also take comma-separated lists."""
    return [item.strip() for value in values or () for item in value.split(",") if item.strip()]


class Command(BaseCommand):
    help = (
        "Rate a CDR file (portal, asterisk, freeswitch or fusionpbx format) against a rate deck CSV and write "
        "the rated CSV. Never touches the database. Malformed CDR lines are reported on stderr with their line "
        "number and written with status 'invalid'; the exit status is non-zero only when an input cannot be read."
    )
    requires_system_checks = []  # a pure file-to-file tool: no checks, no database, works before migrating

    def add_arguments(self, parser):
        parser.add_argument("--rates", required=True, help="rate deck CSV with a header (see docs/voip-rating.md)")
        parser.add_argument("--cdrs", required=True, help="CDR file to rate")
        parser.add_argument("--out", required=True, help="rated CSV to write (replaced when complete)")
        parser.add_argument("--format", choices=sorted(FORMATS), default="portal", help="CDR file format")
        parser.add_argument("--region", default="US", help="the product's region for numbers without a country "
                            "code (ISO code: US, CA, GB…); default US")
        parser.add_argument("--local-npa", action="append", metavar="NPA", help="NANP area code prepended to "
                            "7-digit numbers (repeatable or comma-separated; tried in order)")
        parser.add_argument("--time-zone", default="UTC", help="time zone of Asterisk/FreeSWITCH timestamps "
                            "(and of FusionPBX stamps without an offset); default UTC")
        parser.add_argument("--client-time-zone", default=None, metavar="ZONE", help="IANA time zone in which "
                            "time-of-day rates (deck columns days, start_time, end_time) are read, as the client's "
                            f"time zone is on import; default the business time zone (BUSINESS_TIME_ZONE, "
                            f"{settings.BUSINESS_TIME_ZONE})")
        parser.add_argument("--inbound-context", action="append", metavar="CONTEXT", help="dial-plan context "
                            "whose calls are inbound (asterisk, freeswitch); default: "
                            + ", ".join(sorted(DEFAULT_INBOUND_CONTEXTS)))
        parser.add_argument("--billable-disposition", action="append", metavar="DISPOSITION",
                            help="disposition of a billable call (asterisk, portal); default ANSWERED")
        parser.add_argument("--increment-mode", choices=INCREMENT_MODES, default=AFTER_MINIMUM,
                            help="after_minimum: the minimum block, then increments (default); whole_duration: "
                            "the whole duration rounded up to increments, at least the minimum")
        parser.add_argument("--accept-possible", action="store_true", help="accept numbers that are possible but "
                            "not valid for their region (phonenumbers' is_possible_number)")
        parser.add_argument("--extension-digits", type=int, default=DEFAULT_EXTENSION_DIGITS, help="numbers "
                            f"without + of at most this many digits are internal extensions (default "
                            f"{DEFAULT_EXTENSION_DIGITS})")

    def handle(self, *args, **options):
        try:
            normaliser = Normaliser(
                options["region"], local_npa=_listed(options["local_npa"]),
                accept_possible=options["accept_possible"], extension_digits=options["extension_digits"],
            )
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        time_zone = _zone(options["time_zone"], "--time-zone")
        client_time_zone = _zone(options["client_time_zone"] or settings.BUSINESS_TIME_ZONE, "--client-time-zone")
        rates_path, cdrs_path, out_path = Path(options["rates"]), Path(options["cdrs"]), Path(options["out"])
        if out_path.resolve() in (rates_path.resolve(), cdrs_path.resolve()):
            raise CommandError("--out must not be one of the input files")

        with _open_input(rates_path, "rates") as rates:
            try:
                deck_file = read_deck(rates)
            except DeckFileError as exc:
                raise CommandError(f"rates file {rates_path} cannot be used: {exc}") from None
            except OSError as exc:
                raise CommandError(f"cannot read rates file {rates_path}: {exc.strerror or exc}") from None
        for name in deck_file.ignored_columns:
            self.stderr.write(f"{rates_path}: column {name!r} is not a rate field and is ignored")
        for error in deck_file.errors:
            self.stderr.write(f"{rates_path} line {error.line}: {error.reason} (rate left out)")
        rater = Rater(deck_file.deck, normaliser, increment_mode=options["increment_mode"], time_zone=client_time_zone)

        inbound_contexts = _listed(options["inbound_context"]) or DEFAULT_INBOUND_CONTEXTS
        with _open_input(cdrs_path, "CDR") as cdrs:
            try:
                parser = FORMATS[options["format"]](
                    cdrs, time_zone=time_zone, inbound_contexts=inbound_contexts,
                    billable_dispositions=_listed(options["billable_disposition"]) or None,
                )
            except CdrFileError as exc:
                raise CommandError(f"CDR file {cdrs_path} cannot be read as {options['format']}: {exc}") from None
            summary = self._write(parser, rater, cdrs_path, out_path)
        counts = ", ".join(f"{len(index)} {direction}" for direction, index in deck_file.deck.indexes.items())
        self.stdout.write(f"rates: {counts}; {summary}; written to {out_path}")

    def _write(self, parser, rater, cdrs_path, out_path):
        partial = out_path.with_name(out_path.name + ".partial")

        def report(line, reason):
            self.stderr.write(f"{cdrs_path} line {line}: {reason}")

        try:
            with open(partial, "w", **OPEN_OUTPUT) as out:
                summary = rate_file(parser, rater, out, on_invalid=report)
            os.replace(partial, out_path)
        except OSError as exc:
            partial.unlink(missing_ok=True)
            raise CommandError(f"cannot write {out_path} or read {cdrs_path}: {exc.strerror or exc}") from None
        return summary


def _zone(name, option):
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise CommandError(f"{option}: unknown time zone {name!r}") from None


@contextmanager
def _open_input(path, kind):
    """Open an input file for reading; any OS error becomes a CommandError that says which file and why."""
    try:
        file = open(path, **OPEN_INPUT)
    except OSError as exc:
        raise CommandError(f"cannot read {kind} file {path}: {exc.strerror or exc}") from None
    with file:
        yield file
