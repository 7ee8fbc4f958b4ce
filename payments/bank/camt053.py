"""Reading an ISO 20022 camt.053 bank statement (BankToCustomerStatement, versions 001.02 to 001.13).

Each booked credit entry (CdtDbtInd CRDT, status BOOK, not a reversal) becomes a ParsedLine: its amount and
currency (Amt/@Ccy), booking date, the bank's entry reference (AcctSvcrRef; else the statement id and NtryRef),
the payer's structured reference (RmtInf/Strd/CdtrRefInf/Ref, the RF reference) and free text (RmtInf/Ustrd), and
the payer's name (RltdPties/Dbtr/Nm, or Dbtr/Pty/Nm from version 08). An entry that batches several transfers
(several TxDtls with their own amounts) gives one line per transfer. Debits, reversals and pending entries are
skipped and counted. A bad entry becomes an error naming its number and NtryRef; the good ones are kept.

The XML is untrusted: a document with a DOCTYPE (and so any entity declaration) is refused before it is parsed,
which is what defusedxml's `forbid_dtd` does, and expat never fetches anything from outside."""
import re
import xml.etree.ElementTree as ET
from datetime import date
from decimal import Decimal, InvalidOperation
from xml.parsers import expat

from payments.bank.lines import ParsedLine, ParsedStatement, StatementError

_CAMT = re.compile(r"^\{urn:iso:std:iso:20022:tech:xsd:([a-z]{4}\.\d{3})\.\d{3}\.(\d{2})\}Document$")
SUPPORTED_VERSIONS = range(2, 14)
CENT = Decimal("0.01")


class _Forbidden(Exception):
    pass


def _refuse_dtd(data):
    """Raise StatementError if the document declares a DOCTYPE (entities, external references) or is not XML."""
    parser = expat.ParserCreate()

    def forbid(*args):
        raise _Forbidden()

    parser.StartDoctypeDeclHandler = forbid
    parser.EntityDeclHandler = forbid
    parser.ExternalEntityRefHandler = forbid
    try:
        parser.Parse(data, True)
    except _Forbidden:
        raise StatementError("The file declares a DOCTYPE or entities, which a bank statement never does: refused.") from None
    except expat.ExpatError as exc:
        raise StatementError(f"The file is not well-formed XML ({expat.errors.messages.get(exc.code, exc)} at line "
                             f"{exc.lineno}, column {exc.offset}).") from None


def parse_camt053(data):
    """A ParsedStatement from the bytes of a camt.053 file; StatementError if it is not one."""
    if isinstance(data, str):
        data = data.encode("utf-8")
    _refuse_dtd(data)
    root = ET.fromstring(data)
    match = _CAMT.match(root.tag)
    if not match:
        raise StatementError(
            "This is not an ISO 20022 camt.053 bank statement: its root element is "
            f"{root.tag.rsplit('}', 1)[-1]!r} in namespace {root.tag[1:].split('}')[0] if root.tag.startswith('{') else 'none'!r}."
        )
    message, version = match.group(1), int(match.group(2))
    if message != "camt.053":
        raise StatementError(f"This is a {message} file, not a camt.053 bank statement (BankToCustomerStatement).")
    if version not in SUPPORTED_VERSIONS:
        raise StatementError(f"camt.053.001.{version:02d} is not supported (001.02 to 001.13 are).")
    ns = root.tag[1:].split("}")[0]
    reader = _Reader(ns)
    result = ParsedStatement()
    statements = root.findall(reader.path("BkToCstmrStmt/Stmt"))
    if not statements:
        raise StatementError("The camt.053 file has no statement (BkToCstmrStmt/Stmt).")
    number = 0
    for stmt in statements:
        stmt_id = reader.text(stmt, "Id")
        result.statement_id = result.statement_id or stmt_id
        result.account = result.account or reader.text(stmt, "Acct/Id/IBAN") or reader.text(stmt, "Acct/Id/Othr/Id")
        for entry in stmt.iterfind(reader.path("Ntry")):
            number += 1
            try:
                lines, skipped = reader.entry(entry, number, stmt_id)
            except _BadEntry as exc:
                ntry_ref = reader.text(entry, "NtryRef")
                where = f"Entry {number}" + (f" (NtryRef {ntry_ref})" if ntry_ref else "")
                result.errors.append(f"{where}: {exc}")
                continue
            result.lines.extend(lines)
            result.skipped += skipped
    return result


class _BadEntry(Exception):
    pass


