"""Argument types shared by the management commands."""
from datetime import date

from django.core.management.base import CommandError


def iso_date(value):
    """--date values: an ISO date (YYYY-MM-DD), else a CommandError that shows the expected form."""
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"--date must be a date such as 2026-12-01, not {value!r}.") from None
