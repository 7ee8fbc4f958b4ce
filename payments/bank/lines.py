"""What a statement reader hands the matcher: credit lines and the errors of the lines it could not read."""
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal


class StatementError(Exception):
    """The file as a whole cannot be read (not a camt.053, not XML, no header): nothing is imported."""


@dataclass(frozen=True)
class ParsedLine:
    position: int  # the entry's number in the file (camt.053) or its line number (CSV), for staff
    entry_reference: str
    amount: Decimal
    currency: str
    booking_date: date | None = None
    reference: str = ""  # the structured creditor reference (camt.053 CdtrRefInf/Ref), if given
    reference_text: str = ""  # everything the payer wrote: structured reference and free text
    payer_name: str = ""


@dataclass
class ParsedStatement:
    lines: list = field(default_factory=list)
    errors: list = field(default_factory=list)  # "Entry 3 (NtryRef X): …" / "Line 7: …"
    skipped: int = 0  # debits, reversals, pending entries: read fine, not payments
    statement_id: str = ""
    account: str = ""