class _Reader:
    def __init__(self, ns):
        self.ns = ns
        self._paths = {}

    def path(self, path):
        cached = self._paths.get(path)
        if cached is None:
            cached = self._paths[path] = "/".join(f"{{{self.ns}}}{part}" for part in path.split("/"))
        return cached

    def text(self, elem, path):
        found = elem.find(self.path(path))
        return (found.text or "").strip() if found is not None else ""

    def texts(self, elem, path):
        return [(e.text or "").strip() for e in elem.iterfind(self.path(path)) if (e.text or "").strip()]

    def amount(self, elem, path):
        node = elem.find(self.path(path))
        if node is None:
            return None, None
        raw = (node.text or "").strip()
        try:
            value = Decimal(raw)
        except InvalidOperation:
            raise _BadEntry(f"the amount {raw!r} is not a number") from None
        if not value.is_finite() or value <= 0:
            raise _BadEntry(f"the amount {raw!r} must be more than zero")
        if value != value.quantize(CENT):
            raise _BadEntry(f"the amount {raw!r} has more than two decimal places")
        currency = (node.get("Ccy") or "").strip().upper()
        if not re.fullmatch(r"[A-Z]{3}", currency):
            raise _BadEntry(f"the amount {raw} has no valid currency (Ccy {currency!r})")
        return value, currency

    def entry(self, entry, number, stmt_id):
        """The credit lines of one entry and how many transfers it skipped."""
        indicator = self.text(entry, "CdtDbtInd")
        if indicator not in ("CRDT", "DBIT"):
            raise _BadEntry(f"CdtDbtInd is {indicator!r}, not CRDT or DBIT")
        status = self.text(entry, "Sts/Cd") or self.text(entry, "Sts")
        if indicator == "DBIT" or self.text(entry, "RvslInd").lower() == "true" or status not in ("", "BOOK"):
            return [], 1
        amount, currency = self.amount(entry, "Amt")
        if amount is None:
            raise _BadEntry("it has no amount (Amt)")
        booked = self._date(entry, "BookgDt") or self._date(entry, "ValDt")
        ntry_ref = self.text(entry, "NtryRef")
        entry_ref = self.text(entry, "AcctSvcrRef")
        details = entry.findall(self.path("NtryDtls/TxDtls"))
        if len(details) <= 1:
            detail = details[0] if details else None
            reference = entry_ref or (self.text(detail, "Refs/AcctSvcrRef") if detail is not None else "")
            if not reference and ntry_ref:
                reference = f"{stmt_id}/{ntry_ref}" if stmt_id else ntry_ref
            if not reference:
                raise _BadEntry("it has no bank reference (AcctSvcrRef or NtryRef), so it could be imported twice")
            return [self._line(number, reference, amount, currency, booked, detail)], 0
        lines = []
        base = entry_ref or (f"{stmt_id}/{ntry_ref}" if ntry_ref else "")
        for n, detail in enumerate(details, 1):
            tx_amount, tx_currency = self.amount(detail, "AmtDtls/TxAmt/Amt")
            if tx_amount is None:
                tx_amount, tx_currency = self.amount(detail, "Amt")
            if tx_amount is None:
                raise _BadEntry(f"transfer {n} of the batch has no amount (TxDtls/Amt)")
            reference = self.text(detail, "Refs/AcctSvcrRef") or (f"{base}/{n}" if base else "")
            if not reference:
                raise _BadEntry(f"transfer {n} of the batch has no bank reference (AcctSvcrRef)")
            lines.append(self._line(number, reference, tx_amount, tx_currency, booked, detail))
        return lines, 0

    def _date(self, entry, path):
        raw = self.text(entry, f"{path}/Dt") or self.text(entry, f"{path}/DtTm")[:10]
        if not raw:
            return None
        try:
            return date.fromisoformat(raw[:10])
        except ValueError:
            raise _BadEntry(f"the date {raw!r} ({path}) is not a date") from None

    def _line(self, number, reference, amount, currency, booked, detail):
        structured, free, name = "", [], ""
        if detail is not None:
            refs = self.texts(detail, "RmtInf/Strd/CdtrRefInf/Ref")
            structured = refs[0] if refs else ""
            free = self.texts(detail, "RmtInf/Ustrd")
            name = self.text(detail, "RltdPties/Dbtr/Nm") or self.text(detail, "RltdPties/Dbtr/Pty/Nm")
        if len(reference) > 120:
            raise _BadEntry(f"the bank reference is longer than 120 characters ({reference[:30]}…)")
        return ParsedLine(
            position=number, entry_reference=reference, amount=amount, currency=currency, booking_date=booked,
            reference=structured[:40], reference_text=" ".join(([structured] if structured else []) + free),
            payer_name=name[:200],
        )
